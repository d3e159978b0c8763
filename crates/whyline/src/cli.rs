//! The command-line interface: arguments only, no behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Keep the chain from business outcome to system signal as code, and ask it why.
#[derive(Debug, Parser)]
#[command(name = "whyline", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the catalog is; shared by every command.
#[derive(Debug, clap::Args)]
pub(crate) struct CatalogArg {
    /// Catalog file or folder [default: $WHYLINE_CATALOG, else ./metrics/, else ./whyline.yaml]
    #[arg(long, value_name = "PATH", env = "WHYLINE_CATALOG")]
    pub(crate) catalog: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate the catalog and apply the two tests to every metric.
    ///
    /// Exit 0: valid, and every metric is kept (business or operational).
    /// Exit 1: valid, but some metric fails a test (or, with --base, the change breaks something).
    /// Exit 2: the catalog is invalid; every error is listed with file:line:column.
    Check(CheckArgs),
    /// Draw the map as Graphviz DOT or Mermaid, business on top, system at the bottom.
    Graph(GraphArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// A verdict table for people.
    Human,
    /// The machine-readable report.
    Json,
    /// GitHub Actions annotations, so problems show on the pull request's lines.
    Github,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub(crate) format: CheckFormat,
    /// Compare with the catalog at this git revision and fail only on what the change breaks.
    ///
    /// Reports metrics and edges added and removed, verdict changes, and regressions:
    /// a new metric that fails a test, or an existing one that lost its decision,
    /// its owner or its chain to system signals. Exit 1 only for regressions.
    #[arg(long, value_name = "REF")]
    pub(crate) base: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormatArg {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Output syntax.
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Dot)]
    pub(crate) format: GraphFormatArg,
    /// Draw only this metric, what drives it and what it drives.
    #[arg(long, value_name = "METRIC")]
    pub(crate) focus: Option<String>,
}
