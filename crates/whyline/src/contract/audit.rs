//! `whyline audit --format json` (and `GET /api/audit`), `whyline focus --format json`.

use schemars::JsonSchema;
use serde::Serialize;

use super::{Span, Verdict};

/// The two tests with evidence from the data over a period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AuditReport {
    /// The share of red business episodes the map explained; null when there
    /// was no red business episode.
    pub(crate) coverage: Option<f64>,
    /// The period's first instant (RFC 3339 UTC).
    pub(crate) from: String,
    /// The period's end.
    pub(crate) to: String,
    /// One entry per metric.
    pub(crate) metrics: Vec<MetricAudit>,
}

/// One metric's audit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct MetricAudit {
    /// The metric id.
    pub(crate) id: String,
    /// Its verdict after the evidence.
    pub(crate) verdict: Verdict,
    /// Why, one sentence each.
    pub(crate) reasons: Vec<String>,
    /// Red episodes in the period.
    pub(crate) red_episodes: usize,
    /// Of them, those the map explained.
    pub(crate) explained_episodes: usize,
    /// Amber episodes in the period (judged as `why` judges them).
    pub(crate) amber_episodes: usize,
    /// The metric it nearly duplicates, if any.
    pub(crate) duplicate_of: Option<String>,
    /// It never moved in the period.
    pub(crate) flat: bool,
    /// It had no data in the period.
    pub(crate) dead: bool,
    /// Its owner.
    pub(crate) owner: Option<String>,
    /// Its red episodes.
    pub(crate) episodes: Vec<Episode>,
}

/// One red episode.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Episode {
    /// Its first red point.
    pub(crate) from: String,
    /// Its last red point.
    pub(crate) to: String,
    /// Whether the map explained it.
    pub(crate) explained: bool,
    /// The root cause named, if any.
    pub(crate) cause: Option<String>,
}

/// Where to start mapping: services ranked by what they matter to.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct FocusReport {
    /// The 3 to 5 services proposed, best first.
    pub(crate) proposal: Vec<String>,
    /// The period whose data ranked them; null when ranked on the map alone.
    pub(crate) period: Option<Span>,
    /// Every service, ranked.
    pub(crate) services: Vec<ServiceFocus>,
}

/// One service, ranked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ServiceFocus {
    /// Its rank, from 1.
    pub(crate) rank: usize,
    /// The service (a metric's `service:`, else its owner).
    pub(crate) service: String,
    /// Whether it is in the proposal.
    pub(crate) proposed: bool,
    /// Red business episodes whose breadcrumb went through it.
    pub(crate) red_episodes: usize,
    /// Those business metrics.
    pub(crate) red_business_metrics: Vec<String>,
    /// Business metrics it drives directly.
    pub(crate) drives_directly: Vec<String>,
    /// Business metrics downstream of it.
    pub(crate) business_downstream: Vec<String>,
    /// Why it ranks there.
    pub(crate) reasons: Vec<String>,
}
