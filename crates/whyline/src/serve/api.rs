//! The routes: the page and its assets, and the JSON API the page (and any
//! script) reads. Handlers only wire the snapshot to the same functions the
//! CLI uses, so `/api/why` and `whyline why --format json` cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use whyline_catalog::Catalog;
use whyline_series::{format_time, parse_time};
use whyline_sources::Options;

use super::state::{Loaded, Shared, Snapshot, documents, now_ms};
use super::{alerts, assets};
use crate::common;
use crate::contract::serve::{
    CatalogMetric, CatalogView, DataWindow, Driver, Health, MetricStatus, Readiness, Review,
    SeriesView, StatusView, Thresholds,
};
use crate::contract::why::WhyAnswer;
use crate::contract::{self, check::CheckReport, finite};
use crate::why::{self, AskError, Question};

/// An error as the API answers it: `{"error": "..."}` with a 4xx/5xx status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with its status.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// What went wrong, in words.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(contract::serve::ApiError {
                error: self.message,
            }),
        )
            .into_response()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        let text = e.body_text();
        let detail = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad query string: {detail}"),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad path: {}", e.body_text()),
        )
    }
}

/// The CLI's flag names, as the query parameters the API takes instead.
fn as_query_words(message: &str) -> String {
    message
        .replace("--baseline", "`baseline`")
        .replace("--window", "`window`")
        .replace("--at", "`at`")
}

impl From<AskError> for ApiError {
    fn from(e: AskError) -> ApiError {
        let status = match e {
            AskError::UnknownMetric(_) => StatusCode::NOT_FOUND,
            AskError::BadInput(_) => StatusCode::BAD_REQUEST,
            AskError::NoData(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, as_query_words(&e.to_string()))
    }
}

type Shared_ = State<Arc<Shared>>;
type ApiResult = Result<Response, ApiError>;

/// Builds the router and lists its paths from the same tokens, so the
/// OpenAPI document can be checked against what is really served.
macro_rules! routes {
    ($($path:literal => $handler:expr),* $(,)?) => {
        #[cfg(test)]
        pub(crate) const PATHS: &[&str] = &[$($path),*];

        /// Every route of the server: all GET, but the alert receiver's POST.
        pub(crate) fn router() -> Router<Arc<Shared>> {
            Router::new()$(.route($path, get($handler)))*
                .route(
                    alerts::ROUTE,
                    post(alerts::receive).layer(DefaultBodyLimit::max(alerts::MAX_BODY as usize)),
                )
        }
    };
}

routes! {
    "/" => assets::index,
    "/assets/{file}" => assets::file,
    "/healthz" => healthz,
    "/readyz" => readyz,
    "/api/openapi.json" => openapi,
    "/api/check" => check,
    "/api/catalog" => catalog,
    "/api/status" => status,
    "/api/why/{metric}" => why_route,
    "/api/series" => series,
    "/api/audit" => audit_route,
    "/api/review" => review,
    "/api/alerts" => alerts::counts,
}

/// The OpenAPI document of these routes.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// Unknown paths.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route; the routes are listed at /api/openapi.json",
    )
}

async fn healthz(State(shared): Shared_) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        catalog_version: shared.loaded().version,
        data: shared.snapshot().is_some(),
    })
}

/// Readiness: 200 once the first data snapshot is read, 503 before (a load
/// balancer or Kubernetes probe waits; `/healthz` is liveness only).
async fn readyz(State(shared): Shared_) -> Response {
    match shared.snapshot() {
        Some(s) => Json(Readiness {
            ready: true,
            refreshed_at: Some(format_time(s.refreshed_at)),
            reason: None,
        })
        .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                ready: false,
                refreshed_at: None,
                reason: Some("the first refresh is still running".to_string()),
            }),
        )
            .into_response(),
    }
}

/// The OpenAPI document: the routes of `openapi.json`, the schemas
/// generated from the types the routes answer with.
async fn openapi() -> Response {
    // Generated once: the types do not change while the server runs.
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOCUMENT.get_or_init(|| contract::openapi(OPENAPI))).into_response()
}

async fn check(State(shared): Shared_) -> Json<CheckReport> {
    Json(CheckReport::clone(&shared.check()))
}

