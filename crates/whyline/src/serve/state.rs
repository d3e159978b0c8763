//! What the server holds — the last good catalog, the latest data snapshot
//! and each metric's status — and the two threads that keep them fresh.
//!
//! Requests never wait for a data source: they read the snapshot, which a
//! background thread replaces at each refresh. A catalog edit is picked up by
//! a second thread; a broken edit keeps the last good catalog serving and is
//! shown as an error until it is fixed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use whyline_catalog::{Catalog, Checked, SourceSpec};
use whyline_map::{Assessed, MetricGraph};
use whyline_series::TimeRange;
use whyline_sources::{DataSet, Options, Quiet, fetch};
use whyline_why::{Change, Status, explain};

use crate::contract::{
    self,
    audit::AuditReport,
    check::{CheckReport, Diagnostic},
};
use crate::{audit, check, common, diagnostics, why};

/// How the server was started.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The catalog file or folder, re-read when it changes.
    pub(crate) catalog_path: PathBuf,
    /// A data file that overrides every metric's source.
    pub(crate) data_file: Option<PathBuf>,
    /// Pause between data refreshes.
    pub(crate) refresh: Duration,
    /// History read from network sources, in ms.
    pub(crate) lookback_ms: i64,
    /// Longest one request to a data source may take.
    pub(crate) source_timeout: Duration,
    /// Requests in flight at once towards network sources.
    pub(crate) concurrency: usize,
    /// The bearer token the API asks for, if any.
    pub(crate) token: Option<String>,
    /// Longest a request may take.
    pub(crate) request_timeout: Duration,
    /// How often the catalog's files are looked at.
    pub(crate) watch_every: Duration,
    /// The alert receiver's notifiers and store.
    pub(crate) alerts: super::alerts::AlertConfig,
    /// Read exported metrics' statuses from the engine's alerts ([`super::engine`]).
    pub(crate) status_from_alerts: bool,
}

/// One valid version of the catalog and what is derived from it.
pub(crate) struct Loaded {
    /// The catalog.
    pub(crate) catalog: Catalog,
    /// Its driver graph.
    pub(crate) graph: MetricGraph,
    /// Each metric's verdict of the two tests, by catalog position.
    pub(crate) verdicts: Vec<contract::Verdict>,
    /// Counts up with each reload.
    pub(crate) version: u64,
}

/// A metric's status at the latest refresh.
#[derive(Debug, Clone)]
pub(crate) struct MetricStatus {
    /// Red, amber, green or unknown.
    pub(crate) status: Status,
    /// Why, in words.
    pub(crate) reason: String,
    /// The latest value.
    pub(crate) value: Option<f64>,
    /// The move against the baseline, when judged.
    pub(crate) change: Option<Change>,
    /// Why it could not be read at the latest refresh, if it could not.
    pub(crate) missing: Option<String>,
    /// True when the status is carried over from an earlier refresh because
    /// the latest one could not read the metric.
    pub(crate) stale: bool,
}

/// The documents built from a whole snapshot, made on first request.
pub(crate) struct Documents {
    /// `whyline audit --format json`.
    pub(crate) audit: AuditReport,
    /// `whyline review`.
    pub(crate) review: String,
}

/// One refresh of the data, against the catalog it was read for.
pub(crate) struct Snapshot {
    /// The catalog the data was read for (positions index `statuses`).
    pub(crate) loaded: Arc<Loaded>,
    /// Every metric read.
    pub(crate) data: DataSet,
    /// Each metric's status, by catalog position.
    pub(crate) statuses: Vec<MetricStatus>,
    /// When the refresh ended (Unix ms).
    pub(crate) refreshed_at: i64,
    /// How long it took.
    pub(crate) took: Duration,
    /// Audit and review, built once per snapshot when first asked for.
    pub(crate) documents: OnceLock<Documents>,
    /// True when network sources were read for a window (not whole files).
    pub(crate) windowed: bool,
    /// By catalog position: the status came from the engine, and the snapshot holds no history.
    pub(crate) from_engine: Vec<bool>,
}

