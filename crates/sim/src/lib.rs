//! A structural causal model (SCM) simulator for game days, tests and
//! benchmarks: "would our map have found this?".
//!
//! Every metric is `level + scale * s(t)` where the standardised signal
//! `s(t) = sum over drivers of w * sign * s_driver(t - lag) + f_nonlinear + noise(t)`,
//! the noise is AR(1) (autocorrelated, as real metrics are), roots carry a
//! daily seasonality, and some edges respond nonlinearly (a latency that rises
//! sharply once CPU saturates). A fault adds a step, ramp or spike to one
//! metric's own term from a chosen time on; its effect flows down the edges.
//!
//! Two ways in: [`random_map`] draws a layered map (business, service,
//! system) with services and teams; [`Model::from_catalog`] takes the user's
//! own catalog. Architecture invariant: pure; the binary writes the files.

mod call_graph;

pub use call_graph::{CallGraphMap, FIVE_MINUTE_DAY, Measure, call_graph_map};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use whyline_catalog::{Bound, Catalog, Effect, Layer};

/// The shape of an injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A level shift that stays.
    Step,
    /// A linear rise over 20 points, then stays.
    Ramp,
    /// A short burst of 5 points.
    Spike,
}

impl FaultKind {
    /// Parses `step`, `ramp`, `spike`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "step" => Some(FaultKind::Step),
            "ramp" => Some(FaultKind::Ramp),
            "spike" => Some(FaultKind::Spike),
            _ => None,
        }
    }

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Step => "step",
            FaultKind::Ramp => "ramp",
            FaultKind::Spike => "spike",
        }
    }

    fn profile(self, since: usize) -> f64 {
        match self {
            FaultKind::Step => 1.0,
            FaultKind::Ramp => ((since + 1) as f64 / 20.0).min(1.0),
            FaultKind::Spike => {
                if since < 5 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// Which node (position in the model).
    pub node: usize,
    /// Its shape.
    pub kind: FaultKind,
    /// Size in units of the node's standardised signal (positive = up).
    pub size: f64,
    /// First point of the fault.
    pub start: usize,
}

/// One edge of the true model.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The driving node.
    pub from: usize,
    /// Weight (> 0); the sign is separate.
    pub weight: f64,
    /// +1 or -1.
    pub sign: f64,
    /// Delay in points.
    pub lag: usize,
    /// Adds `0.6 * max(0, s_from - 1.5)^2`: a sharp rise past saturation.
    pub saturating: bool,
}

/// One metric of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Metric id.
    pub id: String,
    /// Layer.
    pub layer: Layer,
    /// Typical value.
    pub level: f64,
    /// Units per standard unit of signal.
    pub scale: f64,
    /// Incoming edges.
    pub parents: Vec<Edge>,
    /// Standard deviation of its own noise.
    pub noise: f64,
    /// Amplitude of its daily cycle (roots only).
    pub seasonal: f64,
    /// The values it can take (a ratio stays in 0..=1, a percentage in
    /// 0..=100): outputs are clamped.
    pub bounds: (f64, f64),
    /// The value it sits at while nothing fails (an availability at 100%):
    /// its own term shows only past it (rare dips), and its drivers add their
    /// departures from their own pinned value (failures add up through calls).
    pub pinned: Option<f64>,
}

/// A structural causal model over metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Nodes; edges point to earlier or lagged nodes only, so one pass in
    /// this order computes a time step.
    pub nodes: Vec<Node>,
    order: Vec<usize>,
}

