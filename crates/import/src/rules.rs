//! Prometheus alerting and recording rules (plain rule groups, a
//! `PrometheusRule` object, or a live server's `/api/v1/rules`).
//!
//! Alerts of one name are one metric: the severities' numeric comparisons
//! become its red and amber thresholds, conditions that only guard (`and
//! ... == 0`) are not thresholds, `for:`, summary and `runbook_url` are kept.
//! Recording rules become metrics; the recorded series an expression reads
//! become its drivers, signed by how they push it, and proposed.

use std::collections::{BTreeMap, HashMap};

use whyline_catalog::yaml::Node;
use whyline_catalog::{Effect, Good, Layer};

use crate::draft::{DraftDriver, DraftMetric, Side, Skipped};
use crate::promql;
use crate::servicegraph;
use crate::tree::{self, entries, id_of, items, text_at};

/// One rule, from whichever form it was read.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `alert:` name, for an alerting rule.
    pub alert: Option<String>,
    /// `record:` name, for a recording rule.
    pub record: Option<String>,
    /// The PromQL expression.
    pub expr: String,
    /// `for:`, as written.
    pub wait: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Where it is written.
    pub origin: String,
    /// Which output file it belongs to.
    pub file: usize,
}

/// The rule groups of a plain rule file or a `PrometheusRule` object, if
/// the document is one.
pub fn groups_of(doc: &Node) -> Option<&Node> {
    if text_at(doc, &["kind"]).as_deref() == Some("PrometheusRule") {
        return tree::at(doc, &["spec", "groups"]);
    }
    let groups = tree::get(doc, "groups")?;
    // A rule file's groups hold `rules:` lists.
    items(Some(groups))
        .iter()
        .any(|g| tree::get(g, "rules").is_some())
        .then_some(groups)
}

/// Reads the rules of `groups` (YAML).
pub fn read_yaml(groups: &Node, name: &str, file: usize) -> Vec<Rule> {
    let mut out = Vec::new();
    for group in items(Some(groups)) {
        for rule in items(tree::get(group, "rules")) {
            let Some(expr) = text_at(rule, &["expr"]) else {
                continue;
            };
            let map = |key: &str| -> BTreeMap<String, String> {
                entries(tree::get(rule, key))
                    .into_iter()
                    .filter_map(|(k, v)| tree::text(v).map(|v| (k, v)))
                    .collect()
            };
            out.push(Rule {
                alert: text_at(rule, &["alert"]),
                record: text_at(rule, &["record"]),
                expr,
                wait: text_at(rule, &["for"]),
                labels: map("labels"),
                annotations: map("annotations"),
                origin: format!("{name}:{}", rule.location.line),
                file,
            });
        }
    }
    out
}

/// Reads the answer of a live server's `/api/v1/rules` (JSON).
pub fn read_api(answer: &serde_json::Value, url: &str, file: usize) -> Result<Vec<Rule>, String> {
    if answer.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(format!("{url} did not answer `status: success`"));
    }
    let groups = answer
        .pointer("/data/groups")
        .and_then(|g| g.as_array())
        .ok_or_else(|| format!("{url} answered without `data.groups`"))?;
    let mut out = Vec::new();
    for group in groups {
        let group_name = group.get("name").and_then(|n| n.as_str()).unwrap_or("");
        for rule in group
            .get("rules")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let text = |key: &str| rule.get(key).and_then(|v| v.as_str()).map(str::to_string);
            let (Some(kind), Some(name), Some(expr)) = (text("type"), text("name"), text("query"))
            else {
                continue;
            };
            let map = |key: &str| -> BTreeMap<String, String> {
                rule.get(key)
                    .and_then(|m| m.as_object())
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            };
            let seconds = rule.get("duration").and_then(|d| d.as_f64()).unwrap_or(0.0);
            out.push(Rule {
                alert: (kind == "alerting").then(|| name.clone()),
                record: (kind == "recording").then(|| name.clone()),
                expr,
                wait: (seconds > 0.0).then(|| format!("{}s", seconds.round() as u64)),
                labels: map("labels"),
                annotations: map("annotations"),
                origin: format!("{url}/api/v1/rules#{group_name}/{name}"),
                file,
            });
        }
    }
    Ok(out)
}

/// Red or amber for a severity label; `None` when there is none (an alert
/// without severity pages: red).
fn severity_is_red(labels: &BTreeMap<String, String>) -> bool {
    match labels.get("severity").map(|s| s.to_ascii_lowercase()) {
        None => true,
        Some(s) => matches!(
            s.as_str(),
            "critical" | "page" | "pageteam" | "pager" | "error" | "high" | "p1" | "sev1"
        ),
    }
}

/// The layer a rule's names suggest (a request, error or latency signal is a
/// service behaviour; anything else a system signal), with the reason.
pub fn guess_layer(text: &str) -> (Layer, String) {
    let lower = text.to_ascii_lowercase();
    let service_words = [
        "http",
        "grpc",
        "request",
        "latency",
        "error",
        "availability",
        "slo",
        "sli",
        "apdex",
        "response",
    ];
    match service_words.iter().find(|w| lower.contains(**w)) {
        Some(w) => (
            Layer::Service,
            format!("layer guessed from the query (`{w}`): review"),
        ),
        None => (
            Layer::System,
            "layer guessed (no request, error or latency series in the query): review".to_string(),
        ),
    }
}

