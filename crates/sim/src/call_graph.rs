//! Maps shaped like real microservice monitoring (the PetShop dataset's
//! shapes, Hardt et al., CLeaR 2024): a call graph of services, each with
//! its request count, latency and availability at 5-minute steps; the caller's
//! view of every call as its own `..._remote_latency` node (a slow callee makes
//! its caller's remote view slow, which makes the caller slow); availability
//! pinned at 100% with rare shallow dips, a failing callee dragging its
//! callers down. The map written for it is the call graph reversed, as a user
//! would write it, with `volume:` on availabilities.

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use whyline_catalog::Layer;

use crate::{Edge, Model, Node};

/// What a node of a call-graph map measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Requests per step.
    Requests,
    /// Mean latency of the service's own answers, in ms.
    Latency,
    /// The caller's view of one call's latency, in ms (a node of the caller).
    RemoteLatency,
    /// Share of successful answers, in percent.
    Availability,
}

/// A call-graph model with its catalog and what each node is.
#[derive(Debug, Clone)]
pub struct CallGraphMap {
    /// The true model (node ids are metric ids).
    pub model: Model,
    /// The catalog as YAML: the call graph reversed, with units and `volume:`.
    pub catalog_yaml: String,
    /// The service each node belongs to (a remote node belongs to its caller).
    pub service_of: Vec<usize>,
    /// What each node measures.
    pub measure: Vec<Measure>,
    /// Number of services; service 0 is the entry point users call.
    pub services: usize,
}

impl CallGraphMap {
    /// The node measuring `measure` of `service` (not a remote view).
    pub fn node(&self, service: usize, measure: Measure) -> Option<usize> {
        (0..self.measure.len())
            .find(|&i| self.service_of[i] == service && self.measure[i] == measure)
    }
}

/// Nodes as they are drawn, with what each one is.
#[derive(Default)]
struct Built {
    nodes: Vec<Node>,
    service_of: Vec<usize>,
    measure: Vec<Measure>,
}

impl Built {
    fn push(&mut self, node: Node, service: usize, measure: Measure) -> usize {
        self.nodes.push(node);
        self.service_of.push(service);
        self.measure.push(measure);
        self.nodes.len() - 1
    }
}

/// Points per day at 5-minute steps.
pub const FIVE_MINUTE_DAY: usize = 288;

/// How far above 100% the availability's hidden level sits, in its own noise:
/// a dip shows only when the signal falls this far (about 0.6% of normal steps).
const PINNED_MARGIN: f64 = 2.5;

/// Draws a call graph of `services` services (at least 2) and its model.
pub fn call_graph_map(services: usize, seed: u64) -> CallGraphMap {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = services.max(2);
    // Who calls whom: every service but the entry point has a caller among
    // the earlier ones, some have two (a shared backend).
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, list) in callers.iter_mut().enumerate().skip(1) {
        list.push(rng.random_range(0..i));
        if i >= 3 && rng.random_bool(0.2) {
            let other = rng.random_range(0..i);
            if !list.contains(&other) {
                list.push(other);
            }
        }
    }
    let callees =
        |c: usize| -> Vec<usize> { (0..n).filter(|&i| callers[i].contains(&c)).collect() };

    let mut built = Built::default();
    let unbounded = (f64::NEG_INFINITY, f64::INFINITY);
    let node = |id: String, level: f64, scale: f64, parents: Vec<Edge>, noise: f64| Node {
        id,
        layer: Layer::Service,
        level,
        scale,
        parents,
        noise,
        seasonal: 0.0,
        bounds: unbounded,
        pinned: None,
    };
    let edge = |from: usize, weight: f64| Edge {
        from,
        weight,
        sign: 1.0,
        lag: 0,
        saturating: false,
    };
    // Requests flow from callers to callees; the entry point has the daily cycle.
    let mut requests = vec![0usize; n];
    for i in 0..n {
        let parents: Vec<Edge> = callers[i]
            .iter()
            .map(|&c| edge(requests[c], 0.9 / (callers[i].len() as f64).sqrt()))
            .collect();
        let level = if i == 0 {
            2_000.0
        } else {
            rng.random_range(200.0..1_500.0_f64).round()
        };
        let mut r = node(
            format!("svc{i}_requests"),
            level,
            level * 0.08,
            parents,
            if i == 0 { 1.0 } else { 0.4 },
        );
        r.layer = Layer::System;
        r.seasonal = if i == 0 { 0.8 } else { 0.0 };
        r.bounds = (0.0, f64::INFINITY);
        requests[i] = built.push(r, i, Measure::Requests);
    }
    // Latency and availability bottom-up: callees (later services) first.
    let mut latency = vec![0usize; n];
    let mut availability = vec![0usize; n];
    for i in (0..n).rev() {
        let below = callees(i);
        // The caller-side view of each call.
        let mut latency_parents = vec![edge(requests[i], 0.3)];
        for &c in &below {
            let callee = &built.nodes[latency[c]];
            let (level, scale) = (callee.level + 3.0, callee.scale);
            let remote = built.push(
                node(
                    format!("svc{i}_to_svc{c}_remote_latency"),
                    level,
                    scale,
                    vec![edge(latency[c], 1.0)],
                    0.3,
                ),
                i,
                Measure::RemoteLatency,
            );
            latency_parents.push(edge(remote, 0.9 / (below.len() as f64).sqrt()));
        }
        let own = rng.random_range(15.0..80.0_f64).round();
        let level = own
            + below
                .iter()
                .map(|&c| built.nodes[latency[c]].level * 0.5)
                .sum::<f64>();
        let mut l = node(
            format!("svc{i}_latency"),
            level.round(),
            (level * 0.06).max(1.0),
            latency_parents,
            0.6,
        );
        l.bounds = (0.0, f64::INFINITY);
        if i == 0 {
            l.layer = Layer::Business;
        }
        latency[i] = built.push(l, i, Measure::Latency);
        // Availability: pinned at 100% unless the service or a callee fails.
        // A caller shows part of its callees' failures: retries, fallbacks
        // and caches absorb the rest (so the entry point moves less than the
        // failing service, as in PetShop's incidents).
        let parents: Vec<Edge> = below
            .iter()
            .map(|&c| edge(availability[c], rng.random_range(0.3..0.8)))
            .collect();
        let scale = 0.5;
        let level = 100.0 + scale * PINNED_MARGIN;
        let mut a = node(format!("svc{i}_availability"), level, scale, parents, 1.0);
        a.bounds = (0.0, 100.0);
        a.pinned = Some(100.0);
        if i == 0 {
            a.layer = Layer::Business;
        }
        availability[i] = built.push(a, i, Measure::Availability);
    }
    let Built {
        nodes,
        service_of,
        measure,
    } = built;
    let model = Model::new(nodes).unwrap_or(Model {
        nodes: Vec::new(),
        order: Vec::new(),
    });
    let catalog_yaml = catalog_text(&model, &service_of, &measure, &requests);
    CallGraphMap {
        model,
        catalog_yaml,
        service_of,
        measure,
        services: n,
    }
}