/// A catalog edit that did not load, shown until it is fixed.
#[derive(Debug, Clone)]
pub(crate) struct CatalogError {
    /// The diagnostics as text, with file:line:column.
    pub(crate) text: String,
    /// The same as the check JSON's `errors`.
    pub(crate) errors: Vec<Diagnostic>,
    /// When it was seen (Unix ms).
    pub(crate) since: i64,
}

/// Everything the request handlers share.
pub(crate) struct Shared {
    /// How the server was started.
    pub(crate) config: Config,
    loaded: RwLock<Arc<Loaded>>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    catalog_error: RwLock<Option<CatalogError>>,
    check: RwLock<Arc<CheckReport>>,
    refreshing: AtomicBool,
    refreshes: AtomicU64,
    wake: (Mutex<bool>, Condvar),
    /// Bounds CPU-heavy request work (the engine, the audit).
    pub(crate) compute: tokio::sync::Semaphore,
    /// Bounds reads that a request needs outside the snapshot.
    pub(crate) on_demand: tokio::sync::Semaphore,
    /// The alert receiver, when notifiers are configured.
    pub(crate) receiver: Option<super::alerts::Receiver>,
    /// `http://ADDRESS/` the server listens on, once bound.
    pub(crate) local_url: OnceLock<String>,
}

pub(crate) use crate::clock::now_ms;

/// Reads a lock even if a panicking thread poisoned it: the data is replaced whole, never half-written.
fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|e| e.into_inner()) = value;
}

impl Loaded {
    /// Derives what the server needs from a valid catalog; also returns its check JSON.
    pub(crate) fn new(catalog: Catalog, version: u64) -> (Loaded, CheckReport) {
        let (verdicts, check) = {
            let assessed = Assessed::new(&catalog);
            // One assessment per metric, in catalog order.
            let verdicts = assessed
                .assessments
                .iter()
                .map(|a| a.verdict.into())
                .collect();
            (verdicts, check::json(&catalog, &assessed, None, None))
        };
        let graph = MetricGraph::new(&catalog);
        (
            Loaded {
                catalog,
                graph,
                verdicts,
                version,
            },
            check,
        )
    }

    /// True when some metric is read from a server (not a file) and no data file overrides it.
    pub(crate) fn reads_network(&self, data_file: Option<&PathBuf>) -> bool {
        data_file.is_none()
            && self.catalog.metrics.iter().any(|m| {
                matches!(
                    m.source,
                    Some(SourceSpec::Prometheus { .. } | SourceSpec::Sql { .. })
                )
            })
    }
}

impl Shared {
    /// The state for a catalog that loaded without problems.
    pub(crate) fn new(
        config: Config,
        checked: Checked,
        receiver: Option<super::alerts::Receiver>,
    ) -> Shared {
        let (loaded, check) = Loaded::new(checked.catalog, 1);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Shared {
            loaded: RwLock::new(Arc::new(loaded)),
            snapshot: RwLock::new(None),
            catalog_error: RwLock::new(None),
            check: RwLock::new(Arc::new(check)),
            refreshing: AtomicBool::new(false),
            refreshes: AtomicU64::new(0),
            wake: (Mutex::new(false), Condvar::new()),
            compute: tokio::sync::Semaphore::new(workers * 2),
            on_demand: tokio::sync::Semaphore::new(config.concurrency.max(1)),
            receiver,
            local_url: OnceLock::new(),
            config,
        }
    }

    /// The catalog now serving.
    pub(crate) fn loaded(&self) -> Arc<Loaded> {
        read(&self.loaded)
    }

    /// The latest data, once the first refresh is done.
    pub(crate) fn snapshot(&self) -> Option<Arc<Snapshot>> {
        read(&self.snapshot)
    }

    /// The broken edit the server is ignoring, if any.
    pub(crate) fn catalog_error(&self) -> Option<CatalogError> {
        read(&self.catalog_error)
    }

    /// What `whyline check --format json` says of the files as they are now.
    pub(crate) fn check(&self) -> Arc<CheckReport> {
        read(&self.check)
    }

    /// True while a refresh runs.
    pub(crate) fn refreshing(&self) -> bool {
        self.refreshing.load(Ordering::Relaxed)
    }

