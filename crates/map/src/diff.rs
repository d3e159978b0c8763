//! What a change to the catalog adds, removes and breaks, for pull-request gates.
//!
//! The comparison is by metric id and by (driver, metric) edge, so moving a
//! metric between files is not a change. Only *new* failures count as breaks:
//! a gate on the change, not on the debt the catalog already carries.

use std::collections::{HashMap, HashSet};

use whyline_catalog::{Catalog, Effect};

use crate::assess::{Assessment, ProblemKind, Verdict};
use crate::graph::MetricGraph;

/// A catalog with its graph and the two tests applied.
#[derive(Debug)]
pub struct Assessed<'c> {
    /// The catalog.
    pub catalog: &'c Catalog,
    /// Its graph.
    pub graph: MetricGraph,
    /// The two tests, in catalog order.
    pub assessments: Vec<Assessment>,
}

impl<'c> Assessed<'c> {
    /// Builds the graph and applies the two tests.
    pub fn new(catalog: &'c Catalog) -> Self {
        let graph = MetricGraph::new(catalog);
        let assessments = crate::assess::assess(catalog, &graph);
        Assessed {
            catalog,
            graph,
            assessments,
        }
    }

    fn by_id(&self, id: &str) -> Option<&Assessment> {
        self.catalog.index_of(id).map(|i| &self.assessments[i])
    }
}

/// An edge, by ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EdgeRef {
    /// The driver.
    pub from: String,
    /// The driven metric.
    pub to: String,
}

/// Why a change is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// A metric added by the change fails a test.
    NewMetricFails,
    /// A metric that passed test 1 before no longer does.
    LostDecision,
    /// A metric that passed test 2 before no longer does (its chain was cut, or its owner removed).
    LostExplanation,
}

impl BreakKind {
    /// The kind as it stands in `check --format json` (`base.breaks[].kind`):
    /// a contract, so written out here rather than taken from the variant's name.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakKind::NewMetricFails => "NewMetricFails",
            BreakKind::LostDecision => "LostDecision",
            BreakKind::LostExplanation => "LostExplanation",
        }
    }
}

/// One regression introduced by the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The metric affected.
    pub metric: String,
    /// What kind of regression.
    pub kind: BreakKind,
    /// One sentence for the pull request.
    pub message: String,
}

/// The difference between a base catalog and the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogDiff {
    /// Ids only in the current catalog.
    pub added: Vec<String>,
    /// Ids only in the base catalog.
    pub removed: Vec<String>,
    /// Edges only in the current catalog.
    pub edges_added: Vec<EdgeRef>,
    /// Edges only in the base catalog.
    pub edges_removed: Vec<EdgeRef>,
    /// Edges whose sign changed.
    pub edges_flipped: Vec<EdgeRef>,
    /// Metrics whose verdict changed: (id, before, after).
    pub verdicts_changed: Vec<(String, Verdict, Verdict)>,
    /// Regressions; a gate fails when this is not empty.
    pub breaks: Vec<Break>,
}

fn edges(catalog: &Catalog) -> HashMap<EdgeRef, Effect> {
    catalog
        .metrics
        .iter()
        .flat_map(|m| {
            m.drivers.iter().map(|d| {
                (
                    EdgeRef {
                        from: d.metric.clone(),
                        to: m.id.clone(),
                    },
                    d.effect,
                )
            })
        })
        .collect()
}

/// Compares `base` (e.g. the main branch) with `current` (the change).
pub fn diff(base: &Assessed<'_>, current: &Assessed<'_>) -> CatalogDiff {
    let mut out = CatalogDiff::default();
    let base_ids: HashSet<&str> = base.catalog.metrics.iter().map(|m| m.id.as_str()).collect();
    let current_ids: HashSet<&str> = current
        .catalog
        .metrics
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    out.added = current
        .catalog
        .metrics
        .iter()
        .filter(|m| !base_ids.contains(m.id.as_str()))
        .map(|m| m.id.clone())
        .collect();
    out.removed = base
        .catalog
        .metrics
        .iter()
        .filter(|m| !current_ids.contains(m.id.as_str()))
        .map(|m| m.id.clone())
        .collect();

    let base_edges = edges(base.catalog);
    let current_edges = edges(current.catalog);
    for (edge, effect) in &current_edges {
        match base_edges.get(edge) {
            None => out.edges_added.push(edge.clone()),
            Some(before) if before != effect => out.edges_flipped.push(edge.clone()),
            Some(_) => {}
        }
    }
    out.edges_removed = base_edges
        .keys()
        .filter(|e| !current_edges.contains_key(*e))
        .cloned()
        .collect();
    out.edges_added.sort();
    out.edges_removed.sort();
    out.edges_flipped.sort();

    for assessment in &current.assessments {
        let metric = &current.catalog.metrics[assessment.metric];
        let Some(before) = base.by_id(&metric.id) else {
            if !assessment.verdict.is_keep() {
                let reasons: Vec<&str> = assessment
                    .problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect();
                out.breaks.push(Break {
                    metric: metric.id.clone(),
                    kind: BreakKind::NewMetricFails,
                    message: format!(
                        "new metric `{}` is {}: {}",
                        metric.id,
                        assessment.verdict.as_str(),
                        reasons.join("; ")
                    ),
                });
            }
            continue;
        };
        if before.verdict != assessment.verdict {
            out.verdicts_changed
                .push((metric.id.clone(), before.verdict, assessment.verdict));
        }
        if before.test_decision && !assessment.test_decision {
            out.breaks.push(Break {
                metric: metric.id.clone(),
                kind: BreakKind::LostDecision,
                message: format!("`{}` no longer passes the decision test: nothing kept depends on it any more, and it has no decision of its own", metric.id),
            });
        }
        if before.test_explain && !assessment.test_explain {
            let lost_owner = assessment
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::NoOwner);
            let message = if lost_owner {
                format!(
                    "`{}` lost its owner: nobody is named to explain it when it turns red",
                    metric.id
                )
            } else {
                let upstream: HashSet<&str> = base
                    .graph
                    .upstream(before.metric)
                    .into_iter()
                    .map(|i| base.catalog.metrics[i].id.as_str())
                    .collect();
                let cut: Vec<String> = out
                    .edges_removed
                    .iter()
                    .filter(|e| upstream.contains(e.to.as_str()))
                    .map(|e| format!("{} -> {}", e.from, e.to))
                    .collect();
                let how = if cut.is_empty() {
                    String::new()
                } else {
                    format!(" (removed: {})", cut.join(", "))
                };
                format!(
                    "the chain from `{}` down to system signals was cut{how}: if it turns red, the map can no longer say why",
                    metric.id
                )
            };
            out.breaks.push(Break {
                metric: metric.id.clone(),
                kind: BreakKind::LostExplanation,
                message,
            });
        }
    }
    out
}