async fn catalog(State(shared): Shared_) -> Json<CatalogView> {
    let loaded = shared.loaded();
    let c = &loaded.catalog;
    let metrics = c
        .metrics
        .iter()
        .zip(&loaded.verdicts)
        .map(|(m, &verdict)| CatalogMetric {
            id: m.id.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            layer: m.layer.into(),
            unit: m.unit.clone(),
            owner: m.owner.clone(),
            service: m.service.clone(),
            decision: m.decision.clone(),
            audience: m.audience.clone(),
            verdict,
            thresholds: m.thresholds.as_ref().map(|t| Thresholds {
                red: t.red.map(Into::into),
                amber: t.amber.map(Into::into),
            }),
            drivers: m
                .drivers
                .iter()
                .map(|d| Driver {
                    metric: d.metric.clone(),
                    effect: d.effect.into(),
                    lag: d.lag.to_string(),
                })
                .collect(),
        })
        .collect();
    Json(CatalogView {
        version: loaded.version,
        metrics,
        catalog_error: catalog_error(&shared),
    })
}

/// The broken catalog edit being ignored, if any, as the API shows it.
fn catalog_error(shared: &Shared) -> Option<contract::serve::CatalogError> {
    shared
        .catalog_error()
        .map(|e| contract::serve::CatalogError {
            text: e.text,
            errors: e.errors,
            since: format_time(e.since),
        })
}

async fn status(State(shared): Shared_) -> Json<StatusView> {
    let snapshot = shared.snapshot();
    let refresh_ms = shared.config.refresh.as_millis() as i64;
    let mut out = StatusView {
        catalog_version: shared.loaded().version,
        refreshing: shared.refreshing(),
        refreshes: shared.refreshes(),
        catalog_error: catalog_error(&shared),
        ready: false,
        refreshed_at: None,
        refresh_took_ms: None,
        stale: None,
        data: None,
        metrics: Vec::new(),
    };
    let Some(s) = snapshot else {
        return Json(out);
    };
    let catalog = &s.loaded.catalog;
    // Stale: the last refresh ended longer ago than two periods plus a source time-out.
    let stale_after = 2 * refresh_ms + shared.config.source_timeout.as_millis() as i64;
    out.ready = true;
    out.refreshed_at = Some(format_time(s.refreshed_at));
    out.refresh_took_ms = Some(s.took.as_millis() as u64);
    out.stale = Some(now_ms() - s.refreshed_at > stale_after);
    out.data = Some(s.data.grid.map(|g| {
        // The last point any metric of the catalog has a value at: what
        // was read, not the window asked for (null when nothing was).
        let read_to = s
            .data
            .series
            .iter()
            .filter(|(id, _)| catalog.index_of(id).is_some())
            .filter_map(|(_, a)| a.values.iter().rposition(|v| v.is_finite()))
            .max()
            .map(|i| format_time(g.time(i)));
        DataWindow {
            from: format_time(g.start),
            to: format_time(g.time(g.len.saturating_sub(1))),
            read_to,
            step_ms: g.step,
            points: g.len,
        }
    }));
    out.metrics = s
        .statuses
        .iter()
        .enumerate()
        .map(|(m, st)| MetricStatus {
            id: catalog.metrics[m].id.clone(),
            status: st.status.into(),
            reason: st.reason.clone(),
            value: st.value.and_then(finite),
            relative: st.change.and_then(|c| finite(c.relative)),
            sigma: st.change.and_then(|c| finite(c.sigma)),
            stale: st.stale,
            missing: st.missing.clone(),
        })
        .collect();
    Json(out)
}

/// The query of `/api/why/{metric}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhyQuery {
    at: Option<String>,
    baseline: Option<String>,
    window: Option<String>,
}

fn no_data_yet() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no data yet: the first refresh is still running; try again in a few seconds",
    )
}

/// Runs CPU-heavy work off the async threads, a bounded number at a time.
async fn compute<T: Send + 'static>(
    shared: &Shared,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = shared
        .compute
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the analysis failed unexpectedly: {e}"),
        )
    })
}

