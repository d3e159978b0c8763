//! The typed catalog: what a valid set of YAML files means.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::{Location, SourceFile};
use crate::duration::Duration;

/// Where metrics sit in the chain from business outcome to raw signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Outcomes leadership cares about (revenue, conversion).
    Business,
    /// Service behaviour, typically SLIs (latency, error rate).
    Service,
    /// Raw system signals (CPU, memory, pool saturation, deploys).
    System,
}

impl Layer {
    /// All layers, top to bottom.
    pub const ALL: [Layer; 3] = [Layer::Business, Layer::Service, Layer::System];

    /// The spelling used in YAML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Business => "business",
            Layer::Service => "service",
            Layer::System => "system",
        }
    }

    /// Parses the YAML spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Layer::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sign of a causal edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Driver up => metric up.
    Increases,
    /// Driver up => metric down.
    Decreases,
}

impl Effect {
    /// The spelling used in YAML and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Increases => "increases",
            Effect::Decreases => "decreases",
        }
    }

    /// `+1.0` or `-1.0`.
    pub fn sign(self) -> f64 {
        match self {
            Effect::Increases => 1.0,
            Effect::Decreases => -1.0,
        }
    }
}

/// Which direction of movement is good for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Good {
    /// Higher is better (revenue).
    Higher,
    /// Lower is better (latency).
    Lower,
}

impl Good {
    /// The spelling used in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Good::Higher => "higher",
            Good::Lower => "lower",
        }
    }
}

/// How points inside one time bucket combine when series are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregate {
    /// Mean: gauges, ratios, latencies (the default).
    #[default]
    Mean,
    /// Last point: cumulative counters, states.
    Last,
    /// Sum: counts per interval (deploys, errors).
    Sum,
    /// Maximum: peaks a mean would hide.
    Max,
}

impl Aggregate {
    /// Every spelling, for help texts.
    pub const NAMES: [&'static str; 4] = ["mean", "last", "sum", "max"];

    /// Parses the YAML spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mean" => Some(Aggregate::Mean),
            "last" => Some(Aggregate::Last),
            "sum" => Some(Aggregate::Sum),
            "max" => Some(Aggregate::Max),
            _ => None,
        }
    }
}

/// One threshold: the metric is in this state when below or above `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// In state when the value is below the bound.
    Below(f64),
    /// In state when the value is above the bound.
    Above(f64),
}

/// Fixed red/amber thresholds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    /// The red bound.
    pub red: Option<Bound>,
    /// The amber bound (less strict than red).
    pub amber: Option<Bound>,
}

/// Where a metric's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// A column of a CSV file (path resolved against the catalog file).
    Csv {
        /// The file.
        path: PathBuf,
        /// The column; defaults to the metric id.
        column: String,
    },
    /// A column of a Parquet file.
    Parquet {
        /// The file.
        path: PathBuf,
        /// The column; defaults to the metric id.
        column: String,
    },
    /// A PromQL expression on a named connection.
    Prometheus {
        /// Connection name.
        connection: String,
        /// The PromQL query; it must return one series.
        query: String,
    },
    /// A SQL query returning (timestamp, value) on a named connection.
    Sql {
        /// Connection name.
        connection: String,
        /// The query, with `$from`, `$to`, `$step` as bound parameters.
        query: String,
    },
}

impl SourceSpec {
    /// The connection this source needs, if any.
    pub fn connection(&self) -> Option<&str> {
        match self {
            SourceSpec::Prometheus { connection, .. } | SourceSpec::Sql { connection, .. } => {
                Some(connection)
            }
            SourceSpec::Csv { .. } | SourceSpec::Parquet { .. } => None,
        }
    }
}

/// A named data connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// Name, unique in the catalog.
    pub name: String,
    /// What kind of server and how to reach it.
    pub kind: ConnectionKind,
    /// Where it was defined.
    pub location: Location,
}

/// Connection details per kind; secrets are only ever names of environment variables.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionKind {
    /// Prometheus HTTP API, or any engine that speaks it (Thanos, Mimir, VictoriaMetrics).
    Prometheus {
        /// Base URL, including any path prefix.
        url: String,
        /// Env var holding a bearer token.
        bearer_env: Option<String>,
        /// Env var holding the basic-auth user name.
        username_env: Option<String>,
        /// Env var holding the basic-auth password.
        password_env: Option<String>,
        /// Tenant sent as `X-Scope-OrgID` (Mimir, Cortex, Thanos receive).
        tenant: Option<String>,
        /// Per-request time-out.
        timeout: Option<Duration>,
    },
    /// PostgreSQL; the URL (which holds the password) comes from an env var.
    Postgres {
        /// Env var holding the connection URL.
        url_env: String,
    },
    /// An SQLite file.
    Sqlite {
        /// The database file, resolved against the catalog file.
        path: PathBuf,
    },
}

