//! `truth.json`, written by `whyline simulate` beside the data.

use schemars::JsonSchema;
use serde::Serialize;

/// The faults injected into simulated data: the ground truth to score a
/// `why` answer against.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Truth {
    /// The faults.
    pub(crate) faults: Vec<Fault>,
    /// Points simulated per metric.
    pub(crate) points: usize,
    /// Seconds between points.
    pub(crate) step_seconds: i64,
    /// The random seed (the same seed, the same data).
    pub(crate) seed: u64,
}

/// One injected fault.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Fault {
    /// The metric it was injected into.
    pub(crate) metric: String,
    /// Its shape.
    pub(crate) kind: FaultKind,
    /// Its size, in units of the metric's standardised signal (positive: up).
    pub(crate) size: f64,
    /// When it began (RFC 3339 UTC).
    pub(crate) start: String,
}

/// The shape of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// A level shift that holds.
    Step,
    /// A shift that grows over 20 points, then holds.
    Ramp,
    /// Five points off, then back.
    Spike,
}

impl From<whyline_sim::FaultKind> for FaultKind {
    fn from(k: whyline_sim::FaultKind) -> Self {
        match k {
            whyline_sim::FaultKind::Step => FaultKind::Step,
            whyline_sim::FaultKind::Ramp => FaultKind::Ramp,
            whyline_sim::FaultKind::Spike => FaultKind::Spike,
        }
    }
}
