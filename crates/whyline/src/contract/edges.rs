//! `whyline edges --format json`.

use schemars::JsonSchema;
use serde::Serialize;

use super::Effect;

/// Declared drivers checked against the data, and the edges it suggests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct EdgesReport {
    /// Every declared edge, with the data's verdict.
    pub(crate) declared: Vec<DeclaredEdge>,
    /// Edges the data suggests, strongest first.
    pub(crate) suggested: Vec<Suggested>,
    /// How many candidate edges were tested (the multiple-testing family).
    pub(crate) candidates_tested: usize,
}

/// What the data says of a declared edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum EdgeVerdict {
    /// A significant effect with the declared sign.
    Supported,
    /// A significant effect with the opposite sign.
    Contradicted,
    /// No significant effect either way.
    Unsupported,
    /// Too little data on one side.
    NoData,
}

impl From<whyline_edges::Verdict> for EdgeVerdict {
    fn from(v: whyline_edges::Verdict) -> Self {
        match v {
            whyline_edges::Verdict::Supported => EdgeVerdict::Supported,
            whyline_edges::Verdict::Contradicted => EdgeVerdict::Contradicted,
            whyline_edges::Verdict::Unsupported => EdgeVerdict::Unsupported,
            whyline_edges::Verdict::NoData => EdgeVerdict::NoData,
        }
    }
}

/// A declared edge, checked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct DeclaredEdge {
    /// The driver.
    pub(crate) from: String,
    /// The metric it drives.
    pub(crate) to: String,
    /// Its declared sign.
    pub(crate) effect: Effect,
    /// The data's verdict.
    pub(crate) verdict: EdgeVerdict,
    /// The partial correlation at the best lag (signed, three decimals).
    pub(crate) estimate: Option<f64>,
    /// The lag it was estimated at; null without data.
    pub(crate) lag: Option<String>,
    /// Its p-value.
    pub(crate) p_value: Option<f64>,
    /// Its q-value (Benjamini–Hochberg over the edges tested).
    pub(crate) q_value: Option<f64>,
    /// Written with `proposed: true`, awaiting a person's confirmation.
    pub(crate) proposed: bool,
}

/// An edge the data suggests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Suggested {
    /// The driver.
    pub(crate) from: String,
    /// The metric it would drive.
    pub(crate) to: String,
    /// Its sign.
    pub(crate) effect: Effect,
    /// Its lag.
    pub(crate) lag: String,
    /// Its |partial correlation| (three decimals).
    pub(crate) strength: Option<f64>,
    /// Its q-value (Benjamini–Hochberg over the candidates tested).
    pub(crate) q_value: Option<f64>,
    /// The file of the driven metric, where the edge would be written.
    pub(crate) file: Option<String>,
    /// The driven metric's owner, who would review it.
    pub(crate) owner: Option<String>,
}
