//! Grafana dashboard JSON, the last resort: each panel's Prometheus queries
//! and title as candidate metrics, without thresholds or edges.

use crate::draft::{DraftMetric, Skipped};
use crate::rules::guess_layer;
use crate::tree::id_of;

/// Whether a JSON value looks like a dashboard (`panels`, or the export
/// wrapper `dashboard.panels`).
pub fn dashboard(value: &serde_json::Value) -> Option<&serde_json::Value> {
    if value.get("panels").is_some_and(|p| p.is_array()) {
        return Some(value);
    }
    value
        .get("dashboard")
        .filter(|d| d.get("panels").is_some_and(|p| p.is_array()))
}

/// The candidate metrics of a dashboard.
pub fn import(
    dashboard: &serde_json::Value,
    name: &str,
    skipped: &mut Vec<Skipped>,
) -> Vec<DraftMetric> {
    let title = dashboard
        .get("title")
        .and_then(|t| t.as_str())
        .unwrap_or("dashboard");
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> = Vec::new();
    collect(dashboard, &mut panels);
    for (p, panel) in panels.iter().enumerate() {
        let panel_title = panel
            .get("title")
            .and_then(|t| t.as_str())
            .filter(|t| !t.trim().is_empty())
            .map_or_else(|| format!("panel {}", p + 1), str::to_string);
        let targets: Vec<&str> = panel
            .get("targets")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("expr").and_then(|e| e.as_str()))
            .filter(|e| !e.trim().is_empty())
            .collect();
        if targets.is_empty() {
            if panel.get("targets").is_some() {
                skipped.push(Skipped {
                    origin: format!("{name}#{panel_title}"),
                    reason: "the panel has no Prometheus `expr` query".to_string(),
                });
            }
            continue;
        }
        for (k, expr) in targets.iter().enumerate() {
            let base = id_of(&panel_title);
            let id = if targets.len() > 1 {
                format!("{base}_{}", k + 1)
            } else {
                base
            };
            if promql_parser::parser::parse(expr).is_err() {
                skipped.push(Skipped {
                    origin: format!("{name}#{panel_title}"),
                    reason: format!("query `{expr}` is not valid PromQL (a template variable?)"),
                });
                continue;
            }
            let (layer, note) = guess_layer(expr);
            let mut m = DraftMetric::new(id, layer, format!("{name}#{panel_title}"));
            m.name = Some(panel_title.clone());
            m.description = Some(format!("Panel `{panel_title}` of the dashboard `{title}`"));
            m.query = Some((*expr).to_string());
            m.notes.push(
                "candidate from a dashboard panel (last resort): keep it only if a decision uses it"
                    .to_string(),
            );
            m.notes.push(note);
            out.push(m);
        }
    }
    out
}

fn collect<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v serde_json::Value>) {
    for panel in value
        .get("panels")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        out.push(panel);
        // Rows hold their panels inside.
        collect(panel, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_in_rows_become_candidates_and_template_queries_are_skipped() {
        let exported: serde_json::Value = serde_json::json!({
            "title": "Checkout",
            "panels": [
                {"type": "row", "title": "Traffic", "panels": [
                    {"title": "Requests per second", "targets": [{"expr": "sum(rate(http_requests_total[5m]))"}]}
                ]},
                {"title": "Latency", "targets": [
                    {"expr": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"},
                    {"expr": "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"}
                ]},
                {"title": "By instance", "targets": [{"expr": "up{instance=~\"$instance\"} =="}]},
                {"title": "Notes", "type": "text"}
            ]
        });
        let mut skipped = Vec::new();
        let metrics = import(
            dashboard(&exported).expect("a dashboard"),
            "checkout.json",
            &mut skipped,
        );
        let ids: Vec<&str> = metrics.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["requests_per_second", "latency_1", "latency_2"]);
        assert!(
            metrics
                .iter()
                .all(|m| m.red.is_none() && m.drivers.is_empty())
        );
        assert_eq!(metrics[0].origin, "checkout.json#Requests per second");
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains("not valid PromQL"));
    }
}
