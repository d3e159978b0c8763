//! The metric map as a graph, and what can be said about it without data:
//! the two tests and verdicts ([`assess`]), what a change breaks ([`diff`]),
//! and drawings for docs ([`export`]).
//!
//! Architecture invariant: pure functions over a [`whyline_catalog::Catalog`];
//! no I/O, no time series.

pub mod assess;
pub mod diff;
pub mod export;
pub mod graph;

pub use assess::{Assessment, Problem, ProblemKind, Verdict, assess, proposed_edges};
pub use diff::{Assessed, Break, BreakKind, CatalogDiff, EdgeRef, diff};
pub use export::{GraphFormat, focus_set, render};
pub use graph::MetricGraph;