/// Errors building a model from a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Model {
    fn new(nodes: Vec<Node>) -> Result<Self, ModelError> {
        // Topological order over zero-lag edges (Kahn); lagged edges read the past.
        let n = nodes.len();
        let mut indegree = vec![0usize; n];
        let mut children = vec![Vec::new(); n];
        for (c, node) in nodes.iter().enumerate() {
            for e in node.parents.iter().filter(|e| e.lag == 0) {
                indegree[c] += 1;
                children[e.from].push(c);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &c in &children[i] {
                indegree[c] -= 1;
                if indegree[c] == 0 {
                    ready.push(c);
                }
            }
        }
        if order.len() != n {
            return Err(ModelError(
                "the drivers form a cycle without lag".to_string(),
            ));
        }
        Ok(Model { nodes, order })
    }

    /// The model implied by a catalog's drivers, with levels and scales taken
    /// from thresholds and units so the numbers look like the real thing.
    pub fn from_catalog(catalog: &Catalog, seed: u64) -> Result<Self, ModelError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut nodes = Vec::with_capacity(catalog.metrics.len());
        for m in &catalog.metrics {
            let (level, scale) = level_and_scale(m, &mut rng);
            let mut parents = Vec::new();
            for d in &m.drivers {
                let Some(from) = catalog.index_of(&d.metric) else {
                    continue;
                };
                let k = m.drivers.len() as f64;
                parents.push(Edge {
                    from,
                    weight: rng.random_range(0.8..1.2) / k.sqrt(),
                    sign: d.effect.sign(),
                    lag: (d.lag.as_millis() / 60_000) as usize,
                    saturating: m.layer == Layer::Service
                        && catalog.metrics[from].layer == Layer::System
                        && d.effect == Effect::Increases,
                });
            }
            let root = parents.is_empty();
            nodes.push(Node {
                id: m.id.clone(),
                layer: m.layer,
                level,
                scale,
                parents,
                noise: if root { 1.0 } else { 0.35 },
                seasonal: if root {
                    rng.random_range(0.0..0.8)
                } else {
                    0.0
                },
                bounds: bounds_of(m.unit.as_deref()),
                pinned: None,
            });
        }
        damp_feedback(&mut nodes);
        Model::new(nodes)
    }

    /// Position of a node by id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }

    /// All nodes upstream of `target` (its causes), `target` excluded.
    pub fn upstream(&self, target: usize) -> Vec<usize> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![target];
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            for e in &self.nodes[n].parents {
                if !seen[e.from] {
                    seen[e.from] = true;
                    out.push(e.from);
                    stack.push(e.from);
                }
            }
        }
        out.retain(|&n| n != target);
        out
    }

    /// The standardised signal at which node `i` shows its pinned value.
    fn pin_signal(&self, i: usize, pin: f64) -> f64 {
        let node = &self.nodes[i];
        if node.scale > 0.0 {
            (pin - node.level) / node.scale
        } else {
            0.0
        }
    }

    /// Simulates `points` steps, returning one series per node (in units).
    pub fn simulate(
        &self,
        points: usize,
        points_per_day: usize,
        faults: &[Fault],
        seed: u64,
    ) -> Vec<Vec<f64>> {
        let mut rng = StdRng::seed_from_u64(seed);
        let Ok(normal) = Normal::new(0.0, 1.0) else {
            return Vec::new();
        };
        let n = self.nodes.len();
        let mut signal = vec![vec![0.0; points]; n];
        let mut noise_state = vec![0.0; n];
        let phase: Vec<f64> = (0..n)
            .map(|_| rng.random_range(0.0..std::f64::consts::TAU))
            .collect();
        const PHI: f64 = 0.6;
        for t in 0..points {
            for &i in &self.order {
                let node = &self.nodes[i];
                noise_state[i] = PHI * noise_state[i]
                    + (1.0 - PHI * PHI).sqrt() * node.noise * normal.sample(&mut rng);
                let mut s = noise_state[i];
                if node.seasonal > 0.0 {
                    s += node.seasonal
                        * (std::f64::consts::TAU * t as f64 / points_per_day.max(1) as f64
                            + phase[i])
                            .sin();
                }
                for f in faults.iter().filter(|f| f.node == i && t >= f.start) {
                    s += f.size * f.kind.profile(t - f.start);
                }
                if let Some(pin) = node.pinned {
                    s = s.min(self.pin_signal(i, pin));
                }
                for e in &node.parents {
                    let mut p = if t >= e.lag {
                        signal[e.from][t - e.lag]
                    } else {
                        0.0
                    };
                    let parent = &self.nodes[e.from];
                    if let Some(pin) = parent.pinned {
                        p -= self.pin_signal(e.from, pin);
                    }
                    s += e.weight * e.sign * p;
                    if e.saturating {
                        s += e.sign * 0.6 * (p - 1.5).max(0.0).powi(2);
                    }
                }
                // A bounded metric stops at its bound, and what it drives sees
                // the value it took, not the one it could not take.
                let (lo, hi) = node.bounds;
                if node.scale > 0.0 {
                    s = s.clamp(
                        (lo - node.level) / node.scale,
                        (hi - node.level) / node.scale,
                    );
                }
                signal[i][t] = s;
            }
        }
        self.nodes
            .iter()
            .zip(signal)
            .map(|(node, s)| {
                let (lo, hi) = node.bounds;
                // A value at its bound is the bound exactly (not 99.99999...%).
                let snap = |v: f64, bound: f64| {
                    if bound.is_finite() && (v - bound).abs() <= 1e-9 * bound.abs().max(1.0) {
                        bound
                    } else {
                        v
                    }
                };
                s.into_iter()
                    .map(|v| snap(snap((node.level + node.scale * v).clamp(lo, hi), lo), hi))
                    .collect()
            })
            .collect()
    }
}