/// One series out of an expression that may return many: the worst one
/// for an alert (what makes it fire), a sum for counts and rates, the
/// largest otherwise.
fn one_series(expr: &str, side: Option<Side>, name: &str) -> String {
    let aggregate = match side {
        Some(Side::Below(_)) => "min",
        Some(Side::Above(_)) => "max",
        None => {
            let lower = name.to_ascii_lowercase();
            if ["count", "total", "sum", "rate"]
                .iter()
                .any(|w| lower.rsplit(':').next().is_some_and(|op| op.contains(w)))
            {
                "sum"
            } else {
                "max"
            }
        }
    };
    format!("{aggregate}({expr})")
}

/// Turns the rules of every input into metrics (per output file), with
/// what was skipped and what was taken with a caveat.
pub fn import(rules: &[Rule]) -> (Vec<(usize, DraftMetric)>, Vec<Skipped>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut warnings = Vec::new();
    // Recorded series by the name queries use, for drivers.
    let recorded: HashMap<String, String> = rules
        .iter()
        .filter_map(|r| r.record.as_ref().map(|n| (n.clone(), id_of(n))))
        .collect();
    let mut out: Vec<(usize, DraftMetric)> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut inputs_pending: Vec<DraftMetric> = Vec::new();
    for rule in rules {
        if let Some(record) = &rule.record {
            let id = id_of(record);
            if by_id.contains_key(&id) {
                skipped.push(Skipped {
                    origin: rule.origin.clone(),
                    reason: format!("`{record}` is recorded twice; the first is kept"),
                });
                continue;
            }
            let (layer, note) = guess_layer(&format!("{record} {}", rule.expr));
            let mut m = DraftMetric::new(id.clone(), layer, rule.origin.clone());
            m.name = (id != *record).then(|| record.clone());
            m.description = Some(format!("Recording rule: {}", rule.expr.trim()));
            m.query = Some(one_series(record, None, record));
            m.notes.push(note);
            m.notes.push(
                "one series: aggregated over its labels (review the aggregation)".to_string(),
            );
            m.drivers = drivers(&rule.expr, &recorded, &id, &rule.origin, &mut warnings);
            // The raw series it reads are metrics too (system signals, as
            // selected), so that its inputs are its drivers.
            for input in inputs(&rule.expr, &recorded) {
                if input.sign == 0 {
                    warnings.push(Skipped {
                        origin: rule.origin.clone(),
                        reason: format!(
                            "`{id}` reads `{}` with both signs: no edge drafted (write it by hand)",
                            input.selector
                        ),
                    });
                    continue;
                }
                let input_id = input_id(&input);
                if input_id == id || m.drivers.iter().any(|d| d.metric == input_id) {
                    continue;
                }
                m.drivers.push(DraftDriver {
                    metric: input_id.clone(),
                    effect: if input.sign > 0 {
                        Effect::Increases
                    } else {
                        Effect::Decreases
                    },
                    lag: None,
                    why: Some(format!("`{id}` is computed from `{}`", input.selector)),
                    origin: rule.origin.clone(),
                    proposed: true,
                });
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    by_id.entry(input_id.clone())
                {
                    let series = match servicegraph::call_of(&input) {
                        // One call of the trace service graph: the metric the
                        // graph drafts, so rules and graph give one map.
                        Some((call, kind)) => servicegraph::call_metric(&call, kind, &rule.origin),
                        None => {
                            let (layer, note) = guess_layer(&input.selector);
                            let mut series =
                                DraftMetric::new(input_id.clone(), layer, rule.origin.clone());
                            series.name = Some(input.selector.clone());
                            series.description =
                                Some(format!("A series the recording rule `{record}` reads"));
                            series.query = Some(raw_query(&input));
                            series.notes.push(note);
                            series.notes.push(
                                "an input of a recording rule; one series: summed over its labels"
                                    .to_string(),
                            );
                            series
                        }
                    };
                    slot.insert(out.len() + 1 + inputs_pending.len());
                    inputs_pending.push(series);
                }
            }
            by_id.insert(id, out.len());
            out.push((rule.file, m));
            for series in inputs_pending.drain(..) {
                out.push((rule.file, series));
            }
            continue;
        }
        let Some(alert) = &rule.alert else { continue };
        let condition = match promql::condition(&rule.expr) {
            Ok(c) => c,
            Err(reason) => {
                skipped.push(Skipped {
                    origin: rule.origin.clone(),
                    reason: format!("alert `{alert}`: {reason}"),
                });
                continue;
            }
        };
        let id = id_of(alert);
        let red = severity_is_red(&rule.labels);
        if let Some(&k) = by_id.get(&id) {
            // Another severity of an alert already read.
            let m = &mut out[k].1;
            let same_measure = m
                .query
                .as_deref()
                .is_some_and(|q| q == one_series(&condition.measured, Some(condition.side), alert));
            let slot = if red { &mut m.red } else { &mut m.amber };
            if !same_measure {
                skipped.push(Skipped {
                    origin: rule.origin.clone(),
                    reason: format!(
                        "alert `{alert}`: this severity measures another expression than the first; only the first is kept"
                    ),
                });
            } else if slot.is_some() {
                skipped.push(Skipped {
                    origin: rule.origin.clone(),
                    reason: format!(
                        "alert `{alert}`: a second rule of the same severity; the first is kept"
                    ),
                });
            } else {
                *slot = Some(condition.side);
                // A server's answer names a rule by group and name only.
                if !m.origin.split(", ").any(|o| o == rule.origin) {
                    m.origin = format!("{}, {}", m.origin, rule.origin);
                }
            }
            continue;
        }
        let (layer, note) = guess_layer(&format!("{alert} {}", condition.measured));
        let mut m = DraftMetric::new(id.clone(), layer, rule.origin.clone());
        m.name = Some(alert.clone());
        m.description = rule
            .annotations
            .get("summary")
            .or_else(|| rule.annotations.get("description"))
            .cloned();
        m.good = Some(match condition.side {
            Side::Below(_) => Good::Higher,
            Side::Above(_) => Good::Lower,
        });
        if red {
            m.red = Some(condition.side);
        } else {
            m.amber = Some(condition.side);
        }
        m.query = Some(one_series(&condition.measured, Some(condition.side), alert));
        m.runbook = rule.annotations.get("runbook_url").cloned();
        m.owner = rule
            .labels
            .get("team")
            .or_else(|| rule.labels.get("owner"))
            .cloned();
        m.service = rule.labels.get("service").cloned();
        m.notes.push(note);
        if let Some(wait) = &rule.wait {
            m.notes.push(format!(
                "the alert waits `for: {wait}` before firing; whyline judges each point"
            ));
        }
        m.drivers = drivers(
            &condition.measured,
            &recorded,
            &id,
            &rule.origin,
            &mut warnings,
        );
        by_id.insert(id, out.len());
        out.push((rule.file, m));
    }
    // An alert seen only at a warning severity is amber alone: say so.
    for (_, m) in &mut out {
        if m.red.is_none() && m.amber.is_some() {
            m.notes
                .push("only a warning severity exists: amber, no red threshold".to_string());
        }
    }
    (out, skipped, warnings)
}

