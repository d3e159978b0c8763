//! The two tests, applied to every metric without data.
//!
//! Test 1 (decision): "What decision could this metric change, and for whom?"
//! A metric passes with a `decision` and an `audience`, or as an operational
//! signal that drives a metric which itself passes test 1.
//!
//! Test 2 (explain): "If it turns red, can the team explain why?" A metric
//! passes when it has an owner and is a system signal or has drivers whose
//! chains reach a system signal.
//!
//! Both are fixpoints over the graph, computed by one breadth-first pass each,
//! so the cost is linear in metrics + edges.

use std::collections::VecDeque;

use whyline_catalog::{Catalog, Layer};

use crate::graph::MetricGraph;

/// What the two tests conclude for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Keep, and show to leadership: a business outcome the map can explain.
    Business,
    /// Keep, on the team's dashboard: a service or system signal that explains something.
    Operational,
    /// Passes test 1, fails test 2: mapping work is owed.
    Unexplained,
    /// Fails test 1: no decision uses it; cut it.
    Discard,
}

impl Verdict {
    /// The spelling used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Business => "business",
            Verdict::Operational => "operational",
            Verdict::Unexplained => "unexplained",
            Verdict::Discard => "discard",
        }
    }

    /// True for the verdicts that keep a metric as it is.
    pub fn is_keep(self) -> bool {
        matches!(self, Verdict::Business | Verdict::Operational)
    }
}

/// Which rule a metric breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// Test 1: no decision or audience, and drives no kept metric.
    NoDecision,
    /// Test 2: nobody owns it.
    NoOwner,
    /// Test 2: not a system signal and no drivers at all.
    NoDrivers,
    /// Test 2: has drivers, but none of their chains reaches a system signal.
    ChainStops,
}

impl ProblemKind {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::NoDecision => "no-decision",
            ProblemKind::NoOwner => "no-owner",
            ProblemKind::NoDrivers => "no-drivers",
            ProblemKind::ChainStops => "chain-stops",
        }
    }
}

/// One reason a metric fails a test, with what to write to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule.
    pub kind: ProblemKind,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to write instead.
    pub fix: String,
}

/// The outcome of the two tests for one metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Position in [`Catalog::metrics`].
    pub metric: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// Test 1 result.
    pub test_decision: bool,
    /// Test 2 result.
    pub test_explain: bool,
    /// Why a test failed; empty when both pass.
    pub problems: Vec<Problem>,
}

/// Applies the two tests to every metric of the catalog, in catalog order.
pub fn assess(catalog: &Catalog, graph: &MetricGraph) -> Vec<Assessment> {
    let n = catalog.metrics.len();
    let decides = decision_fixpoint(catalog, graph);
    let reaches = system_fixpoint(catalog, graph);
    (0..n)
        .map(|i| {
            let metric = &catalog.metrics[i];
            let mut problems = Vec::new();
            if !decides[i] {
                let (message, fix) = if metric.decision.is_some() && metric.audience.is_empty() {
                    (
                        "it has a `decision` but no `audience`, and drives no kept metric".to_string(),
                        "add `audience:` naming who makes that decision, e.g. `audience: [leadership]`".to_string(),
                    )
                } else if metric.decision.is_none() && !metric.audience.is_empty() {
                    (
                        "it has an `audience` but no `decision`, and drives no kept metric".to_string(),
                        "add `decision:` saying what this metric could change for them".to_string(),
                    )
                } else {
                    (
                        "no decision uses it: it has no `decision`/`audience` and drives no kept metric".to_string(),
                        "write `decision:` and `audience:`, make it a driver of a metric that matters, or delete it".to_string(),
                    )
                };
                problems.push(Problem {
                    kind: ProblemKind::NoDecision,
                    message,
                    fix,
                });
            }
            let has_owner = metric.owner.as_deref().is_some_and(|o| !o.trim().is_empty());
            if !has_owner {
                problems.push(Problem {
                    kind: ProblemKind::NoOwner,
                    message: "nobody owns it: no one is named to explain it when it turns red".to_string(),
                    fix: "add `owner: <team>` to the metric, or `defaults: { owner: <team> }` to its file".to_string(),
                });
            }
            if !reaches[i] {
                let reviewed = graph.driver_edges(catalog, i).any(|(_, e)| !e.proposed);
                if graph.drivers_of(i).next().is_some() && !reviewed {
                    problems.push(Problem {
                        kind: ProblemKind::ChainStops,
                        message: "its drivers are all proposed (imported or suggested, not reviewed): if it turns red, the map cannot say why yet".to_string(),
                        fix: "check the proposed edges with `whyline edges`, then remove `proposed: true` from the ones the data and the team confirm".to_string(),
                    });
                } else if graph.drivers_of(i).next().is_none() {
                    problems.push(Problem {
                        kind: ProblemKind::NoDrivers,
                        message: format!("it is a {} metric with no drivers: if it turns red, the map cannot say why", metric.layer),
                        fix: "list what moves it under `drivers:`, down to the system signals behind it".to_string(),
                    });
                } else {
                    let ends = chain_ends(catalog, graph, i);
                    problems.push(Problem {
                        kind: ProblemKind::ChainStops,
                        message: format!(
                            "its drivers never reach a system signal: the chain stops at {}",
                            ends.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
                        ),
                        fix: "map the drivers of those metrics down to the system signals (CPU, memory, pools, deploys) that move them".to_string(),
                    });
                }
            }
            let test_decision = decides[i];
            let test_explain = has_owner && reaches[i];
            let verdict = match (test_decision, test_explain) {
                (false, _) => Verdict::Discard,
                (true, false) => Verdict::Unexplained,
                (true, true) if metric.layer == Layer::Business => Verdict::Business,
                (true, true) => Verdict::Operational,
            };
            Assessment {
                metric: i,
                verdict,
                test_decision,
                test_explain,
                problems,
            }
        })
        .collect()
}