/// The values a metric of `unit` can take.
fn bounds_of(unit: Option<&str>) -> (f64, f64) {
    match unit {
        Some("ratio") => (0.0, 1.0),
        Some("%" | "percent") => (0.0, 100.0),
        // Counts, latencies and money never go below zero either, but their
        // normal spread comes from thresholds and may reach it: bounding them
        // would distort their normal-time behaviour, so they stay unbounded.
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    }
}

/// A feedback loop (drivers that reach back to a node through lagged edges)
/// diverges when its gain is 1 or more. Within every strongly connected
/// component the weights of a node's in-loop drivers are scaled to sum to at
/// most 0.8 (a row-sum bound on the loop's matrix, so its spectral radius is
/// under 1 and the linear part is stationary), and in-loop edges lose their
/// saturating term (a quadratic in a loop grows without bound).
fn damp_feedback(nodes: &mut [Node]) {
    const LOOP_GAIN: f64 = 0.8;
    let component = strongly_connected(nodes);
    for i in 0..nodes.len() {
        let in_loop = |from: usize| component[from] == component[i];
        let loop_sum: f64 = nodes[i]
            .parents
            .iter()
            .filter(|e| in_loop(e.from))
            .map(|e| e.weight.abs())
            .sum();
        for e in nodes[i].parents.iter_mut() {
            if component[e.from] == component[i] {
                e.saturating = false;
                if loop_sum > LOOP_GAIN {
                    e.weight *= LOOP_GAIN / loop_sum;
                }
            }
        }
    }
}

/// Strongly connected components of the driver graph (Tarjan 1972), as one
/// label per node; a node alone in its component without a self-edge is in no loop.
fn strongly_connected(nodes: &[Node]) -> Vec<usize> {
    struct Walk<'a> {
        nodes: &'a [Node],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        label: Vec<usize>,
        labels: usize,
    }
    impl Walk<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for e in &self.nodes[v].parents {
                let w = e.from;
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    self.label[w] = self.labels;
                    if w == v {
                        break;
                    }
                }
                self.labels += 1;
            }
        }
    }
    let n = nodes.len();
    let mut walk = Walk {
        nodes,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        label: vec![0; n],
        labels: 0,
    };
    for v in 0..n {
        if walk.index[v].is_none() {
            walk.visit(v);
        }
    }
    // A node alone is in a loop only through an edge to itself.
    let mut size = vec![0usize; walk.labels];
    for &l in &walk.label {
        size[l] += 1;
    }
    (0..n)
        .map(|v| {
            let l = walk.label[v];
            let self_edge = nodes[v].parents.iter().any(|e| e.from == v);
            if size[l] > 1 || self_edge {
                l
            } else {
                n + v // a label no other node shares
            }
        })
        .collect()
}