impl ConnectionKind {
    /// The YAML `kind:` spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectionKind::Prometheus { .. } => "prometheus",
            ConnectionKind::Postgres { .. } => "postgres",
            ConnectionKind::Sqlite { .. } => "sqlite",
        }
    }
}

/// A causal edge into a metric: `metric` drives the metric that lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Driver {
    /// The driving metric's id.
    pub metric: String,
    /// Sign of the effect.
    pub effect: Effect,
    /// How long the effect takes to show; zero when absent.
    pub lag: Duration,
    /// The mechanism, in words.
    pub why: Option<String>,
    /// Where the edge came from (`whyline import` writes it: file:line, URL).
    pub origin: Option<String>,
    /// A hypothesis (from a call graph, a dependency list, the data) that
    /// does not count for test 2 until a person removes the mark.
    pub proposed: bool,
    /// Where the driver's `metric:` value is written.
    pub location: Location,
}

/// One metric of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Unique id.
    pub id: String,
    /// Display name; defaults to the id.
    pub name: String,
    /// What it measures.
    pub description: Option<String>,
    /// Business, service or system.
    pub layer: Layer,
    /// Unit for display.
    pub unit: Option<String>,
    /// Which direction is good; `None` = both directions matter.
    pub good: Option<Good>,
    /// How to combine points per time bucket.
    pub aggregate: Aggregate,
    /// Who must explain it when it turns red (after file defaults).
    pub owner: Option<String>,
    /// Service it belongs to (after file defaults).
    pub service: Option<String>,
    /// Test 1: the decision it can change.
    pub decision: Option<String>,
    /// Test 1: for whom.
    pub audience: Vec<String>,
    /// Fixed thresholds, if any.
    pub thresholds: Option<Thresholds>,
    /// Where its data lives; `None` = the column named after the id in `--data`.
    pub source: Option<SourceSpec>,
    /// Where the source's connection name (or the source) is written.
    pub source_location: Option<Location>,
    /// Edges into this metric.
    pub drivers: Vec<Driver>,
    /// The metric counting the events each value is a share or mean of (the
    /// requests behind an availability), and where that is written: a move
    /// over many events weighs more than the same move over few.
    pub volume: Option<(String, Location)>,
    /// Where on-call reads what to do when it turns red (a URL), linked from alerts.
    pub runbook: Option<String>,
    /// Where the metric came from (`whyline import` writes it: file:line, URL).
    pub origin: Option<String>,
    /// Where the metric's `id:` value is written.
    pub location: Location,
}

impl Metric {
    /// True when test 1 passes on the metric's own fields.
    pub fn has_decision(&self) -> bool {
        self.decision
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty())
            && !self.audience.is_empty()
    }
}

/// A whole catalog: every file, metric and connection.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The files, indexed by [`crate::FileId`].
    pub files: Vec<SourceFile>,
    /// Metrics in file order, then document order.
    pub metrics: Vec<Metric>,
    /// Connections from every file.
    pub connections: Vec<Connection>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// Builds a catalog and its id index; the first metric wins on duplicate ids.
    pub fn new(files: Vec<SourceFile>, metrics: Vec<Metric>, connections: Vec<Connection>) -> Self {
        let mut index = HashMap::with_capacity(metrics.len());
        for (i, m) in metrics.iter().enumerate() {
            index.entry(m.id.clone()).or_insert(i);
        }
        Catalog {
            files,
            metrics,
            connections,
            index,
        }
    }

    /// The position of a metric in [`Catalog::metrics`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Looks a metric up by id.
    pub fn metric(&self, id: &str) -> Option<&Metric> {
        self.index_of(id).map(|i| &self.metrics[i])
    }

    /// Looks a connection up by name.
    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// The file path of a location, for display.
    pub fn path_of(&self, location: &Location) -> Option<&std::path::Path> {
        self.files.get(location.file).map(|f| f.path.as_path())
    }
}
