//! The command-line interface: arguments only, no behaviour.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Keep the chain from business outcome to system signal as code, and ask it why.
#[derive(Debug, Parser)]
#[command(name = "whyline", version = VERSION, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The version and the commit it was built from (`unknown` outside a git checkout).
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WHYLINE_COMMIT"),
    ")"
);

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
    ///
    /// Exit 0: drawn. Exit 2: the catalog is invalid.
    Graph(GraphArgs),
    /// Fetch every metric the catalog needs for a window into one Parquet file.
    ///
    /// Freezes an incident: the file can be attached to a postmortem and
    /// explained again offline with `--data FILE.parquet`. Metrics that cannot be
    /// read are listed with the reason; the others are still written.
    ///
    /// Exit 0: all read. Exit 1: written, some missing. Exit 2: nothing written.
    Pull(PullArgs),
    /// Explain why a metric is red: walk its drivers over the data to the root cause.
    ///
    /// Prints the breadcrumb from the metric down to the most likely root cause,
    /// with each metric's move, owner and how much of the move the path explains;
    /// when its drivers do not explain the move, says the map ends there.
    ///
    /// Exit 0: answered, whatever the status (red, amber, green or unknown).
    /// Exit 2: invalid catalog or question (unknown metric, bad time), or no data for it.
    Why(WhyArgs),
    /// Generate data from a structural causal model, with an injected fault.
    ///
    /// On your own catalog (`--catalog`) it writes a data file for a game day:
    /// would the map have found this? With `--random` it also writes a random
    /// layered map. A `truth.json` records the fault.
    ///
    /// Exit 0: written. Exit 2: invalid catalog, fault or output folder.
    Simulate(SimulateArgs),
    /// The whole story on the example shop: simulate a CPU fault, check the map, ask why revenue is red.
    ///
    /// Exit 0: the story ran. Exit 2: a step could not run.
    Demo(DemoArgs),
    /// Check declared drivers against the data, and suggest missing ones.
    ///
    /// For every declared edge: does the data support it (sign, strength, lag)
    /// or contradict it? And which edges are probably missing, as YAML ready to
    /// paste into the right team's file. Never edits the catalog: `--apply`
    /// writes the suggestions to a separate review file.
    ///
    /// Exit 0: no declared edge is contradicted. Exit 1: the data contradicts
    /// some declared edge. Exit 2: invalid catalog or no data.
    Edges(EdgesArgs),
    /// The two tests with evidence: red episodes and whether the map explained
    /// them, near-duplicates, flat and dead metrics, and explainability coverage.
    ///
    /// Exit 0: every metric is kept. Exit 1: some metric fails a test (to cut,
    /// or unexplained). Exit 2: invalid catalog or no data.
    Audit(AuditArgs),
    /// The weekly metrics review / on-call handoff agenda, in Markdown.
    ///
    /// What went red and whether the map explained it (with the breadcrumb and
    /// owner), unexplained moves that need mapping work, alerts with no
    /// decision behind them, metrics proposed for retirement, edges the data no
    /// longer supports, and the questions the meeting must decide.
    ///
    /// Exit 0: written (whatever it says). Exit 2: invalid catalog or no data.
    Review(AuditArgs),
    /// A one-page report where every red number carries its why: self-contained
    /// HTML (no network needed to open it, printable to PDF) or Markdown.
    ///
    /// Exit 0: written. Exit 2: invalid catalog, no data, or the file exists (use --force).
    Report(ReportArgs),
    /// Serve the map as a live web page and a JSON API (read-only).
    ///
    /// Binds 127.0.0.1:8080 by default. Listening on any other address needs a
    /// bearer token (--token-file, else `$WHYLINE_TOKEN`); whenever a token is
    /// set, the API asks for it.
    /// Data is refreshed in the background; the catalog is reloaded when its
    /// files change, and a broken edit keeps the last good catalog serving.
    ///
    /// With --notify, also receives Alertmanager's webhook on
    /// POST /api/alerts/alertmanager and delivers each alert's why (docs/alerting.md).
    ///
    /// Exit 0: stopped cleanly. Exit 2: invalid catalog, address, token or --notify.
    Serve(ServeArgs),
    /// Write the catalog out for other tools: `export prometheus-rules`.
    #[command(subcommand)]
    Export(ExportKind),
    /// Where to start mapping: the 3 to 5 services that matter most.
    ///
    /// Ranks services (a metric's `service:`, else its owner) by the red
    /// episodes of business metrics whose breadcrumb went through them, then by
    /// the business metrics they drive directly, then by how many business
    /// metrics sit downstream; proposes up to five, with the reasons. Without
    /// readable data it ranks on the map alone and says so.
    ///
    /// Exit 0: ranked. Exit 2: invalid catalog or flags.
    Focus(AuditArgs),
    /// Draft a catalog from what the team already has.
    ///
    /// Reads Prometheus rule files (plain groups or a PrometheusRule), Sloth,
    /// Pyrra and OpenSLO SLO specs, Backstage descriptors, dbt MetricFlow
    /// metric files and Grafana dashboard JSON (each recognised from its
    /// content; folders are read recursively), and with --prometheus a live
    /// server's rules and trace service graph. Writes catalog files under the
    /// output folder, never over an existing file. No decision is invented:
    /// test 1 fails until a person writes one; every item carries `origin`,
    /// and edges that only structure suggests are `proposed: true`.
    ///
    /// Exit 0: everything imported. Exit 1: written, some items skipped (each
    /// listed with its reason). Exit 2: nothing could be read or written.
    Import(ImportArgs),
    /// Print a shell completion script: `whyline completions bash > /etc/bash_completion.d/whyline`.
    ///
    /// zsh: write it as `_whyline` into a folder of `$fpath`; fish: into
    /// `~/.config/fish/completions/whyline.fish`.
    ///
    /// Exit 0: printed. Exit 2: unknown shell.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `whyline man > whyline.1 && man ./whyline.1`.
    ///
    /// Exit 0: printed. Exit 2: the page could not be rendered.
    Man,
    /// Print the JSON Schema of a machine-readable output (`whyline schema why`),
    /// or, without a name, list them with what prints each.
    ///
    /// The same schemas are published in docs/schemas/; the API's are in
    /// `/api/openapi.json`.
    ///
    /// Exit 0: printed. Exit 2: no such output.
    Schema {
        /// The output: check, why, edges, audit, focus, import, pull or truth.
        name: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// Files or folders to import.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Also read this Prometheus' rules (`/api/v1/rules`) and trace service graph.
    #[arg(long, value_name = "URL")]
    pub(crate) prometheus: Option<String>,
    /// The folder to write the draft catalog into (created if needed).
    #[arg(short, long, value_name = "DIR")]
    pub(crate) output: PathBuf,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = ImportFormat::Human)]
    pub(crate) format: ImportFormat,
    /// How long to wait for the Prometheus server in all.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
}