/// Typical value and spread of a metric: from thresholds when it has them
/// (so that a large fault crosses red), else from its unit.
fn level_and_scale(m: &whyline_catalog::Metric, rng: &mut StdRng) -> (f64, f64) {
    if let Some(Bound::Below(red) | Bound::Above(red)) = m.thresholds.as_ref().and_then(|t| t.red) {
        let amber = m.thresholds.as_ref().and_then(|t| t.amber);
        return match m.thresholds.as_ref().and_then(|t| t.red) {
            Some(Bound::Below(_)) => {
                let a = match amber {
                    Some(Bound::Below(a)) => a,
                    _ => red * 1.1,
                };
                let level = a + (a - red).abs().max(red.abs() * 0.05) * 1.5;
                (level, (level - red).abs() / 6.0)
            }
            _ => {
                let a = match amber {
                    Some(Bound::Above(a)) => a,
                    _ => red * 0.8,
                };
                let level = (a - (red - a).abs().max(red.abs() * 0.1)).max(red * 0.25);
                (level, (red - level).abs() / 6.0)
            }
        };
    }
    match m.unit.as_deref() {
        Some("ratio") => {
            let level = rng.random_range(0.3..0.5);
            (level, level * 0.06)
        }
        Some("ms") => {
            let level = rng.random_range(80.0..300.0_f64).round();
            (level, level * 0.08)
        }
        _ => {
            let level = rng.random_range(50.0..500.0_f64).round();
            (level, level * 0.05)
        }
    }
}

/// A random layered map with its catalog text.
#[derive(Debug, Clone)]
pub struct RandomMap {
    /// The true model.
    pub model: Model,
    /// The catalog as YAML (possibly with edges removed or wrong, see [`MapFlaws`]).
    pub catalog_yaml: String,
}

/// How far the written catalog departs from the true model.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MapFlaws {
    /// Share of true edges left out of the catalog.
    pub missing_edges: f64,
    /// Edges added that do not exist.
    pub wrong_edges: usize,
    /// Edges whose sign the catalog gets wrong.
    pub flipped_signs: usize,
}

