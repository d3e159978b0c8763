//! Service-level objectives: Sloth `prometheus/v1`, Pyrra
//! `ServiceLevelObjective`, OpenSLO v1 `SLO`. Each becomes a service-layer
//! metric: the SLI as a PromQL ratio, the objective as its red threshold,
//! the owner where the spec names exactly one.

use whyline_catalog::yaml::Node;
use whyline_catalog::{Good, Layer};

use crate::draft::{DraftMetric, Side, Skipped};
use crate::tree::{self, at, id_of, items, number, text_at};

/// The window Sloth's `{{.window}}` is filled with: its shortest SLI window,
/// the one a point-by-point status needs.
pub const SLOTH_WINDOW: &str = "5m";

/// Whether a document is one of the SLO kinds read here.
pub fn is_slo(doc: &Node) -> bool {
    text_at(doc, &["version"]).as_deref() == Some("prometheus/v1")
        || (text_at(doc, &["kind"]).as_deref() == Some("ServiceLevelObjective")
            && text_at(doc, &["apiVersion"]).is_some_and(|v| v.starts_with("pyrra.dev/")))
        || (text_at(doc, &["apiVersion"]).as_deref() == Some("openslo/v1"))
}

/// The metrics of one SLO document.
pub fn import(
    doc: &Node,
    name: &str,
    skipped: &mut Vec<Skipped>,
    warnings: &mut Vec<Skipped>,
) -> Vec<DraftMetric> {
    let origin = |n: &Node| format!("{name}:{}", n.location.line);
    if text_at(doc, &["version"]).as_deref() == Some("prometheus/v1") {
        return sloth(doc, &origin, skipped);
    }
    if text_at(doc, &["kind"]).as_deref() == Some("ServiceLevelObjective") {
        return pyrra(doc, &origin, skipped).into_iter().collect();
    }
    match text_at(doc, &["kind"]).as_deref() {
        Some("SLO") => openslo(doc, &origin, skipped, warnings)
            .into_iter()
            .collect(),
        Some(kind) => {
            skipped.push(Skipped {
                origin: origin(doc),
                reason: format!(
                    "OpenSLO `{kind}` holds no objective of its own; only `SLO` objects become metrics"
                ),
            });
            Vec::new()
        }
        None => Vec::new(),
    }
}

fn sloth(
    doc: &Node,
    origin: &dyn Fn(&Node) -> String,
    skipped: &mut Vec<Skipped>,
) -> Vec<DraftMetric> {
    let service = text_at(doc, &["service"]);
    let owner = text_at(doc, &["labels", "owner"]).or_else(|| text_at(doc, &["labels", "team"]));
    let mut out = Vec::new();
    for slo in items(tree::get(doc, "slos")) {
        let Some(slo_name) = text_at(slo, &["name"]) else {
            continue;
        };
        let Some(objective) = at(slo, &["objective"]).and_then(number) else {
            skipped.push(Skipped {
                origin: origin(slo),
                reason: format!("SLO `{slo_name}`: objective is not a number"),
            });
            continue;
        };
        let fill = |q: String| q.replace("{{.window}}", SLOTH_WINDOW);
        let query = match (
            text_at(slo, &["sli", "events", "error_query"]),
            text_at(slo, &["sli", "events", "total_query"]),
            text_at(slo, &["sli", "raw", "error_ratio_query"]),
        ) {
            (Some(errors), Some(total), _) => {
                format!("100 * (1 - (({}) / ({})))", fill(errors), fill(total))
            }
            (_, _, Some(ratio)) => format!("100 * (1 - ({}))", fill(ratio)),
            _ => {
                skipped.push(Skipped {
                    origin: origin(slo),
                    reason: format!(
                        "SLO `{slo_name}`: its SLI is a plugin, not an events or raw query"
                    ),
                });
                continue;
            }
        };
        let id = id_of(&match &service {
            Some(s) => format!("{s}_{slo_name}"),
            None => slo_name.clone(),
        });
        let mut m = DraftMetric::new(id, Layer::Service, origin(slo));
        m.name = Some(match &service {
            Some(s) => format!("{s} {slo_name}"),
            None => slo_name.clone(),
        });
        m.description = text_at(slo, &["description"]);
        m.unit = Some("%".to_string());
        m.good = Some(Good::Higher);
        m.red = Some(Side::Below(objective));
        m.owner = owner.clone();
        m.service = service.clone();
        m.query = Some(query);
        m.notes.push(format!(
            "Sloth SLO: objective {objective}% as red; `{{{{.window}}}}` filled with {SLOTH_WINDOW}"
        ));
        if let Some(alert) = text_at(slo, &["alerting", "name"]) {
            m.notes.push(format!("Sloth alerts on it as `{alert}`"));
        }
        out.push(m);
    }
    out
}