/// `whyline import --format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ImportFormat {
    /// A summary for a person.
    Human,
    /// The CLI contract's JSON.
    Json,
}

/// What `whyline export` writes.
#[derive(Debug, Subcommand)]
pub(crate) enum ExportKind {
    /// A Prometheus rule file (Prometheus, Thanos Ruler, Mimir, vmalert): an
    /// alerting rule for each threshold of each metric with a Prometheus query.
    ///
    /// Each metric's query is recorded as `whyline:value{whyline_metric="ID"}`
    /// and each threshold alerts on that series, labelled `whyline_metric`,
    /// `severity` (critical = red, warning = amber), `owner`, `layer`, and
    /// annotated with its description, decision, audience and runbook. With
    /// --tests, also writes unit tests for `promtool test rules` that prove each
    /// alert fires on a breach.
    ///
    /// Exit 0: written. Exit 2: invalid catalog or flags, or the file cannot be written.
    PrometheusRules(PrometheusRulesArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct PrometheusRulesArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Where to write the rule file; `-` (the default) is stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub(crate) output: PathBuf,
    /// How long a breach must last before an alert fires (the rules' `for:`).
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::cli::hold_flag)]
    pub(crate) hold: Option<whyline_catalog::Duration>,
    /// A label added to every alert, e.g. `--label team=payments` (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub(crate) label: Vec<String>,
    /// Read a metric that has no `source:` as the Prometheus series named like its id.
    #[arg(long)]
    pub(crate) series_from_id: bool,
    /// Also write `promtool test rules` unit tests to this file (needs -o FILE).
    #[arg(long, value_name = "FILE")]
    pub(crate) tests: Option<PathBuf>,
    /// Replace an existing file that whyline did not generate (kept as FILE.bak).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Audience {
    /// Business metrics only.
    Leadership,
    /// Business and service metrics.
    Manager,
    /// Everything.
    Engineering,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One self-contained HTML page.
    Html,
    /// Markdown for a wiki.
    Md,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// Period start (RFC 3339, a date or Unix seconds), instead of --since [default: a file's first point].
    #[arg(long, value_name = "TIME", conflicts_with = "since", value_parser = crate::cli::time_flag)]
    pub(crate) from: Option<i64>,
    /// The period, as a length ending at --to (e.g. 7d); with --data (or a catalog that reads only files) and no --to, the data's last 7d [default: all the data of the files].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::duration_flag)]
    pub(crate) since: Option<i64>,
    /// End of the period [default: now; with --data or only file sources, the data's last point].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) to: Option<i64>,
    /// Who reads it.
    #[arg(long, value_enum, default_value_t = Audience::Leadership)]
    pub(crate) audience: Audience,
    /// The time zone of the title, the chart axes and the incident labels: `UTC`, or an offset such as `+01:00`, `-05:00`.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub(crate) tz: chrono::FixedOffset,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub(crate) format: ReportFormat,
    /// Where to write it; `-` is standard output.
    #[arg(short, long, value_name = "FILE", default_value = "report.html")]
    pub(crate) output: std::path::PathBuf,
    /// Replace an existing file (the old one is kept as FILE.bak).
    #[arg(long)]
    pub(crate) force: bool,
    /// The most to wait for network data sources in all, e.g. 10s, 2m (retries included; each request also stops at its connection's `timeout:`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuditFormat {
    /// Readable text (Markdown).
    Human,
    /// The machine-readable report.
    Json,
    /// Markdown for a wiki.
    Md,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// Period start (RFC 3339, a date or Unix seconds), instead of --since [default: a file's first point].
    #[arg(long, value_name = "TIME", conflicts_with = "since", value_parser = crate::cli::time_flag)]
    pub(crate) from: Option<i64>,
    /// The period, as a length ending at --to (e.g. 90d); with --data (or a catalog that reads only files) and no --to, the data's last 90d [default: all the data of the files].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::duration_flag)]
    pub(crate) since: Option<i64>,
    /// End of the period [default: now; with --data or only file sources, the data's last point].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) to: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Human)]
    pub(crate) format: AuditFormat,
    /// The most to wait for network data sources in all, e.g. 10s, 2m (retries included; each request also stops at its connection's `timeout:`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EdgesFormat {
    /// Tables and advice for people.
    Human,
    /// The machine-readable report.
    Json,
    /// Only the suggested drivers, as YAML snippets.
    Yaml,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EdgesArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// Window start (RFC 3339, a date or Unix seconds) [default: all the data in --data].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) from: Option<i64>,
    /// Window end [default: now].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) to: Option<i64>,
    /// Window as a length ending at --to, e.g. 30d.
    #[arg(long, value_name = "DURATION", conflicts_with = "from", value_parser = crate::cli::duration_flag)]
    pub(crate) since: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EdgesFormat::Human)]
    pub(crate) format: EdgesFormat,
    /// Write the suggestions to this review file (never into the catalog).
    #[arg(long, value_name = "FILE")]
    pub(crate) apply: Option<std::path::PathBuf>,
    /// Replace an existing review file (the old one is kept as FILE.bak).
    #[arg(long)]
    pub(crate) force: bool,
    /// List every declared edge with its verdict, the supported ones too.
    #[arg(long, short)]
    pub(crate) verbose: bool,
    /// The most to wait for network data sources in all, e.g. 10s, 2m (retries included; each request also stops at its connection's `timeout:`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub(crate) struct WhyArgs {
    /// The metric to explain (its id).
    pub(crate) metric: String,
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// The time to explain (RFC 3339, a date or Unix seconds) [default: the latest point].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) at: Option<i64>,
    /// History to read before --at from network sources.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = crate::cli::duration_flag)]
    pub(crate) lookback: i64,
    /// Normal period, FROM..TO, compared with --window (quarter over quarter, week over week).
    #[arg(long, value_name = "FROM..TO", requires = "window", value_parser = crate::cli::window_flag)]
    pub(crate) baseline: Option<whyline_series::TimeRange>,
    /// Period to explain, FROM..TO (with --baseline).
    #[arg(long, value_name = "FROM..TO", requires = "baseline", value_parser = crate::cli::window_flag)]
    pub(crate) window: Option<whyline_series::TimeRange>,
    /// Grid step, e.g. 1m [default: the data's own step].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::duration_flag)]
    pub(crate) step: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub(crate) format: DataFormat,
    /// The most to wait for network data sources in all, e.g. 10s, 2m (retries included; each request also stops at its connection's `timeout:`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Draw a random layered map instead of using the catalog: BUSINESS,SERVICE,SYSTEM metric counts.
    #[arg(long, value_name = "B,S,Y", value_delimiter = ',')]
    pub(crate) random: Vec<usize>,
    /// Fault to inject, METRIC:KIND[:SIZE] with KIND step|ramp|spike and SIZE in
    /// standard units (default 8); repeat for several.
    #[arg(long, value_name = "METRIC:KIND[:SIZE]")]
    pub(crate) fault: Vec<String>,
    /// Points to generate.
    #[arg(long, default_value_t = 1440)]
    pub(crate) points: usize,
    /// Points from the end at which faults start.
    #[arg(long, default_value_t = 60)]
    pub(crate) fault_age: usize,
    /// Time of the first point (RFC 3339, a date or Unix seconds).
    #[arg(long, value_name = "TIME", default_value = "2026-03-02T00:00:00Z", value_parser = crate::cli::time_flag)]
    pub(crate) start: i64,
    /// Seconds between points.
    #[arg(long, default_value_t = 60)]
    pub(crate) step_seconds: i64,
    /// Random seed (same seed, same data).
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
    /// Output folder (created): data.csv, truth.json, and metrics/ with --random.
    #[arg(short, long, value_name = "DIR")]
    pub(crate) output: std::path::PathBuf,
    /// Replace files that exist (old ones kept as *.bak).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// A map to use instead of the example shop built into the binary.
    #[arg(long, value_name = "PATH")]
    pub(crate) catalog: Option<std::path::PathBuf>,
    /// Where the demo writes: the example map (shop/metrics/) and the simulated data.
    #[arg(long, default_value = "target/demo")]
    pub(crate) output: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DataFormat {
    /// A summary for people.
    Human,
    /// The machine-readable summary.
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PullArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Window start (RFC 3339, a date or Unix seconds) [default: a file's first point; network sources need it or --since].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) from: Option<i64>,
    /// Window end (RFC 3339, a date or Unix seconds) [default: now].
    #[arg(long, value_name = "TIME", value_parser = crate::cli::time_flag)]
    pub(crate) to: Option<i64>,
    /// Window as a length ending at --to, e.g. 6h, 7d.
    #[arg(long, value_name = "DURATION", conflicts_with = "from", value_parser = crate::cli::duration_flag)]
    pub(crate) since: Option<i64>,
    /// Grid step, e.g. 15s, 1m [default: the data's own step, or one that gives about 1,440 points].
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::duration_flag)]
    pub(crate) step: Option<i64>,
    /// The Parquet file to write.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: std::path::PathBuf,
    /// Replace an existing output file (the old one is kept as FILE.bak).
    #[arg(long)]
    pub(crate) force: bool,
    /// Only these metrics (comma-separated ids) [default: every metric in the catalog].
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub(crate) metrics: Vec<String>,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// Network requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = DataFormat::Human)]
    pub(crate) format: DataFormat,
    /// The most to wait for network data sources in all, e.g. 10s, 2m (retries included; each request also stops at its connection's `timeout:`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::progress::parse_timeout)]
    pub(crate) timeout: std::time::Duration,
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

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) catalog: CatalogArg,
    /// Read every metric from this CSV or Parquet file instead of its `source:`.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<std::path::PathBuf>,
    /// Address to listen on; anything but loopback requires a token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// File holding the bearer token (takes precedence over $WHYLINE_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<std::path::PathBuf>,
    /// How often to re-read the data.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::progress::parse_timeout)]
    pub(crate) refresh: std::time::Duration,
    /// History to read from network sources at each refresh.
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = crate::cli::duration_flag)]
    pub(crate) lookback: i64,
    /// Longest a request may take before it is answered with 503.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::progress::parse_timeout)]
    pub(crate) request_timeout: std::time::Duration,
    /// Longest one request to a data source may take.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::progress::parse_timeout)]
    pub(crate) source_timeout: std::time::Duration,
    /// Requests in flight at once towards network sources.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Deliver the why of each alert Alertmanager posts to
    /// /api/alerts/alertmanager: KIND is slack, pagerduty or webhook; URL may be
    /// `env:VARIABLE` (repeatable). PagerDuty's routing key comes from
    /// $WHYLINE_PAGERDUTY_ROUTING_KEY. The route always needs the token.
    #[arg(long, value_name = "KIND=URL")]
    pub(crate) notify: Vec<String>,
    /// A YAML file with `notify:` (a list, as --notify), `state:` and `page_url:`; flags add to it and override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Where received alerts wait until delivered [default: $XDG_STATE_HOME/whyline, else ~/.local/state/whyline]
    #[arg(long, value_name = "DIR")]
    pub(crate) state: Option<std::path::PathBuf>,
    /// Take the status of every metric exported by `whyline export prometheus-rules`
    /// from the engine that evaluates those rules: `ALERTS` and `whyline:value` in
    /// two queries per connection per refresh, instead of one per metric.
    #[arg(long)]
    pub(crate) status_from_alerts: bool,
    /// The page's address as people open it, for the links in alert messages [default: http://LISTEN/]
    #[arg(long, value_name = "URL")]
    pub(crate) page_url: Option<String>,
}