/// Draws a layered map: `system` roots, `service` metrics driven by system
/// metrics (and earlier service ones), `business` metrics driven by service
/// (and earlier business) ones. Names and teams follow `service_count` services.
pub fn random_map(
    business: usize,
    service: usize,
    system: usize,
    service_count: usize,
    flaws: MapFlaws,
    seed: u64,
) -> RandomMap {
    let mut rng = StdRng::seed_from_u64(seed);
    let services = service_count.max(1);
    let mut nodes: Vec<Node> = Vec::new();
    // System first (roots), then service, then business: parents come earlier.
    for i in 0..system {
        nodes.push(Node {
            id: format!("svc{}_system_{i}", i % services),
            layer: Layer::System,
            level: rng.random_range(0.2..0.6),
            scale: 0.03,
            parents: Vec::new(),
            noise: 1.0,
            seasonal: rng.random_range(0.0..0.8),
            bounds: (f64::NEG_INFINITY, f64::INFINITY),
            pinned: None,
        });
    }
    let add_layer = |nodes: &mut Vec<Node>,
                     rng: &mut StdRng,
                     count: usize,
                     layer: Layer,
                     from: std::ops::Range<usize>,
                     same_from: usize| {
        for i in 0..count {
            let own_start = nodes.len();
            let k = rng.random_range(1..=3usize);
            let mut parents: Vec<Edge> = Vec::new();
            for _ in 0..k {
                // Mostly the layer below; sometimes an earlier metric of the same layer.
                let mut pick = if own_start > same_from && rng.random_bool(0.25) {
                    rng.random_range(same_from..own_start)
                } else {
                    rng.random_range(from.clone())
                };
                // Services mostly depend on themselves: most drivers come from
                // the same service (names carry it: `svc{k}_...`).
                if rng.random_bool(0.7) {
                    let prefix = format!("svc{}_", i % services);
                    let same: Vec<usize> = from
                        .clone()
                        .filter(|&j| nodes[j].id.starts_with(&prefix))
                        .collect();
                    if !same.is_empty() {
                        pick = same[rng.random_range(0..same.len())];
                    }
                }
                if parents.iter().any(|e| e.from == pick) {
                    continue;
                }
                let saturating = layer == Layer::Service
                    && nodes[pick].layer == Layer::System
                    && rng.random_bool(0.3);
                parents.push(Edge {
                    from: pick,
                    weight: 0.0,
                    sign: if rng.random_bool(0.5) { 1.0 } else { -1.0 },
                    lag: if rng.random_bool(0.3) {
                        rng.random_range(1..=3)
                    } else {
                        0
                    },
                    saturating,
                });
            }
            let count_parents = parents.len() as f64;
            for e in &mut parents {
                e.weight = rng.random_range(0.8..1.2) / count_parents.sqrt();
            }
            let (name, level, scale) = match layer {
                Layer::Service => ("service", rng.random_range(100.0..400.0_f64).round(), 10.0),
                _ => (
                    "business",
                    rng.random_range(5_000.0..20_000.0_f64).round(),
                    200.0,
                ),
            };
            nodes.push(Node {
                id: format!("svc{}_{name}_{i}", i % services),
                layer,
                level,
                scale,
                parents,
                noise: 0.35,
                seasonal: 0.0,
                bounds: (f64::NEG_INFINITY, f64::INFINITY),
                pinned: None,
            });
        }
    };
    add_layer(
        &mut nodes,
        &mut rng,
        service,
        Layer::Service,
        0..system.max(1),
        system,
    );
    add_layer(
        &mut nodes,
        &mut rng,
        business,
        Layer::Business,
        system..(system + service).max(system + 1),
        system + service,
    );
    let model = match Model::new(nodes) {
        Ok(m) => m,
        // Parents always come earlier, so there is no zero-lag cycle.
        Err(_) => Model {
            nodes: Vec::new(),
            order: Vec::new(),
        },
    };
    let catalog_yaml = catalog_text(&model, flaws, services, &mut rng);
    RandomMap {
        model,
        catalog_yaml,
    }
}

