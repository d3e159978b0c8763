//! `whyline check --format json` (and `GET /api/check`).

use schemars::JsonSchema;
use serde::Serialize;

use super::{EdgeIds, Layer, Verdict};

/// The two tests applied to every metric, and the catalog's errors.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CheckReport {
    /// One entry per metric; empty when the catalog is invalid.
    pub(crate) metrics: Vec<MetricCheck>,
    /// Every error that makes the catalog invalid; empty when it is valid.
    pub(crate) errors: Vec<Diagnostic>,
    /// Edges written with `proposed: true` (by `import` or `edges --apply`)
    /// that a person has yet to confirm; absent when the catalog is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proposed_edges: Option<Vec<ProposedEdge>>,
    /// With `--base REV`: what the change does to the map; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) base: Option<BaseChange>,
}

impl CheckReport {
    /// The report of a catalog that did not load or is invalid.
    pub(crate) fn invalid(errors: Vec<Diagnostic>) -> Self {
        CheckReport {
            metrics: Vec::new(),
            errors,
            proposed_edges: None,
            base: None,
        }
    }
}

/// One metric under the two tests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct MetricCheck {
    /// The metric id.
    pub(crate) id: String,
    /// Its verdict.
    pub(crate) verdict: Verdict,
    /// Test 1: a decision could change on it, for someone.
    pub(crate) test_decision: bool,
    /// Test 2: if it turns red, the team can explain why.
    pub(crate) test_explain: bool,
    /// What fails, one sentence each.
    pub(crate) problems: Vec<String>,
    /// The same problems with their kind and what to write to fix them.
    pub(crate) fixes: Vec<Fix>,
    /// Its layer.
    pub(crate) layer: Layer,
    /// Its owner, if written.
    pub(crate) owner: Option<String>,
    /// The file it is written in.
    pub(crate) file: String,
    /// Its line (1-based).
    pub(crate) line: usize,
    /// Its column (1-based).
    pub(crate) column: usize,
}

/// Which rule a metric breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ProblemKind {
    /// Test 1: no decision or audience, and drives no kept metric.
    NoDecision,
    /// Test 2: nobody owns it.
    NoOwner,
    /// Test 2: not a system signal and no drivers at all.
    NoDrivers,
    /// Test 2: has drivers, but none of their chains reaches a system signal.
    ChainStops,
}

impl From<whyline_map::ProblemKind> for ProblemKind {
    fn from(k: whyline_map::ProblemKind) -> Self {
        match k {
            whyline_map::ProblemKind::NoDecision => ProblemKind::NoDecision,
            whyline_map::ProblemKind::NoOwner => ProblemKind::NoOwner,
            whyline_map::ProblemKind::NoDrivers => ProblemKind::NoDrivers,
            whyline_map::ProblemKind::ChainStops => ProblemKind::ChainStops,
        }
    }
}

/// One failed rule and its fix.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Fix {
    /// The rule.
    pub(crate) kind: ProblemKind,
    /// What is wrong.
    pub(crate) message: String,
    /// What to write instead.
    pub(crate) fix: String,
}

/// An error in the catalog, where it is and what to write instead.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Diagnostic {
    /// A stable code, `area::what` (`yaml::syntax`, `schema::unknown-field`, `map::cycle`, ...).
    pub(crate) code: String,
    /// What is wrong.
    pub(crate) message: String,
    /// What to write instead, when known.
    pub(crate) help: Option<String>,
    /// The file, when the error has a place.
    pub(crate) file: Option<String>,
    /// The line (1-based).
    pub(crate) line: Option<usize>,
    /// The column (1-based).
    pub(crate) column: Option<usize>,
}

impl Diagnostic {
    /// A catalog that could not be read at all (a folder gone, no permission).
    pub(crate) fn unreadable(message: String) -> Self {
        Diagnostic {
            code: whyline_catalog::Code::Io.as_str().to_string(),
            message,
            help: None,
            file: None,
            line: None,
            column: None,
        }
    }
}

/// An edge awaiting a person's confirmation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ProposedEdge {
    /// The driver.
    pub(crate) from: String,
    /// The metric it drives.
    pub(crate) to: String,
    /// Where the edge came from (the imported file, `edges --apply`), if said.
    pub(crate) origin: Option<String>,
}

/// What a change does to the map, against `--base REV`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct BaseChange {
    /// The revision compared with.
    pub(crate) revision: String,
    /// Metrics added.
    pub(crate) added: Vec<String>,
    /// Metrics removed.
    pub(crate) removed: Vec<String>,
    /// Edges added.
    pub(crate) edges_added: Vec<EdgeIds>,
    /// Edges removed.
    pub(crate) edges_removed: Vec<EdgeIds>,
    /// Edges whose sign flipped.
    pub(crate) edges_flipped: Vec<EdgeIds>,
    /// Metrics whose verdict changed.
    pub(crate) verdicts_changed: Vec<VerdictChange>,
    /// What the change breaks: the reasons `check --base` exits 1.
    pub(crate) breaks: Vec<Break>,
}

/// A verdict before and after the change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct VerdictChange {
    /// The metric id.
    pub(crate) id: String,
    /// Its verdict at the base revision.
    pub(crate) before: Verdict,
    /// Its verdict now.
    pub(crate) after: Verdict,
}

/// One regression the change introduces.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Break {
    /// The metric.
    pub(crate) metric: String,
    /// What broke.
    pub(crate) kind: BreakKind,
    /// In one sentence.
    pub(crate) message: String,
}

/// What a change broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub(crate) enum BreakKind {
    /// A new metric fails a test.
    NewMetricFails,
    /// A metric that passed test 1 before no longer does.
    LostDecision,
    /// A metric that passed test 2 before no longer does.
    LostExplanation,
}

impl From<whyline_map::BreakKind> for BreakKind {
    fn from(k: whyline_map::BreakKind) -> Self {
        match k {
            whyline_map::BreakKind::NewMetricFails => BreakKind::NewMetricFails,
            whyline_map::BreakKind::LostDecision => BreakKind::LostDecision,
            whyline_map::BreakKind::LostExplanation => BreakKind::LostExplanation,
        }
    }
}