fn pyrra(
    doc: &Node,
    origin: &dyn Fn(&Node) -> String,
    skipped: &mut Vec<Skipped>,
) -> Option<DraftMetric> {
    let slo_name = text_at(doc, &["metadata", "name"])?;
    let Some(target) = at(doc, &["spec", "target"]).and_then(number) else {
        skipped.push(Skipped {
            origin: origin(doc),
            reason: format!("Pyrra SLO `{slo_name}`: target is not a number"),
        });
        return None;
    };
    let rate = |selector: String| format!("sum(rate({selector}[5m]))");
    let query = if let (Some(errors), Some(total)) = (
        text_at(doc, &["spec", "indicator", "ratio", "errors", "metric"]),
        text_at(doc, &["spec", "indicator", "ratio", "total", "metric"]),
    ) {
        format!("100 * (1 - ({} / {}))", rate(errors), rate(total))
    } else if let (Some(success), Some(total)) = (
        text_at(doc, &["spec", "indicator", "latency", "success", "metric"]),
        text_at(doc, &["spec", "indicator", "latency", "total", "metric"]),
    ) {
        format!("100 * ({} / {})", rate(success), rate(total))
    } else {
        skipped.push(Skipped {
            origin: origin(doc),
            reason: format!(
                "Pyrra SLO `{slo_name}`: only `ratio` and `latency` indicators are read"
            ),
        });
        return None;
    };
    let mut m = DraftMetric::new(id_of(&slo_name), Layer::Service, origin(doc));
    m.name = Some(slo_name.clone());
    m.description = text_at(doc, &["spec", "description"]);
    m.unit = Some("%".to_string());
    m.good = Some(Good::Higher);
    m.red = Some(Side::Below(target));
    m.query = Some(query);
    m.notes.push(format!(
        "Pyrra SLO: target {target}% as red, rates over 5m{}",
        text_at(doc, &["spec", "window"])
            .map(|w| format!(" (its error budget window is {w})"))
            .unwrap_or_default()
    ));
    if !items(at(doc, &["spec", "indicator", "ratio", "grouping"])).is_empty() {
        m.notes
            .push("the SLO is grouped by labels; the draft reads the whole".to_string());
    }
    Some(m)
}

fn openslo(
    doc: &Node,
    origin: &dyn Fn(&Node) -> String,
    skipped: &mut Vec<Skipped>,
    warnings: &mut Vec<Skipped>,
) -> Option<DraftMetric> {
    let slo_name = text_at(doc, &["metadata", "name"])?;
    let ratio = at(doc, &["spec", "indicator", "spec", "ratioMetric"]);
    let query_of = |part: &str| {
        ratio.and_then(|r| {
            let source = at(r, &[part, "metricSource"])?;
            (text_at(source, &["type"]).as_deref() == Some("Prometheus"))
                .then(|| text_at(source, &["spec", "query"]))
                .flatten()
        })
    };
    let query = match (query_of("good"), query_of("bad"), query_of("total")) {
        (Some(good), _, Some(total)) => format!("({good}) / ({total})"),
        (None, Some(bad), Some(total)) => format!("1 - (({bad}) / ({total}))"),
        _ => {
            skipped.push(Skipped {
                origin: origin(doc),
                reason: format!(
                    "OpenSLO `{slo_name}`: only a ratio of Prometheus queries (good or bad over total) is read"
                ),
            });
            return None;
        }
    };
    let objectives = items(at(doc, &["spec", "objectives"]));
    let Some(target) = objectives
        .first()
        .and_then(|o| tree::get(o, "target"))
        .and_then(number)
    else {
        skipped.push(Skipped {
            origin: origin(doc),
            reason: format!("OpenSLO `{slo_name}`: no numeric objective `target`"),
        });
        return None;
    };
    let mut m = DraftMetric::new(id_of(&slo_name), Layer::Service, origin(doc));
    m.name = text_at(doc, &["metadata", "displayName"]).or(Some(slo_name.clone()));
    m.description = text_at(doc, &["spec", "description"]);
    m.good = Some(Good::Higher);
    m.red = Some(Side::Below(target));
    m.service = text_at(doc, &["spec", "service"]);
    m.query = Some(query);
    m.notes
        .push(format!("OpenSLO objective: ratio at least {target} as red"));
    if objectives.len() > 1 {
        warnings.push(Skipped {
            origin: origin(doc),
            reason: format!(
                "OpenSLO `{slo_name}` has {} objectives; the first is its threshold",
                objectives.len()
            ),
        });
    }
    let teams: Vec<String> = match at(doc, &["metadata", "labels", "team"]) {
        Some(n) => match tree::text(n) {
            Some(one) => vec![one],
            None => items(Some(n)).iter().filter_map(tree::text).collect(),
        },
        None => Vec::new(),
    };
    match teams.as_slice() {
        [one] => m.owner = Some(one.clone()),
        [] => {}
        many => warnings.push(Skipped {
            origin: origin(doc),
            reason: format!(
                "OpenSLO `{slo_name}` names several teams ({}): no owner drafted, write the one who explains it",
                many.join(", ")
            ),
        }),
    }
    Some(m)
}
