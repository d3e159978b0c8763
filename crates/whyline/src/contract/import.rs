//! `whyline import PATH... --format json`.

use schemars::JsonSchema;
use serde::Serialize;

use super::Layer;

/// What an import drafted, wrote and skipped.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ImportReport {
    /// Catalog files written.
    pub(crate) written: Vec<String>,
    /// Catalog files that already held the same text (left alone).
    pub(crate) unchanged: Vec<String>,
    /// Every metric drafted.
    pub(crate) metrics: Vec<ImportedMetric>,
    /// Every edge drafted.
    pub(crate) edges: Vec<ImportedEdge>,
    /// Items not imported, each with its reason.
    pub(crate) skipped: Vec<Skipped>,
    /// Items imported with a caveat.
    pub(crate) warnings: Vec<Skipped>,
    /// Why the output folder does not read as a valid catalog (the first ten
    /// errors); empty when it does.
    pub(crate) invalid: Vec<String>,
}

/// A drafted metric.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ImportedMetric {
    /// Its id.
    pub(crate) id: String,
    /// Where it came from (file and item).
    pub(crate) origin: String,
    /// Its layer.
    pub(crate) layer: Layer,
}

/// A drafted edge.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ImportedEdge {
    /// The driver.
    pub(crate) from: String,
    /// The metric it drives.
    pub(crate) to: String,
    /// Where it came from.
    pub(crate) origin: String,
    /// Suggested by structure only: a person must confirm it.
    pub(crate) proposed: bool,
}

/// An item left out or imported with a caveat.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Skipped {
    /// Where it came from.
    pub(crate) origin: String,
    /// Why.
    pub(crate) reason: String,
}
