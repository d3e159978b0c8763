//! Data adapters: read each metric from where it lives (CSV, Parquet,
//! Prometheus-compatible servers, PostgreSQL, SQLite), repair and align it on
//! one grid, and say precisely what could not be read.
//!
//! One failing source never stops the others: [`fetch`] always returns a
//! [`DataSet`] whose `missing` list names each metric it could not read, the
//! source it tried and why.
//!
//! Architecture invariant: this is the only crate that does data I/O. It holds
//! no analysis; it hands clean, aligned series to the pure core.

pub mod checksum;
pub mod error;
mod files;
pub mod prometheus;
pub mod sql;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use whyline_catalog::{Aggregate, Catalog, ConnectionKind, SourceSpec};
use whyline_series::{
    Aggregation, Aligned, Grid, Repairs, Series, TimeRange, align, align_sorted, format_time,
    step_for,
};

pub use error::SourceError;

/// The most points one aligned series may have (about 23 days of 1 s data).
pub const MAX_GRID_POINTS: usize = 2_000_000;

/// How long a read waits for its network sources in all unless told otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// How much data to read, from where, and how patiently.
#[derive(Debug, Clone)]
pub struct Options {
    /// The window; `None` reads everything a file has (network sources need one).
    pub range: Option<TimeRange>,
    /// Grid step in ms; `None` = the data's own step (files) or one chosen from the window.
    pub step_ms: Option<i64>,
    /// A CSV or Parquet file that overrides every metric's `source:`.
    pub data_file: Option<PathBuf>,
    /// Network requests in flight at once.
    pub concurrency: usize,
    /// Attempts per HTTP request.
    pub attempts: u32,
    /// Time-out per request when the connection sets none.
    pub timeout: Duration,
    /// The most a read waits for its network sources in all: queued requests,
    /// retries and back-off included (`--timeout`).
    pub deadline: Duration,
    /// First retry delay; doubles each retry.
    pub backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            range: None,
            step_ms: None,
            data_file: None,
            concurrency: 4,
            attempts: 3,
            timeout: Duration::from_secs(30),
            deadline: DEFAULT_DEADLINE,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Told about progress on long reads (a progress bar, or nothing).
pub trait Progress: Sync {
    /// Reading starts; `total` metrics to go.
    fn start(&self, total: usize);
    /// One metric is done.
    fn done(&self, metric: &str);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: usize) {}
    fn done(&self, _: &str) {}
}