async fn why_route(
    State(shared): Shared_,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<WhyQuery>, QueryRejection>,
) -> ApiResult {
    let Path(metric) = path?;
    let Query(q) = query?;
    // An unknown metric is a 404 at any time, warm-up included; a question
    // with an explicit time is read from the sources before the first
    // refresh ends.
    let current = shared.loaded();
    let asked = Question::parse(
        &current.catalog,
        &metric,
        q.at.as_deref(),
        q.baseline.as_deref(),
        q.window.as_deref(),
    )?;
    let Some(snapshot) = shared.snapshot() else {
        if asked.at.is_none() && asked.periods.is_none() {
            return Err(no_data_yet());
        }
        let value = read_and_answer(&shared, current, asked).await?;
        return Ok(Json(value).into_response());
    };
    let catalog = &snapshot.loaded.catalog;
    if catalog.index_of(&metric).is_none() && shared.loaded().catalog.index_of(&metric).is_some() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("`{metric}` is new in the catalog; its data arrives with the next refresh"),
        ));
    }
    let question = Question::parse(
        catalog,
        &metric,
        q.at.as_deref(),
        q.baseline.as_deref(),
        q.window.as_deref(),
    )?;
    let value = answer(&shared, snapshot, question).await?;
    Ok(Json(value).into_response())
}

/// The why of a question, as `whyline why --format json`: from the snapshot
/// when it covers the question, else read from the sources for that window.
pub(crate) async fn answer(
    shared: &Arc<Shared>,
    snapshot: Arc<Snapshot>,
    question: Question,
) -> Result<WhyAnswer, ApiError> {
    let grid = snapshot.data.grid;
    let inside = |t: i64| grid.is_some_and(|g| g.index(t).is_some());
    let covered = match (&question.periods, question.at) {
        (Some((b, w)), _) => inside(b.start) && inside(w.end - 1),
        (None, Some(at)) => inside(at),
        (None, None) => grid.is_some(),
    };
    let network = snapshot.windowed;
    // Metrics whose status came from the engine have no history in the
    // snapshot: a question about them (or below them) reads its window.
    let held = || {
        let mut needed = snapshot.loaded.graph.upstream(question.target);
        needed.push(question.target);
        needed
            .iter()
            .all(|&m| !snapshot.from_engine.get(m).copied().unwrap_or(false))
    };
    if (covered && held()) || !network {
        return compute(shared, move || over_snapshot(&snapshot, &question)).await?;
    }
    // A time before the snapshot's window: read that window from the sources.
    read_and_answer(shared, Arc::clone(&snapshot.loaded), question).await
}

/// Reads the question's window from the sources and answers it, a bounded
/// number of such reads at a time.
async fn read_and_answer(
    shared: &Arc<Shared>,
    loaded: Arc<Loaded>,
    question: Question,
) -> Result<WhyAnswer, ApiError> {
    let _permit = shared
        .on_demand
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let config = shared.config.clone();
    compute(shared, move || {
        let options = Options {
            range: Some(question.range(config.lookback_ms)),
            concurrency: config.concurrency.max(1),
            attempts: 2,
            timeout: config.source_timeout,
            ..Options::default()
        };
        why::ask_sources(
            &loaded.catalog,
            &loaded.graph,
            &question,
            &options,
            &whyline_sources::Quiet,
        )
        .map(|answer| why::json(&loaded.catalog, &answer))
    })
    .await?
    .map_err(ApiError::from)
}

/// Answers a question from the snapshot alone.
fn over_snapshot(snapshot: &Snapshot, question: &Question) -> Result<WhyAnswer, ApiError> {
    let catalog = &snapshot.loaded.catalog;
    let grid = snapshot.data.grid.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "no data could be read at the latest refresh: {}",
                snapshot
                    .data
                    .missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    })?;
    let by_metric = common::by_metric(catalog, &snapshot.data);
    let series = |m: usize| by_metric.get(&m).copied();
    // The snapshot holds every metric: nothing more to read.
    let more = |_: &[String]| None;
    let answered = why::analyse(
        catalog,
        &snapshot.loaded.graph,
        question,
        grid,
        &snapshot.data.missing,
        &series,
        &more,
    )?;
    Ok(why::json(
        catalog,
        &why::Answer {
            explanation: answered.explanation,
            grid,
            missing: snapshot.data.missing.clone(),
            holes: common::holes(&snapshot.data),
            suspected: answered.suspected,
            lead: answered.lead,
        },
    ))
}

