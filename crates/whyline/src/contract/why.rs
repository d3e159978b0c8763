//! `whyline why METRIC --format json` (and `GET /api/why/{metric}`).

use schemars::JsonSchema;
use serde::Serialize;

use super::{EdgeIds, Effect, Missing, Span, Status};

/// Why a metric is (or is not) red at a moment: the ranked causes, each with
/// its breadcrumb from the metric down, and what the map leaves unexplained.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct WhyAnswer {
    /// The metric asked about.
    pub(crate) metric: String,
    /// The moment asked about (RFC 3339 UTC).
    pub(crate) at: String,
    /// Its status then.
    pub(crate) status: Status,
    /// The status in one sentence, with the numbers that decided it.
    pub(crate) reason: String,
    /// Its move against its baseline; null when it had no data to judge.
    pub(crate) change: Option<Change>,
    /// Ranked, best first. When no mapped driver explains the move, the first
    /// cause is the metric itself (the map ends there). Empty only when
    /// nothing moved.
    pub(crate) causes: Vec<Cause>,
    /// A driver the data suggests where the map ends; never a first cause.
    pub(crate) lead: Option<Lead>,
    /// The metric's own part of its move: what no mapped driver accounts for
    /// (0 to 1; with every explored metric's own part, such as the causes'
    /// `own_share`, it adds up to 1).
    pub(crate) unexplained: f64,
    /// True when the first cause is the metric itself: mapping work is owed.
    pub(crate) map_ends: bool,
    /// The incident judged; null when there was no data.
    pub(crate) incident: Option<Span>,
    /// The normal period it was judged against.
    pub(crate) baseline: Option<Span>,
    /// Metrics on the map below it that had no data to judge.
    pub(crate) blind: Vec<String>,
    /// Edges the data suggests into the explored part of the map.
    pub(crate) unmapped_edges: Vec<SuggestedEdge>,
    /// Metrics that could not be read, and why: the answer is partial.
    pub(crate) missing: Vec<Missing>,
    /// Metrics read with cells that were not numbers (holes in the series).
    pub(crate) holes: Vec<Holes>,
}

/// A metric's move: its baseline, what was observed, and how far off.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Change {
    /// Its usual level (the baseline's median).
    pub(crate) baseline: Option<f64>,
    /// Its level in the incident.
    pub(crate) observed: Option<f64>,
    /// `(observed - baseline) / |baseline|`.
    pub(crate) relative: Option<f64>,
    /// The move in robust standard deviations of the baseline.
    pub(crate) sigma: Option<f64>,
}

impl From<&whyline_why::Change> for Change {
    fn from(c: &whyline_why::Change) -> Self {
        Change {
            baseline: super::finite(c.baseline),
            observed: super::finite(c.observed),
            relative: super::finite(c.relative),
            sigma: super::finite(c.sigma),
        }
    }
}

/// One candidate root cause.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Cause {
    /// The metric.
    pub(crate) metric: String,
    /// Relative score: 1 for the best cause (three decimals).
    pub(crate) score: f64,
    /// The breadcrumb: from the asked metric down to this cause.
    pub(crate) path: Vec<String>,
    /// For each step of `path`, the share of the child's move its fitted
    /// response to that driver explains; null for an edge not in the map.
    pub(crate) path_shares: Vec<Option<f64>>,
    /// The share of the asked metric's move this path explains, 0 to 1, from
    /// the fitted responses along it (a counterfactual; `own_share` is the
    /// part that adds up).
    pub(crate) explained: f64,
    /// This metric's own part of the asked metric's move; the parts of every
    /// metric and `unexplained` add up to 1.
    pub(crate) own_share: f64,
    /// The raw evidence behind the score (a residual or robust z, adjusted).
    pub(crate) evidence: Option<f64>,
    /// Who owns it.
    pub(crate) owner: Option<String>,
    /// When its own move began (RFC 3339 UTC).
    pub(crate) since: Option<String>,
    /// Whether its move pushes the asked metric the way it moved, by the
    /// signs of the path.
    pub(crate) consistent: bool,
    /// Its own move.
    pub(crate) change: Change,
}

/// The driver the data suggests where the map ends.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Lead {
    /// The suggested root: the last element of `path`.
    pub(crate) metric: Option<String>,
    /// The unmapped edges the path takes.
    pub(crate) unmapped_edges: Vec<EdgeIds>,
    /// From the asked metric through the unmapped edge(s) and on down the
    /// written map to where it ends.
    pub(crate) path: Vec<String>,
}

/// An edge the data suggests, not in the map.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SuggestedEdge {
    /// The driver.
    pub(crate) from: String,
    /// The metric it drives.
    pub(crate) to: String,
    /// Its sign.
    pub(crate) effect: Effect,
    /// Its lag, in the catalog's duration grammar (`2m`).
    pub(crate) lag: String,
    /// The normal-time correlation it rests on (three decimals).
    pub(crate) strength: f64,
}

/// A metric's holes: cells that could not be read as numbers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Holes {
    /// The metric.
    pub(crate) metric: String,
    /// How many cells.
    pub(crate) cells: usize,
    /// Where the first one is and what it held.
    pub(crate) first: Option<String>,
}

impl From<&crate::common::Holes> for Holes {
    fn from(h: &crate::common::Holes) -> Self {
        Holes {
            metric: h.metric.clone(),
            cells: h.cells,
            first: h.first.clone(),
        }
    }
}