/// The recorded series `expr` reads, as proposed drivers of `id`.
fn drivers(
    expr: &str,
    recorded: &HashMap<String, String>,
    id: &str,
    origin: &str,
    warnings: &mut Vec<Skipped>,
) -> Vec<DraftDriver> {
    let Ok(references) = promql::references(expr) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, sign) in references {
        let Some(driver) = recorded.get(&name) else {
            continue;
        };
        if driver == id {
            continue;
        }
        if sign == 0 {
            warnings.push(Skipped {
                origin: origin.to_string(),
                reason: format!(
                    "`{id}` reads `{name}` with both signs: no edge drafted (write it by hand)"
                ),
            });
            continue;
        }
        out.push(DraftDriver {
            metric: driver.clone(),
            effect: if sign > 0 {
                Effect::Increases
            } else {
                Effect::Decreases
            },
            lag: None,
            why: Some(format!("`{id}` is computed from `{name}`")),
            origin: origin.to_string(),
            proposed: true,
        });
    }
    out
}

/// The raw (not recorded) series an expression reads.
fn inputs(expr: &str, recorded: &HashMap<String, String>) -> Vec<promql::Selection> {
    promql::selectors(expr)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !recorded.contains_key(&s.name))
        .collect()
}

/// The id of a raw series selection: its name, then each matcher as
/// `.label-value` (`!=` as `not-`, regular expressions as `re-`), so that
/// two selections of one series stay two metrics; one call of the trace
/// service graph is the graph's own metric.
fn input_id(s: &promql::Selection) -> String {
    if let Some((call, kind)) = servicegraph::call_of(s) {
        return servicegraph::metric_id(&call, kind);
    }
    let mut id = id_of(&s.name);
    for (label, op, value) in &s.matchers {
        let op = match op.as_str() {
            "!=" => "not-",
            "=~" => "re-",
            "!~" => "not-re-",
            _ => "",
        };
        let value = if value.trim().is_empty() {
            "empty".to_string()
        } else {
            id_of(value)
        };
        id.push_str(&format!(".{}-{op}{value}", id_of(label)));
    }
    id
}

/// One series out of a raw selection: counters as their summed rate, the
/// rest summed.
fn raw_query(s: &promql::Selection) -> String {
    if ["_total", "_count", "_sum", "_bucket"]
        .iter()
        .any(|suffix| s.name.ends_with(suffix))
    {
        format!("sum(rate({}[5m]))", s.selector)
    } else {
        format!("sum({})", s.selector)
    }
}