/// Metrics passing test 1: those with a decision, and everything that drives them.
fn decision_fixpoint(catalog: &Catalog, graph: &MetricGraph) -> Vec<bool> {
    let mut passes: Vec<bool> = catalog.metrics.iter().map(|m| m.has_decision()).collect();
    let mut queue: VecDeque<usize> = (0..passes.len()).filter(|&i| passes[i]).collect();
    while let Some(m) = queue.pop_front() {
        for d in graph.drivers_of(m) {
            if !passes[d] {
                passes[d] = true;
                queue.push_back(d);
            }
        }
    }
    passes
}

/// Metrics whose driver chains reach a system signal (system metrics
/// included), over reviewed edges only: a `proposed` edge is a hypothesis
/// that does not explain anything yet.
fn system_fixpoint(catalog: &Catalog, graph: &MetricGraph) -> Vec<bool> {
    let mut reaches: Vec<bool> = catalog
        .metrics
        .iter()
        .map(|m| m.layer == Layer::System)
        .collect();
    let mut queue: VecDeque<usize> = (0..reaches.len()).filter(|&i| reaches[i]).collect();
    while let Some(m) = queue.pop_front() {
        for &up in graph.dependants_of(m) {
            let reviewed = graph
                .driver_edges(catalog, up)
                .any(|(from, edge)| from == m && !edge.proposed);
            if !reaches[up] && reviewed {
                reaches[up] = true;
                queue.push_back(up);
            }
        }
    }
    reaches
}

/// The edges still marked `proposed`, as (driver, dependant) positions, in
/// catalog order.
pub fn proposed_edges(catalog: &Catalog, graph: &MetricGraph) -> Vec<(usize, usize)> {
    (0..catalog.metrics.len())
        .flat_map(|to| {
            graph
                .driver_edges(catalog, to)
                .filter(|(_, edge)| edge.proposed)
                .map(move |(from, _)| (from, to))
        })
        .collect()
}

/// The metrics upstream of `start` that have no drivers: where mapping stopped.
fn chain_ends(catalog: &Catalog, graph: &MetricGraph, start: usize) -> Vec<String> {
    let mut ends: Vec<String> = graph
        .upstream(start)
        .into_iter()
        .filter(|&m| m != start && graph.drivers_of(m).next().is_none())
        .map(|m| catalog.metrics[m].id.clone())
        .collect();
    if ends.is_empty() {
        // Every upstream metric has drivers: the chain loops back on itself.
        ends.push(catalog.metrics[start].id.clone());
    }
    ends.sort();
    ends.truncate(5);
    ends
}
