//! The trace service graph a Prometheus holds, as Tempo's metrics-generator
//! and the OpenTelemetry Collector's `servicegraph` connector write it:
//! `traces_service_graph_request_total{client, server}`, its `_failed_total`
//! and the `traces_service_graph_request_server_seconds` histogram. Each
//! client -> server call gets request, failure and latency metrics, and the
//! server's own calls drive the client's call of the same kind (a slow or
//! failing callee makes its caller slow or failing), proposed.

use whyline_catalog::{Effect, Good, Layer};

use crate::draft::{DraftDriver, DraftMetric};
use crate::tree::id_of;

/// The series whose labels list the calls.
pub const SERVICE_GRAPH_SERIES: &str = "traces_service_graph_request_total";

/// One edge of the service graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    /// The calling service.
    pub client: String,
    /// The called service.
    pub server: String,
}

fn selector(call: &Call) -> String {
    format!(
        "client={}, server={}",
        crate::draft::quote(&call.client),
        crate::draft::quote(&call.server)
    )
}

/// The metrics of every call (sorted, so the draft is stable).
pub fn import(calls: &[Call]) -> Vec<DraftMetric> {
    let mut calls = calls.to_vec();
    calls.sort();
    calls.dedup();
    let base = |c: &Call| format!("{}_to_{}", id_of(&c.client), id_of(&c.server));
    let kinds: [(&str, &str, Option<Good>, Option<&str>); 3] = [
        ("requests", "Requests per second", None, Some("req/s")),
        (
            "failures",
            "Failed requests per second",
            Some(Good::Lower),
            Some("req/s"),
        ),
        (
            "latency_p99",
            "p99 server latency",
            Some(Good::Lower),
            Some("s"),
        ),
    ];
    let mut out = Vec::new();
    for call in &calls {
        for (suffix, title, good, unit) in kinds {
            let sel = selector(call);
            let query = match suffix {
                "requests" => format!("sum(rate(traces_service_graph_request_total{{{sel}}}[5m]))"),
                "failures" => {
                    format!("sum(rate(traces_service_graph_request_failed_total{{{sel}}}[5m]))")
                }
                _ => format!(
                    "histogram_quantile(0.99, sum by (le) (rate(traces_service_graph_request_server_seconds_bucket{{{sel}}}[5m])))"
                ),
            };
            let mut m = DraftMetric::new(
                format!("{}_{suffix}", base(call)),
                Layer::Service,
                "servicegraph".to_string(),
            );
            m.name = Some(format!("{title}, {} -> {}", call.client, call.server));
            m.unit = unit.map(str::to_string);
            m.good = good;
            m.service = Some(call.client.clone());
            m.query = Some(query);
            // The server's own calls of the same kind drive this one.
            if suffix != "requests" {
                for downstream in calls.iter().filter(|c| c.client == call.server) {
                    m.drivers.push(DraftDriver {
                        metric: format!("{}_{suffix}", base(downstream)),
                        effect: Effect::Increases,
                        lag: None,
                        why: Some(format!(
                            "{} calls {}: its {suffix} show in the call from {}",
                            call.server, downstream.server, call.client
                        )),
                        origin: "servicegraph".to_string(),
                        proposed: true,
                    });
                }
            }
            out.push(m);
        }
    }
    out
}