/// Reads `--tz`: `UTC` (or `Z`), or a fixed offset `+HH:MM`, `-HH`, `+HHMM`.
pub(crate) fn parse_zone(text: &str) -> Result<chrono::FixedOffset, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Ok(chrono::FixedOffset::east_opt(0).expect("zero offset"));
    }
    let refused = || {
        format!(
            "`{text}` is not a time zone whyline reads: write `UTC` or an offset from UTC such as `+01:00` or `-05:00` (named zones like Europe/Berlin are not read; give the offset in force for the period)"
        )
    };
    let (sign, rest) = match t.chars().next() {
        Some('+') => (1, &t[1..]),
        Some('-') => (-1, &t[1..]),
        _ => return Err(refused()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return Err(refused());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| refused())?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| refused())?
    } else {
        0
    };
    if hours > 14 || minutes > 59 {
        return Err(refused());
    }
    chrono::FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(refused)
}

/// A time flag (`--from`, `--to`, `--at`, `--start`), parsed at the flag in
/// the one time grammar ([`whyline_series::parse_time`]): Unix ms.
pub(crate) fn time_flag(text: &str) -> Result<i64, String> {
    whyline_series::parse_time(text).map_err(|e| e.to_string())
}

/// A length flag (`--since`, `--lookback`, `--step`), in the catalog's
/// duration grammar (`lag: 1h30m` and `--since 1h30m` alike), more than zero: ms.
pub(crate) fn duration_flag(text: &str) -> Result<i64, String> {
    whyline_series::parse_duration_ms(text).map_err(|e| e.to_string())
}

/// A window flag (`--baseline`, `--window`): `FROM..TO`, a bare end date its whole day.
pub(crate) fn window_flag(text: &str) -> Result<whyline_series::TimeRange, String> {
    whyline_series::parse_window(text).map_err(|e| e.to_string())
}

/// `--for`: the catalog's duration grammar, zero allowed (an alert that fires at once).
pub(crate) fn hold_flag(text: &str) -> Result<whyline_catalog::Duration, String> {
    whyline_catalog::Duration::parse(text).map_err(|e| format!("{e}; write e.g. 5m"))
}