/// The query of `/api/series`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    metrics: String,
    from: Option<String>,
    to: Option<String>,
}

/// The most metrics one `/api/series` request may ask for.
const MAX_SERIES: usize = 64;

fn unknown_metric(catalog: &Catalog, id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, common::no_such_metric(catalog, id))
}

async fn series(
    State(shared): Shared_,
    query: Result<Query<SeriesQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query?;
    let snapshot = shared.snapshot().ok_or_else(no_data_yet)?;
    let catalog = &snapshot.loaded.catalog;
    let ids: Vec<&str> = q
        .metrics
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() || ids.len() > MAX_SERIES {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("give 1 to {MAX_SERIES} metric ids, comma-separated: ?metrics=a,b"),
        ));
    }
    if let Some(unknown) = ids.iter().find(|id| catalog.index_of(id).is_none()) {
        return Err(unknown_metric(catalog, unknown));
    }
    let Some(grid) = snapshot.data.grid else {
        return Err(no_data_yet());
    };
    let time = |text: &Option<String>, name: &str| {
        text.as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("`{name}`: {e}")))
    };
    let from = time(&q.from, "from")?.unwrap_or(grid.start);
    let to = time(&q.to, "to")?.unwrap_or(grid.range().end);
    if from >= to {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "`from` must be before `to`",
        ));
    }
    let range = grid.indices(whyline_series::TimeRange {
        start: from,
        end: to,
    });
    let mut out = BTreeMap::new();
    for id in &ids {
        let values: Vec<Option<f64>> = match snapshot.data.get(id) {
            Some(s) => s.values[range.clone()].iter().map(|v| finite(*v)).collect(),
            None => Vec::new(),
        };
        out.insert(id.to_string(), values);
    }
    Ok(Json(SeriesView {
        start: grid.time(range.start),
        step_ms: grid.step,
        points: range.len(),
        series: out,
    })
    .into_response())
}

async fn audit_route(State(shared): Shared_) -> ApiResult {
    let snapshot = shared.snapshot().ok_or_else(no_data_yet)?;
    let value = compute(&shared, move || {
        documents(&snapshot).map(|d| d.audit.clone())
    })
    .await?
    .ok_or_else(no_data_yet)?;
    Ok(Json(value).into_response())
}

async fn review(State(shared): Shared_) -> ApiResult {
    let snapshot = shared.snapshot().ok_or_else(no_data_yet)?;
    let text = compute(&shared, move || {
        documents(&snapshot).map(|d| d.review.clone())
    })
    .await?
    .ok_or_else(no_data_yet)?;
    let html = crate::markdown::safe_html(&text);
    Ok(Json(Review {
        markdown: text,
        html,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::{OPENAPI, PATHS};

    /// The OpenAPI document lists exactly the routes served, each as a GET (the alert receiver as a POST).
    #[test]
    fn openapi_matches_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
        let mut served: Vec<&str> = PATHS.to_vec();
        served.push(super::alerts::ROUTE);
        documented.sort_unstable();
        served.sort_unstable();
        assert_eq!(documented, served, "openapi.json and the router disagree");
        for (path, item) in paths {
            let methods: Vec<&String> = item.as_object().expect("path item").keys().collect();
            let method = if path == super::alerts::ROUTE {
                "post"
            } else {
                "get"
            };
            assert_eq!(methods, vec![method], "{path}: only {method} is served");
            let responses = item[method]["responses"].as_object().expect("responses");
            assert!(responses.contains_key("200"), "{path}: no 200 documented");
        }
        assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    }

    /// Every schema the served document refers to is generated from a type:
    /// a route's answer cannot name a schema that does not exist.
    #[test]
    fn every_reference_of_the_served_document_resolves() {
        let doc = crate::contract::openapi(OPENAPI);
        let mut refs = Vec::new();
        fn collect<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v.as_str()) {
                            ("$ref", Some(r)) => out.push(r),
                            _ => collect(v, out),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        collect(&doc, &mut refs);
        assert!(refs.len() > 20, "{refs:?}");
        for r in refs {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        for name in ["WhyAnswer", "CheckReport", "StatusView", "ApiError"] {
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{name} is not among the components"
            );
        }
    }
}