/// A metric that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// The metric id.
    pub metric: String,
    /// The source tried, e.g. "prometheus `main`" or "`data/shop.csv`".
    pub source: String,
    /// Why it failed.
    pub error: SourceError,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` from {}: {}", self.metric, self.source, self.error)
    }
}

/// The series read for a question, aligned on one grid, and what is missing.
#[derive(Debug, Clone, Default)]
pub struct DataSet {
    /// The common grid; `None` when nothing could be read.
    pub grid: Option<Grid>,
    /// Aligned series by metric id.
    pub series: BTreeMap<String, Aligned>,
    /// What had to be repaired, by metric id (only non-clean entries).
    pub repairs: BTreeMap<String, Repairs>,
    /// Metrics that could not be read.
    pub missing: Vec<Missing>,
}

impl DataSet {
    /// The aligned series of a metric.
    pub fn get(&self, id: &str) -> Option<&Aligned> {
        self.series.get(id)
    }
}

/// Where one metric's data comes from, resolved against the catalog.
enum Plan {
    File {
        path: PathBuf,
        column: String,
    },
    Prometheus {
        connection: String,
        query: String,
    },
    Postgres {
        connection: String,
        query: String,
    },
    Sqlite {
        connection: String,
        path: PathBuf,
        query: String,
    },
}

impl Plan {
    fn describe(&self) -> String {
        match self {
            Plan::File { path, .. } => format!("`{}`", path.display()),
            Plan::Prometheus { connection, .. } => format!("prometheus `{connection}`"),
            Plan::Postgres { connection, .. } => format!("postgres `{connection}`"),
            Plan::Sqlite { connection, .. } => format!("sqlite `{connection}`"),
        }
    }

    /// The catalog connection the plan reads from (none for a file).
    fn connection(&self) -> Option<&str> {
        match self {
            Plan::File { .. } => None,
            Plan::Prometheus { connection, .. }
            | Plan::Postgres { connection, .. }
            | Plan::Sqlite { connection, .. } => Some(connection),
        }
    }
}

/// Points as a source returned them.
enum Points {
    Shared(files::Raw),
    Owned(Vec<(i64, f64)>),
}

/// (metric, source description, points or error) of one network read.
type NetworkResult = (String, String, Result<Vec<(i64, f64)>, SourceError>);

/// One PostgreSQL client per connection name, or why it could not connect.
type PostgresClients = HashMap<String, Result<Arc<tokio_postgres::Client>, SourceError>>;

/// Joins an error and its causes.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn aggregation(a: Aggregate) -> Aggregation {
    match a {
        Aggregate::Mean => Aggregation::Mean,
        Aggregate::Last => Aggregation::Last,
        Aggregate::Sum => Aggregation::Sum,
        Aggregate::Max => Aggregation::Max,
    }
}

/// Reads the metrics `ids` of `catalog`; never fails as a whole.
pub fn fetch(
    catalog: &Catalog,
    ids: &[String],
    options: &Options,
    progress: &dyn Progress,
) -> DataSet {
    progress.start(ids.len());
    let mut missing = Vec::new();
    let mut plans: Vec<(String, Plan)> = Vec::new();
    for id in ids {
        let Some(plan) = plan_for(catalog, id, options) else {
            missing.push(Missing {
                metric: id.clone(),
                source: "no source".to_string(),
                error: SourceError::NoSource,
            });
            progress.done(id);
            continue;
        };
        plans.push((id.clone(), plan));
    }

    let mut obtained: Vec<(String, Points)> = Vec::new();
    read_files(&plans, &mut obtained, &mut missing, progress);
    let network_step = options
        .step_ms
        .or(options.range.map(|r| step_for(r, 1_440)));
    read_network(
        catalog,
        &plans,
        options,
        network_step.unwrap_or(60_000),
        &mut obtained,
        &mut missing,
        progress,
    );

    assemble(catalog, obtained, missing, options, network_step)
}

/// Runs instant queries on the Prometheus connection `connection` (one
/// client, in order) and returns, for each, every series of its result as
/// (labels, value). Statuses at scale are read this way: one query for all
/// alerts, not one per metric.
pub fn instant(
    catalog: &Catalog,
    connection: &str,
    queries: &[&str],
    options: &Options,
) -> Result<Vec<Vec<prometheus::Sample>>, SourceError> {
    let kind = catalog
        .connection(connection)
        .map(|c| c.kind.clone())
        .ok_or(SourceError::NoSource)?;
    let endpoint = endpoint(&kind, options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceError::Unreachable {
            url: endpoint.url.clone(),
            message: format!("cannot start the I/O runtime: {e}"),
        })?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| SourceError::Unreachable {
                url: endpoint.url.clone(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        let mut out = Vec::with_capacity(queries.len());
        for query in queries {
            out.push(prometheus::query_instant(&client, &endpoint, query).await?);
        }
        Ok(out)
    })
}

/// Where `id` is read from: `--data` first, then the metric's `source:`.
fn plan_for(catalog: &Catalog, id: &str, options: &Options) -> Option<Plan> {
    Some(
        match (
            &options.data_file,
            catalog.metric(id).and_then(|m| m.source.as_ref()),
        ) {
            (Some(path), _) => Plan::File {
                path: path.clone(),
                column: id.to_string(),
            },
            (
                None,
                Some(SourceSpec::Csv { path, column } | SourceSpec::Parquet { path, column }),
            ) => Plan::File {
                path: path.clone(),
                column: column.clone(),
            },
            (None, Some(SourceSpec::Prometheus { connection, query })) => Plan::Prometheus {
                connection: connection.clone(),
                query: query.clone(),
            },
            (None, Some(SourceSpec::Sql { connection, query })) => {
                match catalog.connection(connection).map(|c| &c.kind) {
                    Some(ConnectionKind::Sqlite { path }) => Plan::Sqlite {
                        connection: connection.clone(),
                        path: path.clone(),
                        query: query.clone(),
                    },
                    _ => Plan::Postgres {
                        connection: connection.clone(),
                        query: query.clone(),
                    },
                }
            }
            (None, None) => return None,
        },
    )
}

fn read_files(
    plans: &[(String, Plan)],
    obtained: &mut Vec<(String, Points)>,
    missing: &mut Vec<Missing>,
    progress: &dyn Progress,
) {
    let mut by_file: BTreeMap<&PathBuf, Vec<(&String, &String)>> = BTreeMap::new();
    for (id, plan) in plans {
        if let Plan::File { path, column } = plan {
            by_file.entry(path).or_default().push((id, column));
        }
    }
    for (path, metrics) in by_file {
        let mut columns: Vec<String> = metrics.iter().map(|(_, c)| (*c).clone()).collect();
        columns.sort();
        columns.dedup();
        let mut results = files::read(path, &columns);
        let mut uses: HashMap<&String, usize> = HashMap::new();
        for (_, column) in &metrics {
            *uses.entry(column).or_default() += 1;
        }
        for (id, column) in metrics {
            // Two metrics may share a column: clone for all but the last user,
            // so the common case moves the data instead of copying it.
            let remaining = uses.get_mut(column).map_or(0, |n| {
                *n -= 1;
                *n
            });
            let result = if remaining == 0 {
                results.remove(column)
            } else {
                results.get(column).cloned()
            };
            match result {
                Some(Ok(raw)) => obtained.push((id.clone(), Points::Shared(raw))),
                Some(Err(error)) => missing.push(Missing {
                    metric: id.clone(),
                    source: format!("`{}`", path.display()),
                    error,
                }),
                None => {}
            }
            progress.done(id);
        }
    }
}

fn env(name: &str) -> Result<String, SourceError> {
    std::env::var(name).map_err(|_| SourceError::MissingEnv(name.to_string()))
}

fn endpoint(kind: &ConnectionKind, options: &Options) -> Result<prometheus::Endpoint, SourceError> {
    let ConnectionKind::Prometheus {
        url,
        bearer_env,
        username_env,
        password_env,
        tenant,
        timeout,
    } = kind
    else {
        return Err(SourceError::Database {
            connection: String::new(),
            message: "this connection is not a Prometheus server".to_string(),
        });
    };
    let bearer = bearer_env.as_deref().map(env).transpose()?;
    let basic = match (username_env, password_env) {
        (Some(u), Some(p)) => Some((env(u)?, env(p)?)),
        (Some(u), None) => Some((env(u)?, String::new())),
        _ => None,
    };
    Ok(prometheus::Endpoint {
        url: url.clone(),
        bearer,
        basic,
        tenant: tenant.clone(),
        // One request never outlasts the whole read's budget.
        timeout: timeout
            .map_or(options.timeout, |t| Duration::from_millis(t.as_millis()))
            .min(options.deadline),
        attempts: options.attempts,
        backoff: options.backoff,
    })
}

#[allow(clippy::too_many_arguments)]
fn read_network(
    catalog: &Catalog,
    plans: &[(String, Plan)],
    options: &Options,
    step_ms: i64,
    obtained: &mut Vec<(String, Points)>,
    missing: &mut Vec<Missing>,
    progress: &dyn Progress,
) {
    let network: Vec<&(String, Plan)> = plans
        .iter()
        .filter(|(_, p)| !matches!(p, Plan::File { .. }))
        .collect();
    if network.is_empty() {
        return;
    }
    let Some(range) = options.range else {
        for (id, plan) in network {
            missing.push(Missing {
                metric: id.clone(),
                source: plan.describe(),
                error: SourceError::NoWindow,
            });
            progress.done(id);
        }
        return;
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            for (id, plan) in network {
                missing.push(Missing {
                    metric: id.clone(),
                    source: plan.describe(),
                    error: SourceError::Unreachable {
                        url: String::new(),
                        message: format!("cannot start the I/O runtime: {e}"),
                    },
                });
            }
            return;
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let results: Vec<NetworkResult> = runtime.block_on(async {
        let client = reqwest::Client::builder().build();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
        let postgres: Arc<tokio::sync::Mutex<PostgresClients>> = Arc::default();
        // A connection that refused or could not be resolved is not asked again
        // in this read: its other metrics get the same error at once.
        let unreachable: Arc<std::sync::Mutex<HashMap<String, SourceError>>> = Arc::default();
        let give_up_at = tokio::time::Instant::now() + options.deadline;
        let mut tasks = Vec::new();
        for (id, plan) in network {
            let semaphore = Arc::clone(&semaphore);
            let postgres = Arc::clone(&postgres);
            let client = client.as_ref().ok().cloned();
            let source = plan.describe();
            let connection_kind = match plan {
                Plan::Prometheus { connection, .. } | Plan::Postgres { connection, .. } => {
                    catalog.connection(connection).map(|c| c.kind.clone())
                }
                _ => None,
            };
            let plan = match plan {
                Plan::Prometheus { connection, query } => Plan::Prometheus {
                    connection: connection.clone(),
                    query: query.clone(),
                },
                Plan::Postgres { connection, query } => Plan::Postgres {
                    connection: connection.clone(),
                    query: query.clone(),
                },
                Plan::Sqlite {
                    connection,
                    path,
                    query,
                } => Plan::Sqlite {
                    connection: connection.clone(),
                    path: path.clone(),
                    query: query.clone(),
                },
                Plan::File { .. } => continue,
            };
            let options = options.clone();
            let id = id.clone();
            let unreachable = Arc::clone(&unreachable);
            tasks.push(tokio::spawn(async move {
                let connection = plan.connection().map(str::to_string);
                let work = async {
                    let _permit = semaphore.acquire_owned().await;
                    let known_down = connection.as_ref().and_then(|c| {
                        unreachable
                            .lock()
                            .ok()
                            .and_then(|down| down.get(c).cloned())
                    });
                    if let Some(error) = known_down {
                        return Err(error);
                    }
                    let result = match plan {
                        Plan::Prometheus { query, .. } => match (
                            client,
                            connection_kind.as_ref().map(|k| endpoint(k, &options)),
                        ) {
                            (Some(client), Some(Ok(endpoint))) => {
                                prometheus::query_range(&client, &endpoint, &query, range, step_ms)
                                    .await
                            }
                            (_, Some(Err(e))) => Err(e),
                            (None, _) => Err(SourceError::Unreachable {
                                url: String::new(),
                                message: "cannot build an HTTP client".to_string(),
                            }),
                            (_, None) => Err(SourceError::NoSource),
                        },
                        Plan::Postgres { connection, query } => {
                            let pg = {
                                let mut cache = postgres.lock().await;
                                if !cache.contains_key(&connection) {
                                    let connected =
                                        connect_postgres(&connection, connection_kind.as_ref())
                                            .await;
                                    cache.insert(connection.clone(), connected);
                                }
                                cache.get(&connection).cloned()
                            };
                            match pg {
                                Some(Ok(pg)) => {
                                    sql::query_postgres(&pg, &connection, &query, range, step_ms)
                                        .await
                                }
                                Some(Err(e)) => Err(e),
                                None => Err(SourceError::NoSource),
                            }
                        }
                        Plan::Sqlite {
                            connection,
                            path,
                            query,
                        } => tokio::task::spawn_blocking(move || {
                            sql::query_sqlite(&path, &connection, &query, range, step_ms)
                        })
                        .await
                        .unwrap_or_else(|e| {
                            Err(SourceError::Database {
                                connection: String::new(),
                                message: format!("the query task failed: {e}"),
                            })
                        }),
                        Plan::File { .. } => Err(SourceError::NoSource),
                    };
                    if let (Err(error @ SourceError::Unreachable { .. }), Some(c)) =
                        (&result, &connection)
                    {
                        if let Ok(mut down) = unreachable.lock() {
                            down.entry(c.clone()).or_insert_with(|| error.clone());
                        }
                    }
                    result
                };
                let result = tokio::time::timeout_at(give_up_at, work)
                    .await
                    .unwrap_or(Err(SourceError::GaveUp {
                        seconds: options.deadline.as_secs_f64(),
                    }));
                (id, source, result)
            }));
        }
        let mut out = Vec::new();
        for task in tasks {
            if let Ok(done) = task.await {
                out.push(done);
            }
        }
        out
    });
    // A blocking SQLite query past the deadline must not hold the command.
    runtime.shutdown_background();
    for (id, source, result) in results {
        match result {
            Ok(points) => obtained.push((id.clone(), Points::Owned(points))),
            Err(error) => missing.push(Missing {
                metric: id.clone(),
                source,
                error,
            }),
        }
        progress.done(&id);
    }
}

async fn connect_postgres(
    connection: &str,
    kind: Option<&ConnectionKind>,
) -> Result<Arc<tokio_postgres::Client>, SourceError> {
    let Some(ConnectionKind::Postgres { url_env }) = kind else {
        return Err(SourceError::Database {
            connection: connection.to_string(),
            message: "not a postgres connection".to_string(),
        });
    };
    let url = env(url_env)?;
    // TLS as the URL's `sslmode` asks (prefer by default), verified against
    // the system's certificate store.
    use rustls_platform_verifier::ConfigVerifierExt as _;
    let tls =
        rustls::ClientConfig::with_platform_verifier().map_err(|e| SourceError::Database {
            connection: connection.to_string(),
            message: format!("cannot load the system's TLS certificates: {e}"),
        })?;
    let connect = tokio_postgres::connect(&url, tokio_postgres_rustls::MakeRustlsConnect::new(tls));
    let (client, driver) = match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            return Err(SourceError::Database {
                connection: connection.to_string(),
                message: format!("cannot connect: {}", error_chain(&e)),
            });
        }
        Err(_) => {
            return Err(SourceError::Database {
                connection: connection.to_string(),
                message: "cannot connect: no answer within 10 s".to_string(),
            });
        }
    };
    tokio::spawn(async move {
        let _ = driver.await;
    });
    Ok(Arc::new(client))
}

/// Builds the common grid and aligns every series on it.
fn assemble(
    catalog: &Catalog,
    obtained: Vec<(String, Points)>,
    mut missing: Vec<Missing>,
    options: &Options,
    network_step: Option<i64>,
) -> DataSet {
    let mut span: Option<TimeRange> = None;
    let mut file_step: Option<i64> = None;
    let mut stepped = HashMap::new();
    for (_, points) in &obtained {
        let (first, last, step) = match points {
            Points::Shared(raw) => {
                // A wide file's metrics share one timestamp vector: look at it once.
                let t = &raw.timestamps;
                *stepped.entry(Arc::as_ptr(t) as usize).or_insert_with(|| {
                    (
                        t.iter().min().copied(),
                        t.iter().max().copied(),
                        typical_step(t),
                    )
                })
            }
            // A query's rows come at the data's own spacing (SQL) or the
            // asked step (Prometheus): either way, that spacing is the grid's.
            Points::Owned(p) => {
                let t: Vec<i64> = p.iter().map(|x| x.0).collect();
                (
                    t.iter().min().copied(),
                    t.iter().max().copied(),
                    typical_step(&t),
                )
            }
        };
        if let (Some(first), Some(last)) = (first, last) {
            span = Some(match span {
                None => TimeRange {
                    start: first,
                    end: last + 1,
                },
                Some(s) => TimeRange {
                    start: s.start.min(first),
                    end: s.end.max(last + 1),
                },
            });
        }
        if let Some(step) = step {
            file_step = Some(file_step.map_or(step, |s: i64| s.min(step)));
        }
    }
    let Some(range) = options.range.or(span) else {
        return DataSet {
            missing,
            ..DataSet::default()
        };
    };
    let step = options
        .step_ms
        .or(file_step)
        .or(network_step)
        .unwrap_or(60_000)
        .max(1);
    // Anchored at the window's start: exactly the times a Prometheus range
    // query returns, and a regular file's own rows, which then need no copy.
    let grid = Grid::anchored(range, step);
    if grid.len > MAX_GRID_POINTS {
        // One stray timestamp (1970 in a 2026 file) or a tiny --step would
        // otherwise ask for gigabytes per metric: say so instead.
        let error = SourceError::TooManyPoints {
            from: format_time(range.start),
            to: format_time(range.end),
            step_ms: step,
            points: grid.len,
        };
        for (id, _) in obtained {
            missing.push(Missing {
                metric: id.clone(),
                source: describe_source(catalog, &id, options),
                error: error.clone(),
            });
        }
        missing.sort_by(|a, b| a.metric.cmp(&b.metric));
        return DataSet {
            missing,
            ..DataSet::default()
        };
    }
    let mut series = BTreeMap::new();
    let mut repairs_by_metric = BTreeMap::new();
    // Per shared timestamp vector: (already on the grid, strictly increasing).
    let mut shape_cache: HashMap<usize, (bool, bool)> = HashMap::new();
    for (id, points) in obtained {
        let how = catalog
            .metric(&id)
            .map_or(Aggregation::Mean, |m| aggregation(m.aggregate));
        let (aligned, repairs) = match points {
            Points::Shared(raw) => {
                let key = Arc::as_ptr(&raw.timestamps) as usize;
                let (identity, sorted) = *shape_cache.entry(key).or_insert_with(|| {
                    let t = &raw.timestamps;
                    let identity = t.len() == grid.len
                        && t.iter().enumerate().all(|(i, &x)| x == grid.time(i));
                    (identity, identity || t.windows(2).all(|w| w[0] < w[1]))
                });
                let non_finite = raw.non_finite;
                let unreadable = raw.unreadable;
                let first_unreadable = raw.first_unreadable.as_ref().map(ToString::to_string);
                let (aligned, mut repairs) = if identity {
                    // Regular data already on the grid: no copy at all.
                    (
                        Aligned {
                            grid,
                            values: raw.values,
                        },
                        Repairs::default(),
                    )
                } else if sorted {
                    (
                        align_sorted(&raw.timestamps, &raw.values, &grid, how),
                        Repairs::default(),
                    )
                } else {
                    let points: Vec<(i64, f64)> = raw
                        .timestamps
                        .iter()
                        .copied()
                        .zip(raw.values)
                        .filter(|(_, v)| !v.is_nan())
                        .collect();
                    let (s, r) = Series::from_points(points);
                    (align(&s, &grid, how), r)
                };
                repairs.non_finite += non_finite;
                repairs.unreadable += unreadable;
                repairs.first_unreadable = first_unreadable;
                (aligned, repairs)
            }
            Points::Owned(points) => {
                let (s, r) = Series::from_points(points);
                (align(&s, &grid, how), r)
            }
        };
        if aligned.values.iter().all(|v| v.is_nan()) {
            let (from, to) = (
                format_time(grid.range().start),
                format_time(grid.range().end),
            );
            // Values that were there but not numbers are not "no data".
            let error = if repairs.non_finite + repairs.unreadable > 0 {
                SourceError::NoNumbers {
                    from,
                    to,
                    non_finite: repairs.non_finite,
                    unreadable: repairs.unreadable,
                }
            } else {
                SourceError::Empty { from, to }
            };
            missing.push(Missing {
                metric: id.clone(),
                source: describe_source(catalog, &id, options),
                error,
            });
            continue;
        }
        if !repairs.is_clean() {
            repairs_by_metric.insert(id.clone(), repairs);
        }
        series.insert(id, aligned);
    }
    missing.sort_by(|a, b| a.metric.cmp(&b.metric));
    DataSet {
        grid: Some(grid),
        series,
        repairs: repairs_by_metric,
        missing,
    }
}

/// The most frequent spacing between consecutive distinct timestamps (the
/// smaller on ties): a file's step, robust to gaps and to unsorted rows.
fn typical_step(timestamps: &[i64]) -> Option<i64> {
    // The first 10,000 rows are plenty to find the step.
    let mut sample: Vec<i64> = timestamps.iter().take(10_001).copied().collect();
    sample.sort_unstable();
    sample.dedup();
    let mut diffs: Vec<i64> = sample.windows(2).map(|w| w[1] - w[0]).collect();
    diffs.sort_unstable();
    let mut best: Option<(i64, usize)> = None;
    for run in diffs.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(_, n)| run.len() > n) {
            best = Some((run[0], run.len()));
        }
    }
    best.map(|(step, _)| step)
}

fn describe_source(catalog: &Catalog, id: &str, options: &Options) -> String {
    plan_for(catalog, id, options).map_or_else(|| "no source".to_string(), |p| p.describe())
}
