//! Cross-file checks: duplicate ids and connections, unknown drivers and
//! connections, and cycles in which no edge takes time.

use std::collections::{HashMap, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::model::{Connection, Metric};

/// Unknown-driver suggestions scan every id; past this many the scan is skipped
/// so a catalog with a systematic mistake still checks quickly.
const MAX_SUGGESTION_SCANS: usize = 200;

/// Reports ids and connection names defined more than once.
pub(crate) fn duplicates(
    metrics: &[Metric],
    connections: &[Connection],
    out: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<&str, &Metric> = HashMap::with_capacity(metrics.len());
    for metric in metrics {
        if let Some(first) = seen.get(metric.id.as_str()) {
            out.push(
                Diagnostic::new(Code::DuplicateId, metric.location, format!("metric `{}` is defined twice", metric.id))
                    .with_help("ids are unique across the whole catalog: rename one, or merge the two definitions")
                    .with_related(first.location, "first defined here"),
            );
        } else {
            seen.insert(&metric.id, metric);
        }
    }
    let mut seen: HashMap<&str, &Connection> = HashMap::new();
    for connection in connections {
        if let Some(first) = seen.get(connection.name.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateConnection,
                    connection.location,
                    format!("connection `{}` is defined twice", connection.name),
                )
                .with_help(
                    "connection names are shared by every file: define it once, or rename one",
                )
                .with_related(first.location, "first defined here"),
            );
        } else {
            seen.insert(&connection.name, connection);
        }
    }
}

/// Reports drivers and sources that name something no file defines.
pub(crate) fn references(
    metrics: &[Metric],
    connections: &[Connection],
    index: &dyn Fn(&str) -> Option<usize>,
    out: &mut Vec<Diagnostic>,
) {
    let mut scans = 0;
    for metric in metrics {
        for driver in &metric.drivers {
            if index(&driver.metric).is_some() {
                continue;
            }
            let mut diagnostic = Diagnostic::new(
                Code::UnknownDriver,
                driver.location,
                format!(
                    "`{}` drives `{}`, but no metric has that id",
                    driver.metric, metric.id
                ),
            );
            scans += 1;
            let suggestion = (scans <= MAX_SUGGESTION_SCANS)
                .then(|| did_you_mean(&driver.metric, metrics.iter().map(|m| m.id.as_str())))
                .flatten();
            diagnostic = match suggestion {
                Some(s) => diagnostic.with_help(format!("did you mean `{s}`? Otherwise define `{}` in the catalog, in any file", driver.metric)),
                None => diagnostic.with_help(format!("define a metric with `id: {}` in any file of the catalog, or remove this driver", driver.metric)),
            };
            out.push(diagnostic);
        }
        if let Some((volume, at)) = &metric.volume {
            if index(volume).is_none() {
                let help = match did_you_mean(volume, metrics.iter().map(|m| m.id.as_str())) {
                    Some(s) => format!(
                        "did you mean `{s}`? `volume:` names the metric that counts the events `{}` is a share of",
                        metric.id
                    ),
                    None => format!(
                        "define a metric with `id: {volume}` (the count of events, e.g. requests) or remove `volume:`"
                    ),
                };
                out.push(
                    Diagnostic::new(
                        Code::UnknownDriver,
                        *at,
                        format!(
                            "the volume of `{}` is `{volume}`, but no metric has that id",
                            metric.id
                        ),
                    )
                    .with_help(help),
                );
            }
        }
        if let (Some(source), Some(at)) = (&metric.source, metric.source_location) {
            if let Some(name) = source.connection() {
                if !connections.iter().any(|c| c.name == name) {
                    let known: Vec<&str> = connections.iter().map(|c| c.name.as_str()).collect();
                    let help = match did_you_mean(name, known.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? Defined connections: {}", known.join(", ")),
                        None if known.is_empty() => "define it under `connections:` in any file, e.g. `main: { kind: prometheus, url: \"http://127.0.0.1:9090\" }`".to_string(),
                        None => format!("define it under `connections:`; defined connections: {}", known.join(", ")),
                    };
                    out.push(
                        Diagnostic::new(
                            Code::UnknownConnection,
                            at,
                            format!(
                                "the source of `{}` uses connection `{name}`, which is not defined",
                                metric.id
                            ),
                        )
                        .with_help(help),
                    );
                }
            }
        }
    }
}

/// Reports every cycle made only of edges without lag.
///
/// A cycle with some lagged edge is a feedback loop over time (load -> latency
/// -> retries -> load) and is legal; without any lag it has no causal order.
/// Method: strongly connected components (Tarjan) of the zero-lag subgraph;
/// each non-trivial component holds at least one cycle, which we spell out.
pub(crate) fn cycles(
    metrics: &[Metric],
    index: &dyn Fn(&str) -> Option<usize>,
    out: &mut Vec<Diagnostic>,
) {
    let mut graph: DiGraph<(), usize> = DiGraph::with_capacity(metrics.len(), metrics.len() * 3);
    for _ in metrics {
        graph.add_node(());
    }
    for (to, metric) in metrics.iter().enumerate() {
        for (k, driver) in metric.drivers.iter().enumerate() {
            if !driver.lag.is_zero() {
                continue;
            }
            if let Some(from) = index(&driver.metric) {
                graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), k);
            }
        }
    }
    for component in petgraph::algo::tarjan_scc(&graph) {
        let start = component[0];
        let self_loop = graph.find_edge(start, start).is_some();
        if component.len() < 2 && !self_loop {
            continue;
        }
        let path = cycle_through(&graph, &component, start);
        // Point at the edge that closes the cycle: the driver entry of the
        // first metric on the path naming the last one.
        let closing_to = path[0];
        let closing_from = path[path.len() - 2];
        let edge = graph.find_edge(closing_from, closing_to);
        let Some(edge) = edge else { continue };
        let driver_position = graph[edge];
        let target = &metrics[closing_to.index()];
        let at = target.drivers[driver_position].location;
        let names: Vec<&str> = path
            .iter()
            .map(|n| metrics[n.index()].id.as_str())
            .collect();
        let mut diagnostic = Diagnostic::new(
            Code::Cycle,
            at,
            format!("drivers form a cycle in which no edge has a lag: {}", names.join(" -> ")),
        )
        .with_help("a cycle is allowed only when one of its edges takes time: add `lag:` (e.g. `lag: 5m`) to that edge, or remove an edge");
        for window in path.windows(2).take(path.len() - 2) {
            if let Some(e) = graph.find_edge(window[0], window[1]) {
                let m = &metrics[window[1].index()];
                diagnostic = diagnostic.with_related(
                    m.drivers[graph[e]].location,
                    format!("`{}` drives `{}` here", metrics[window[0].index()].id, m.id),
                );
            }
        }
        out.push(diagnostic);
    }
}

/// A shortest cycle through `start` that stays inside `component`, as
/// `[start, ..., start]` in the direction of the edges.
fn cycle_through(
    graph: &DiGraph<(), usize>,
    component: &[NodeIndex],
    start: NodeIndex,
) -> Vec<NodeIndex> {
    let inside: std::collections::HashSet<NodeIndex> = component.iter().copied().collect();
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors(node) {
            if next == start {
                let mut path = vec![start, node];
                let mut at = node;
                while at != start {
                    let Some(&previous) = parent.get(&at) else {
                        break;
                    };
                    at = previous;
                    path.push(at);
                }
                path.reverse();
                return path;
            }
            if inside.contains(&next) && !parent.contains_key(&next) && next != start {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}
