//! `whyline pull --format json`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::Missing;

/// What a pull wrote.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PullReport {
    /// The Parquet file written; null when nothing was.
    pub(crate) file: Option<String>,
    /// Why nothing was written.
    pub(crate) error: Option<String>,
    /// The grid the data was read on; null when nothing was read.
    pub(crate) grid: Option<Grid>,
    /// The metrics written.
    pub(crate) metrics: Vec<String>,
    /// Metrics that could not be read, and why.
    pub(crate) missing: Vec<Missing>,
    /// By metric: points repaired while reading.
    pub(crate) repairs: BTreeMap<String, Repairs>,
}

/// A regular time grid.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Grid {
    /// Its first point (RFC 3339 UTC).
    pub(crate) from: String,
    /// Its end (exclusive).
    pub(crate) to: String,
    /// The step, in milliseconds.
    pub(crate) step_ms: i64,
    /// How many points.
    pub(crate) points: usize,
}

/// Points repaired while reading a metric.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Repairs {
    /// Points that arrived before an earlier timestamp (sorted into place).
    pub(crate) out_of_order: usize,
    /// Points sharing a timestamp with another (the last one read kept).
    pub(crate) duplicates: usize,
    /// NaN or infinite values (dropped: missing).
    pub(crate) non_finite: usize,
}
