//! Statuses at scale: when the rules `whyline export prometheus-rules` wrote
//! are loaded in the engine (Prometheus, Thanos Ruler, Mimir, vmalert), each
//! exported metric's status is read from the engine's `ALERTS` and its latest
//! value from the recorded `whyline:value`: two queries per connection per
//! refresh, whatever the number of metrics, instead of one range query per
//! metric. History is then read only when a question needs it.
//!
//! The engine judges the same thresholds, but on the latest value held for
//! the rules' `for:` (whyline's own judge takes the median of the last three
//! points); metrics without thresholds are still judged by whyline.

use std::collections::BTreeMap;

use whyline_alerts::rules::{self, METRIC_LABEL, RECORDED};
use whyline_catalog::{Catalog, SourceSpec};
use whyline_sources::{Options, instant};
use whyline_why::Status;

use super::state::MetricStatus;

/// The catalog positions whose status the engine holds, by connection.
pub(crate) fn exported(catalog: &Catalog) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (position, metric) in catalog.metrics.iter().enumerate() {
        if let (true, Some(SourceSpec::Prometheus { connection, .. })) =
            (rules::is_exported(metric), &metric.source)
        {
            out.entry(connection.clone()).or_default().push(position);
        }
    }
    out
}

/// The statuses of `metrics` on `connection`, from two instant queries.
pub(crate) fn statuses(
    catalog: &Catalog,
    connection: &str,
    metrics: &[usize],
    options: &Options,
) -> Vec<(usize, MetricStatus)> {
    let alerts_query = format!("ALERTS{{alertstate=\"firing\",{METRIC_LABEL}!=\"\"}}");
    let (firing, values) = match instant(catalog, connection, &[&alerts_query, RECORDED], options) {
        Ok(mut both) if both.len() == 2 => {
            let values = both.pop().unwrap_or_default();
            (both.pop().unwrap_or_default(), values)
        }
        Ok(_) => (Vec::new(), Vec::new()),
        Err(e) => {
            let reason = format!("prometheus `{connection}` (statuses from its alerts): {e}");
            return metrics
                .iter()
                .map(|&m| (m, unknown("no data", Some(reason.clone()))))
                .collect();
        }
    };
    let mut alerts: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (labels, _) in &firing {
        if let Some(id) = labels.get(METRIC_LABEL) {
            alerts.entry(id.as_str()).or_default().push((
                labels.get("alertname").map_or("", String::as_str),
                labels.get("severity").map_or("", String::as_str),
            ));
        }
    }
    let mut latest: BTreeMap<&str, f64> = BTreeMap::new();
    for (labels, value) in &values {
        if let Some(id) = labels.get(METRIC_LABEL) {
            latest.insert(id.as_str(), *value);
        }
    }
    metrics
        .iter()
        .map(|&m| {
            let id = catalog.metrics[m].id.as_str();
            let Some(&value) = latest.get(id) else {
                return (
                    m,
                    unknown(
                        "no data",
                        Some(format!(
                            "prometheus `{connection}` holds no `{RECORDED}{{{METRIC_LABEL}=\"{id}\"}}`: load the rules `whyline export prometheus-rules` wrote into it"
                        )),
                    ),
                );
            };
            let on = alerts.get(id).map(Vec::as_slice).unwrap_or_default();
            let critical = on.iter().find(|(_, s)| *s == "critical");
            let warning = on.iter().find(|(_, s)| *s == "warning");
            let (status, reason) = match (critical, warning) {
                (Some((name, _)), _) => (Status::Red, format!("red: alert {name} is firing")),
                (None, Some((name, _))) => (Status::Amber, format!("amber: alert {name} is firing")),
                (None, None) => (Status::Green, "no alert firing".to_string()),
            };
            (
                m,
                MetricStatus {
                    status,
                    reason,
                    value: crate::contract::finite(value),
                    change: None,
                    missing: None,
                    stale: false,
                },
            )
        })
        .collect()
}

fn unknown(reason: &str, missing: Option<String>) -> MetricStatus {
    MetricStatus {
        status: Status::Unknown,
        reason: reason.to_string(),
        value: None,
        change: None,
        missing,
        stale: false,
    }
}
