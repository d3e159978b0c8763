//! The trace service graph a Prometheus holds, as Tempo's metrics-generator
//! and the OpenTelemetry Collector's `servicegraph` connector write it:
//! `traces_service_graph_request_total{client, server}`, its `_failed_total`
//! and the `traces_service_graph_request_server_seconds` histogram. Each
//! client -> server call gets request, failure and latency metrics, and the
//! server's own calls drive the client's call of the same kind (a slow or
//! failing callee makes its caller slow or failing), proposed.

use whyline_catalog::{Effect, Good, Layer};

use crate::draft::{DraftDriver, DraftMetric};
use crate::promql::Selection;
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

/// What a call's metric measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Requests per second.
    Requests,
    /// Failed requests per second.
    Failures,
    /// p99 server latency.
    LatencyP99,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Requests, Kind::Failures, Kind::LatencyP99];

    fn suffix(self) -> &'static str {
        match self {
            Kind::Requests => "requests",
            Kind::Failures => "failures",
            Kind::LatencyP99 => "latency_p99",
        }
    }

    /// The service-graph series this kind is computed from.
    fn series(self) -> &'static str {
        match self {
            Kind::Requests => SERVICE_GRAPH_SERIES,
            Kind::Failures => "traces_service_graph_request_failed_total",
            Kind::LatencyP99 => "traces_service_graph_request_server_seconds_bucket",
        }
    }
}

fn selector(call: &Call) -> String {
    format!(
        "client={}, server={}",
        crate::draft::quote(&call.client),
        crate::draft::quote(&call.server)
    )
}

/// The id of a call's metric of one kind (`checkout_to_payments_failures`).
pub fn metric_id(call: &Call, kind: Kind) -> String {
    format!(
        "{}_to_{}_{}",
        id_of(&call.client),
        id_of(&call.server),
        kind.suffix()
    )
}

/// A call's metric of one kind: id, title, unit, direction and query.
pub fn call_metric(call: &Call, kind: Kind, origin: &str) -> DraftMetric {
    let sel = selector(call);
    let series = kind.series();
    let (title, good, query) = match kind {
        Kind::Requests => (
            "Requests per second",
            None,
            format!("sum(rate({series}{{{sel}}}[5m]))"),
        ),
        Kind::Failures => (
            "Failed requests per second",
            Some(Good::Lower),
            format!("sum(rate({series}{{{sel}}}[5m]))"),
        ),
        Kind::LatencyP99 => (
            "p99 server latency",
            Some(Good::Lower),
            format!("histogram_quantile(0.99, sum by (le) (rate({series}{{{sel}}}[5m])))"),
        ),
    };
    let mut m = DraftMetric::new(metric_id(call, kind), Layer::Service, origin.to_string());
    m.name = Some(format!("{title}, {} -> {}", call.client, call.server));
    m.unit = Some(
        if kind == Kind::LatencyP99 {
            "s"
        } else {
            "req/s"
        }
        .to_string(),
    );
    m.good = good;
    m.service = Some(call.client.clone());
    m.query = Some(query);
    m
}

/// The call and kind a selection reads, when it is one call's service-graph
/// series selected by exactly its `client` and `server`: a recording rule
/// over the service graph then reads the same metric the graph drafts.
pub fn call_of(selection: &Selection) -> Option<(Call, Kind)> {
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.series() == selection.name)?;
    let [(l1, op1, client), (l2, op2, server)] = selection.matchers.as_slice() else {
        return None;
    };
    (l1 == "client" && l2 == "server" && op1 == "=" && op2 == "=").then(|| {
        (
            Call {
                client: client.clone(),
                server: server.clone(),
            },
            kind,
        )
    })
}

/// The metrics of every call (sorted, so the draft is stable).
pub fn import(calls: &[Call]) -> Vec<DraftMetric> {
    let mut calls = calls.to_vec();
    calls.sort();
    calls.dedup();
    let mut out = Vec::new();
    for call in &calls {
        for kind in Kind::ALL {
            let mut m = call_metric(call, kind, "servicegraph");
            // The server's own calls of the same kind drive this one.
            if kind != Kind::Requests {
                for downstream in calls.iter().filter(|c| c.client == call.server) {
                    m.drivers.push(DraftDriver {
                        metric: metric_id(downstream, kind),
                        effect: Effect::Increases,
                        lag: None,
                        why: Some(format!(
                            "{} calls {}: its {} show in the call from {}",
                            call.server,
                            downstream.server,
                            kind.suffix(),
                            call.client
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

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(expr: &str) -> Selection {
        crate::promql::selectors(expr)
            .expect("valid")
            .into_iter()
            .next()
            .expect("one")
    }

    #[test]
    fn a_rule_reading_one_calls_series_reads_the_graphs_metric() {
        let s = selection(
            r#"sum(rate(traces_service_graph_request_failed_total{server="payments",client="checkout"}[5m]))"#,
        );
        let (call, kind) = call_of(&s).expect("a call");
        assert_eq!(metric_id(&call, kind), "checkout_to_payments_failures");
        // A selection narrower or wider than one call is a series of its own.
        for other in [
            r#"rate(traces_service_graph_request_total{client="checkout"}[5m])"#,
            r#"rate(traces_service_graph_request_total{client="a",server="b",le="1"}[5m])"#,
            r#"rate(traces_service_graph_request_total{client=~"a|b",server="c"}[5m])"#,
            r#"rate(http_requests_total{client="a",server="b"}[5m])"#,
        ] {
            assert!(call_of(&selection(other)).is_none(), "{other}");
        }
    }
}