fn catalog_text(
    model: &Model,
    service_of: &[usize],
    measure: &[Measure],
    requests: &[usize],
) -> String {
    let mut text = String::from(
        "# Generated: a call graph of services at 5-minute steps, with known ground truth.\nversion: 1\nmetrics:\n",
    );
    for (i, node) in model.nodes.iter().enumerate() {
        let service = service_of[i];
        let (unit, good) = match measure[i] {
            Measure::Requests => ("requests", "higher"),
            Measure::Latency | Measure::RemoteLatency => ("ms", "lower"),
            Measure::Availability => ("'%'", "higher"),
        };
        let _ = writeln!(
            text,
            "  - id: {}\n    layer: {}\n    unit: {unit}\n    good: {good}\n    owner: team-svc{service}\n    service: svc{service}",
            node.id,
            node.layer.as_str()
        );
        if node.layer == Layer::Business {
            let _ = writeln!(
                text,
                "    decision: Whether to roll back the last release of svc{service}\n    audience: [on-call]"
            );
        }
        if measure[i] == Measure::Availability {
            let _ = writeln!(text, "    volume: {}", model.nodes[requests[service]].id);
        }
        if !node.parents.is_empty() {
            let _ = writeln!(text, "    drivers:");
            for e in &node.parents {
                let _ = writeln!(
                    text,
                    "      - {{ metric: {}, effect: increases }}",
                    model.nodes[e.from].id
                );
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fault, FaultKind};

    #[test]
    fn availability_sits_at_100_with_rare_dips_and_a_failing_callee_drags_its_caller() {
        let map = call_graph_map(6, 1);
        let checked = whyline_catalog::parse(vec![whyline_catalog::SourceFile {
            path: "calls.yaml".into(),
            text: map.catalog_yaml.clone(),
        }]);
        assert!(checked.is_valid(), "{:?}", checked.diagnostics);
        let entry = map.node(0, Measure::Availability).expect("entry");
        let data = map.model.simulate(2_000, FIVE_MINUTE_DAY, &[], 1);
        let at_cap = data[entry].iter().filter(|v| **v == 100.0).count();
        assert!(at_cap > 1_800, "{at_cap} of 2000 points at 100%");
        assert!(data[entry].iter().all(|v| (0.0..=100.0).contains(v)));
        // A failing callee shows at the entry point, in part.
        let callee = map.model.nodes[entry].parents[0].from;
        let fault = Fault {
            node: callee,
            kind: FaultKind::Step,
            size: -12.0,
            start: 1_900,
        };
        let failing = map.model.simulate(2_000, FIVE_MINUTE_DAY, &[fault], 1);
        let (at_entry, at_callee) = (failing[entry][1_950], failing[callee][1_950]);
        assert!(at_callee < 97.0, "{at_callee}");
        assert!(
            at_entry < 99.5 && at_entry > at_callee,
            "{at_entry} vs {at_callee}"
        );
    }

    #[test]
    fn a_slow_callee_is_seen_first_by_its_callers_remote_view() {
        let map = call_graph_map(5, 2);
        let callee = 1;
        let latency = map.node(callee, Measure::Latency).expect("latency");
        let remote = (0..map.measure.len())
            .find(|&i| {
                map.measure[i] == Measure::RemoteLatency
                    && map.model.nodes[i].parents.iter().any(|e| e.from == latency)
            })
            .expect("a remote view");
        assert_ne!(
            map.service_of[remote], callee,
            "the remote view is the caller's"
        );
        let fault = Fault {
            node: latency,
            kind: FaultKind::Step,
            size: 6.0,
            start: 500,
        };
        let data = map.model.simulate(600, FIVE_MINUTE_DAY, &[fault], 2);
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        assert!(mean(&data[remote][520..600]) > mean(&data[remote][400..500]) + 3.0);
    }
}