/// Writes the model as a catalog, with the requested flaws.
fn catalog_text(model: &Model, flaws: MapFlaws, services: usize, rng: &mut StdRng) -> String {
    use std::fmt::Write as _;
    let mut edges: Vec<(usize, usize, f64, usize)> = Vec::new(); // (child, parent, sign, lag)
    for (c, node) in model.nodes.iter().enumerate() {
        for e in &node.parents {
            if rng.random_bool(flaws.missing_edges.clamp(0.0, 1.0)) {
                continue;
            }
            edges.push((c, e.from, e.sign, e.lag));
        }
    }
    for _ in 0..flaws.flipped_signs {
        if edges.is_empty() {
            break;
        }
        let i = rng.random_range(0..edges.len());
        edges[i].2 = -edges[i].2;
    }
    let mut added = 0;
    let n = model.nodes.len();
    let mut attempts = 0;
    while added < flaws.wrong_edges && attempts < 1000 && n > 1 {
        attempts += 1;
        let c = rng.random_range(1..n);
        let p = rng.random_range(0..c);
        if model.nodes[c].parents.iter().any(|e| e.from == p)
            || edges.iter().any(|e| e.0 == c && e.1 == p)
            || model.nodes[p].layer < model.nodes[c].layer
        {
            continue;
        }
        edges.push((c, p, if rng.random_bool(0.5) { 1.0 } else { -1.0 }, 0));
        added += 1;
    }
    let mut text = String::from(
        "# Generated by `whyline simulate`: a layered map with known ground truth.\nversion: 1\nmetrics:\n",
    );
    for (c, node) in model.nodes.iter().enumerate() {
        let service = node.id.split('_').next().unwrap_or("svc0");
        let team = format!(
            "team-{}",
            service
                .trim_start_matches("svc")
                .parse::<usize>()
                .unwrap_or(0)
                % services
        );
        let _ = writeln!(
            text,
            "  - id: {}\n    layer: {}\n    owner: {team}\n    service: {service}",
            node.id,
            node.layer.as_str()
        );
        if node.layer == Layer::Business {
            let _ = writeln!(
                text,
                "    decision: Whether to invest in {}\n    audience: [leadership]",
                node.id
            );
        }
        let mine: Vec<&(usize, usize, f64, usize)> = edges.iter().filter(|e| e.0 == c).collect();
        if !mine.is_empty() {
            let _ = writeln!(text, "    drivers:");
            for (_, p, sign, lag) in mine {
                let effect = if *sign > 0.0 {
                    "increases"
                } else {
                    "decreases"
                };
                let lag = if *lag > 0 {
                    format!(", lag: {lag}m")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    text,
                    "      - {{ metric: {}, effect: {effect}{lag} }}",
                    model.nodes[*p].id
                );
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(text: &str) -> Catalog {
        let checked = whyline_catalog::parse(vec![whyline_catalog::SourceFile {
            path: "sim.yaml".into(),
            text: text.to_string(),
        }]);
        assert!(checked.is_valid(), "{:?}", checked.diagnostics);
        checked.catalog
    }

    #[test]
    fn values_respect_their_bounds_under_a_large_fault() {
        let catalog = catalog(
            "version: 1
metrics:
  - id: conversion
    layer: business
    unit: ratio
    drivers: [{ metric: errors, effect: decreases }]
  - id: errors
    layer: service
    unit: ratio
  - id: availability
    layer: service
    unit: '%'
    drivers: [{ metric: errors, effect: decreases }]
",
        );
        let model = Model::from_catalog(&catalog, 3).expect("model");
        let errors = model.index_of("errors").expect("errors");
        let faults = [Fault {
            node: errors,
            kind: FaultKind::Step,
            size: -40.0,
            start: 100,
        }];
        let data = model.simulate(400, 1440, &faults, 3);
        let conversion = &data[model.index_of("conversion").expect("conversion")];
        assert!(data[errors].iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(conversion.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(data[errors][300] == 0.0, "the fault drove it to its bound");
        let availability = &data[model.index_of("availability").expect("availability")];
        assert!(availability.iter().all(|v| (0.0..=100.0).contains(v)));
    }

    #[test]
    fn a_lagged_feedback_loop_is_damped_and_stays_finite() {
        // Two metrics that drive each other one minute later: `check` accepts
        // the loop, and with weights near 1 its gain reaches 1 or more.
        let catalog = catalog(
            "version: 1
metrics:
  - id: queue
    layer: service
    drivers: [{ metric: retries, effect: increases, lag: 1m }]
  - id: retries
    layer: service
    drivers: [{ metric: queue, effect: increases, lag: 1m }]
  - id: load
    layer: system
  - id: latency
    layer: service
    drivers: [{ metric: load, effect: increases }]
",
        );
        let model = Model::from_catalog(&catalog, 5).expect("model");
        let queue = model.index_of("queue").expect("queue");
        let retries = model.index_of("retries").expect("retries");
        let gain = model.nodes[queue].parents[0].weight * model.nodes[retries].parents[0].weight;
        assert!(gain <= 0.8 * 0.8 + 1e-12, "loop gain {gain}");
        let faults = [Fault {
            node: queue,
            kind: FaultKind::Step,
            size: 10.0,
            start: 50,
        }];
        let data = model.simulate(20_000, 1440, &faults, 5);
        let worst = data[queue].iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        assert!(worst.is_finite() && worst < 1e6, "queue reached {worst}");
        // An edge outside any loop keeps its weight.
        let latency = model.index_of("latency").expect("latency");
        assert!(model.nodes[latency].parents[0].weight >= 0.8);
    }
}
