//! dbt MetricFlow metric files (`metric:` documents). Semantic-layer
//! metrics are business metrics; a ratio's numerator drives it up and its
//! denominator down, a derived metric is driven by its inputs with the
//! signs of its expression and the lag of their `offset_window`. These are
//! arithmetic, so the edges are not proposed.

use whyline_catalog::yaml::Node;
use whyline_catalog::{Effect, Layer};

use crate::draft::{DraftDriver, DraftMetric, Skipped};
use crate::promql;
use crate::tree::{self, at, id_of, items, text_at};

/// Whether a document is a MetricFlow metric.
pub fn is_metric(doc: &Node) -> bool {
    tree::get(doc, "metric").is_some_and(|m| tree::get(m, "name").is_some())
}

/// `14 days` -> `14d`; units MetricFlow writes (day, week, month, year...).
/// A month or a year is not a fixed length: 30 and 365 days, said in `why`.
fn lag_of(window: &str) -> Option<(String, bool)> {
    let mut parts = window.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?.trim_end_matches('s').to_ascii_lowercase();
    Some(match unit.as_str() {
        "minute" => (format!("{n}m"), true),
        "hour" => (format!("{n}h"), true),
        "day" => (format!("{n}d"), true),
        "week" => (format!("{n}w"), true),
        "month" => (format!("{}d", n * 30), false),
        "quarter" => (format!("{}d", n * 91), false),
        "year" => (format!("{}d", n * 365), false),
        _ => return None,
    })
}

/// The metric of one document.
pub fn import(doc: &Node, name: &str, warnings: &mut Vec<Skipped>) -> Option<DraftMetric> {
    let metric = tree::get(doc, "metric")?;
    let metric_name = text_at(metric, &["name"])?;
    let origin = format!("{name}:{}", metric.location.line);
    let id = id_of(&metric_name);
    let mut m = DraftMetric::new(id.clone(), Layer::Business, origin.clone());
    m.name = text_at(metric, &["label"]);
    m.description = text_at(metric, &["description"]);
    m.notes
        .push("dbt semantic-layer metric: business layer; no data source drafted".to_string());
    let kind = text_at(metric, &["type"]).unwrap_or_default();
    let edge = |input: &str, effect: Effect, lag: Option<String>, why: String| DraftDriver {
        metric: id_of(input),
        effect,
        lag,
        why: Some(why),
        origin: origin.clone(),
        proposed: false,
    };
    match kind.as_str() {
        "ratio" => {
            for (part, effect) in [
                ("numerator", Effect::Increases),
                ("denominator", Effect::Decreases),
            ] {
                let input = at(metric, &["type_params", part])
                    .and_then(|n| text_at(n, &["name"]).or_else(|| tree::text(n)));
                if let Some(input) = input {
                    if m.drivers.iter().any(|d| d.metric == id_of(&input)) {
                        warnings.push(Skipped {
                            origin: origin.clone(),
                            reason: format!(
                                "`{metric_name}` divides `{input}` by itself (with other filters): no edge drafted for its {part}"
                            ),
                        });
                        continue;
                    }
                    m.drivers.push(edge(
                        &input,
                        effect,
                        None,
                        format!("`{metric_name}` is a ratio with `{input}` as its {part}"),
                    ));
                }
            }
        }
        "derived" => {
            let expr = text_at(metric, &["type_params", "expr"]).unwrap_or_default();
            // Expression names (aliases or metric names) and their signs; the
            // arithmetic grammar is PromQL's too.
            // SQL's `NULLIF(x, 0)` guards a division; its sign is x's.
            let arithmetic = expr.replace("NULLIF(", "(").replace(", 0)", ")");
            let signs = promql::references(&arithmetic).unwrap_or_default();
            for input in items(at(metric, &["type_params", "metrics"])) {
                let Some(input_name) = text_at(input, &["name"]) else {
                    continue;
                };
                let alias = text_at(input, &["alias"]).unwrap_or_else(|| input_name.clone());
                let sign = signs.iter().find(|(n, _)| *n == alias).map(|(_, s)| *s);
                let effect = match sign {
                    Some(1) => Effect::Increases,
                    Some(-1) => Effect::Decreases,
                    _ => {
                        warnings.push(Skipped {
                            origin: origin.clone(),
                            reason: format!(
                                "`{metric_name}`: the sign of `{alias}` in `{expr}` is not plain; no edge drafted"
                            ),
                        });
                        continue;
                    }
                };
                let (lag, why) = match (
                    text_at(input, &["offset_window"]),
                    text_at(input, &["offset_to_grain"]),
                ) {
                    (Some(window), _) => match lag_of(&window) {
                        Some((lag, exact)) => (
                            Some(lag),
                            format!(
                                "`{metric_name}` = {expr}, with `{alias}` {window} earlier{}",
                                if exact {
                                    ""
                                } else {
                                    " (taken as a fixed length)"
                                }
                            ),
                        ),
                        None => (
                            None,
                            format!("`{metric_name}` = {expr}; offset `{window}` not read"),
                        ),
                    },
                    (None, Some(grain)) => (
                        None,
                        format!(
                            "`{metric_name}` = {expr}, with `{alias}` at the start of the {grain}"
                        ),
                    ),
                    _ => (None, format!("`{metric_name}` = {expr}")),
                };
                let driver = id_of(&input_name);
                if let Some(existing) = m.drivers.iter().find(|d| d.metric == driver) {
                    warnings.push(Skipped {
                        origin: origin.clone(),
                        reason: format!(
                            "`{metric_name}` reads `{input_name}` twice ({} and {}); a catalog lists a driver once, the first is kept",
                            existing.lag.as_deref().unwrap_or("no lag"),
                            lag.as_deref().unwrap_or("no lag")
                        ),
                    });
                    continue;
                }
                m.drivers.push(edge(&input_name, effect, lag, why));
            }
        }
        _ => {}
    }
    Some(m)
}