    /// Refreshes done since the start.
    pub(crate) fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Asks the refresher to start now.
    fn wake_refresher(&self) {
        let (lock, signal) = &self.wake;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        signal.notify_all();
    }

    /// Sleeps until the next refresh is due or someone asks for one.
    fn wait_for_refresh(&self) {
        let (lock, signal) = &self.wake;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (mut woken, _) = signal
            .wait_timeout_while(guard, self.config.refresh, |w| !*w)
            .unwrap_or_else(|e| e.into_inner());
        *woken = false;
    }

    /// Reads every metric and judges each; never panics on bad data.
    pub(crate) fn refresh(&self) {
        self.refreshing.store(true, Ordering::Relaxed);
        let started = Instant::now();
        let loaded = self.loaded();
        let windowed = loaded.reads_network(self.config.data_file.as_ref());
        let now = now_ms();
        // With the exported rules loaded in the engine, their metrics' statuses
        // come from it in two queries per connection; only the others are read.
        let from_engine = if self.config.status_from_alerts && self.config.data_file.is_none() {
            super::engine::exported(&loaded.catalog)
        } else {
            std::collections::BTreeMap::new()
        };
        let mut by_engine = vec![false; loaded.catalog.metrics.len()];
        for &m in from_engine.values().flatten() {
            by_engine[m] = true;
        }
        let ids: Vec<String> = loaded
            .catalog
            .metrics
            .iter()
            .zip(&by_engine)
            .filter(|(_, engine)| !**engine)
            .map(|(m, _)| m.id.clone())
            .collect();
        let options = Options {
            range: windowed.then_some(TimeRange {
                start: now - self.config.lookback_ms,
                end: now,
            }),
            data_file: self.config.data_file.clone(),
            concurrency: self.config.concurrency.max(1),
            attempts: 2,
            timeout: self.config.source_timeout,
            ..Options::default()
        };
        let data = fetch(&loaded.catalog, &ids, &options, &Quiet);
        let mut statuses = statuses(&loaded, &data);
        for (connection, metrics) in &from_engine {
            for (m, status) in
                super::engine::statuses(&loaded.catalog, connection, metrics, &options)
            {
                statuses[m] = status;
            }
        }
        // A source that failed this time degrades its metrics to their last
        // known status, marked stale, rather than blanking them.
        if let Some(previous) = self
            .snapshot()
            .filter(|p| p.loaded.version == loaded.version)
        {
            for (now, before) in statuses.iter_mut().zip(&previous.statuses) {
                if now.missing.is_some() && before.status != Status::Unknown {
                    *now = MetricStatus {
                        missing: now.missing.take(),
                        stale: true,
                        ..before.clone()
                    };
                }
            }
        }
        let snapshot = Snapshot {
            loaded,
            data,
            statuses,
            refreshed_at: now_ms(),
            took: started.elapsed(),
            documents: OnceLock::new(),
            windowed,
            from_engine: by_engine,
        };
        write(&self.snapshot, Some(Arc::new(snapshot)));
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        self.refreshing.store(false, Ordering::Relaxed);
    }

    /// Re-reads the catalog: a valid one replaces the one serving, a broken
    /// one is kept as an error and the last good one goes on serving.
    pub(crate) fn reload(&self) {
        let path = &self.config.catalog_path;
        match whyline_catalog::load(path) {
            Ok(checked) if checked.is_valid() => {
                let version = self.loaded().version + 1;
                let (loaded, check) = Loaded::new(checked.catalog, version);
                write(&self.loaded, Arc::new(loaded));
                write(&self.check, Arc::new(check));
                write(&self.catalog_error, None);
                eprintln!("whyline: catalog reloaded (version {version})");
                self.wake_refresher();
            }
            Ok(checked) => {
                let errors: Vec<Diagnostic> = checked
                    .diagnostics
                    .iter()
                    .map(|d| diagnostics::to_json(&checked.catalog, d))
                    .collect();
                let text = diagnostics::render_text(&checked.catalog, &checked.diagnostics, false);
                eprintln!(
                    "whyline: the edited catalog is invalid; still serving the last good one\n{text}"
                );
                write(&self.check, Arc::new(CheckReport::invalid(errors.clone())));
                write(
                    &self.catalog_error,
                    Some(CatalogError {
                        text,
                        errors,
                        since: now_ms(),
                    }),
                );
            }
            Err(e) => {
                let text = e.to_string();
                eprintln!(
                    "whyline: cannot read the catalog ({text}); still serving the last good one"
                );
                let errors = vec![Diagnostic::unreadable(text.clone())];
                write(&self.check, Arc::new(CheckReport::invalid(errors.clone())));
                write(
                    &self.catalog_error,
                    Some(CatalogError {
                        errors,
                        text,
                        since: now_ms(),
                    }),
                );
            }
        }
    }
}

/// Each metric's status over the snapshot's data (the engine's judgement at the latest point).
fn statuses(loaded: &Loaded, data: &DataSet) -> Vec<MetricStatus> {
    let catalog = &loaded.catalog;
    let missing_reason = |id: &str| {
        data.missing
            .iter()
            .find(|m| m.metric == id)
            .map(|m| format!("{}: {}", m.source, m.error))
    };
    let Some(grid) = data.grid else {
        return catalog
            .metrics
            .iter()
            .map(|m| MetricStatus {
                status: Status::Unknown,
                reason: "no data".to_string(),
                value: None,
                change: None,
                missing: missing_reason(&m.id),
                stale: false,
            })
            .collect();
    };
    let by_metric = common::by_metric(catalog, data);
    let series = |m: usize| by_metric.get(&m).copied();
    let settings = why::settings_for(grid);
    (0..catalog.metrics.len())
        .map(|m| {
            let id = &catalog.metrics[m].id;
            let Some(values) = series(m) else {
                return MetricStatus {
                    status: Status::Unknown,
                    reason: "no data".to_string(),
                    value: None,
                    change: None,
                    missing: missing_reason(id),
                    stale: false,
                };
            };
            let e = explain(catalog, &loaded.graph, &series, m, None, None, &settings);
            MetricStatus {
                status: e.status,
                reason: e.reason,
                value: values.iter().rev().find(|v| v.is_finite()).copied(),
                change: e.change,
                missing: None,
                stale: false,
            }
        })
        .collect()
}

/// The set of catalog files and their sizes and times: a change means reload.
fn fingerprint(path: &std::path::Path) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    match whyline_catalog::load::discover(path) {
        Ok(files) => files
            .into_iter()
            .map(|f| {
                let meta = std::fs::metadata(&f).ok();
                (
                    f,
                    meta.as_ref().and_then(|m| m.modified().ok()),
                    meta.map_or(0, |m| m.len()),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Starts the refresher and the catalog watcher; they run until the process ends.
pub(crate) fn start_background(shared: &Arc<Shared>) {
    let refresher = Arc::clone(shared);
    std::thread::Builder::new()
        .name("whyline-refresh".to_string())
        .spawn(move || {
            loop {
                refresher.refresh();
                refresher.wait_for_refresh();
            }
        })
        .map(drop)
        .unwrap_or_else(|e| eprintln!("whyline: cannot start the data refresher: {e}"));
    let watcher = Arc::clone(shared);
    std::thread::Builder::new()
        .name("whyline-watch".to_string())
        .spawn(move || {
            let mut seen = fingerprint(&watcher.config.catalog_path);
            loop {
                std::thread::sleep(watcher.config.watch_every);
                let now = fingerprint(&watcher.config.catalog_path);
                if now != seen {
                    seen = now;
                    watcher.reload();
                }
            }
        })
        .map(drop)
        .unwrap_or_else(|e| eprintln!("whyline: cannot start the catalog watcher: {e}"));
}

/// Builds the audit and the review of a snapshot, once.
pub(crate) fn documents(snapshot: &Snapshot) -> Option<&Documents> {
    let grid = snapshot.data.grid?;
    Some(snapshot.documents.get_or_init(|| {
        let catalog = &snapshot.loaded.catalog;
        let report = audit::audit_of(catalog, &snapshot.data, grid);
        Documents {
            audit: audit::json(catalog, &report, &grid),
            review: audit::review_of(catalog, &report, &snapshot.data, grid),
        }
    }))
}
