//! The HTTP API's own documents (`whyline serve`); `/api/check`,
//! `/api/why/{metric}` and `/api/audit` answer with the CLI's.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::SchemaGenerator;
use serde::Serialize;

use super::check::{CheckReport, Diagnostic};
use super::{Effect, Layer, Status, Verdict, audit::AuditReport, why::WhyAnswer};

/// Adds every type a route answers with to `generator`'s definitions (the
/// OpenAPI document's `components/schemas`).
pub(crate) fn components(generator: &mut SchemaGenerator) {
    generator.subschema_for::<ApiError>();
    generator.subschema_for::<Health>();
    generator.subschema_for::<Readiness>();
    generator.subschema_for::<CheckReport>();
    generator.subschema_for::<CatalogView>();
    generator.subschema_for::<StatusView>();
    generator.subschema_for::<WhyAnswer>();
    generator.subschema_for::<SeriesView>();
    generator.subschema_for::<AuditReport>();
    generator.subschema_for::<Review>();
    generator.subschema_for::<AlertCounts>();
    generator.subschema_for::<AlertsStored>();
}

/// What was wrong with a request, and what to send instead.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct ApiError {
    /// In one or two sentences.
    pub(crate) error: String,
}

/// Liveness: the process answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    pub(crate) status: String,
    /// The catalog's version (1, then one more per reload).
    pub(crate) catalog_version: u64,
    /// Whether a data snapshot has been read yet.
    pub(crate) data: bool,
}

/// Readiness: 200 once the first data snapshot is read, 503 before.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Readiness {
    /// Whether the first snapshot is read.
    pub(crate) ready: bool,
    /// When ready: when the latest snapshot was read (RFC 3339 UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refreshed_at: Option<String>,
    /// When not ready: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
}

/// The catalog as served: every metric with its verdict, thresholds and drivers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CatalogView {
    /// The catalog's version.
    pub(crate) version: u64,
    /// Every metric.
    pub(crate) metrics: Vec<CatalogMetric>,
    /// A broken edit being ignored (the last good catalog still serves).
    pub(crate) catalog_error: Option<CatalogError>,
}

/// One metric of the catalog.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CatalogMetric {
    /// Its id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// What it measures.
    pub(crate) description: Option<String>,
    /// Its layer.
    pub(crate) layer: Layer,
    /// Its unit.
    pub(crate) unit: Option<String>,
    /// Its owner.
    pub(crate) owner: Option<String>,
    /// Its service.
    pub(crate) service: Option<String>,
    /// The decision it can change.
    pub(crate) decision: Option<String>,
    /// For whom.
    pub(crate) audience: Vec<String>,
    /// Its verdict under the two tests.
    pub(crate) verdict: Verdict,
    /// Its thresholds, if written.
    pub(crate) thresholds: Option<Thresholds>,
    /// Its drivers.
    pub(crate) drivers: Vec<Driver>,
}

/// A metric's thresholds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Thresholds {
    /// The red bound.
    pub(crate) red: Option<Bound>,
    /// The amber bound.
    pub(crate) amber: Option<Bound>,
}

/// A bound: red (or amber) below or above a value.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Bound {
    /// Bad below this value.
    Below(f64),
    /// Bad above this value.
    Above(f64),
}

impl From<whyline_catalog::Bound> for Bound {
    fn from(b: whyline_catalog::Bound) -> Self {
        match b {
            whyline_catalog::Bound::Below(v) => Bound::Below(v),
            whyline_catalog::Bound::Above(v) => Bound::Above(v),
        }
    }
}

/// A driver edge as written.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Driver {
    /// The driver.
    pub(crate) metric: String,
    /// Its sign.
    pub(crate) effect: Effect,
    /// Its lag (`0s` when none).
    pub(crate) lag: String,
}

/// A catalog edit that did not load.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct CatalogError {
    /// The errors as text, with file:line:column.
    pub(crate) text: String,
    /// The same errors, one object each (as `check`'s `errors`).
    pub(crate) errors: Vec<Diagnostic>,
    /// When it was seen (RFC 3339 UTC).
    pub(crate) since: String,
}

/// Every metric's status at the latest refresh.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct StatusView {
    /// The catalog's version.
    pub(crate) catalog_version: u64,
    /// Whether a refresh is running now.
    pub(crate) refreshing: bool,
    /// Refreshes done since the start.
    pub(crate) refreshes: u64,
    /// A broken edit being ignored.
    pub(crate) catalog_error: Option<CatalogError>,
    /// Whether the first snapshot is read; until then `metrics` is empty.
    pub(crate) ready: bool,
    /// When ready: when the latest snapshot was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refreshed_at: Option<String>,
    /// When ready: how long the refresh took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refresh_took_ms: Option<u64>,
    /// When ready: the last refresh ended longer ago than two periods and a
    /// source time-out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stale: Option<bool>,
    /// When ready: the window read (null when nothing could be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<Option<DataWindow>>,
    /// By catalog order.
    pub(crate) metrics: Vec<MetricStatus>,
}

/// The window a refresh read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct DataWindow {
    /// Its first point (RFC 3339 UTC).
    pub(crate) from: String,
    /// Its last point.
    pub(crate) to: String,
    /// The last point any metric has a value at; null when none has.
    pub(crate) read_to: Option<String>,
    /// The step, in milliseconds.
    pub(crate) step_ms: i64,
    /// How many points.
    pub(crate) points: usize,
}

/// One metric's status.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct MetricStatus {
    /// The metric id.
    pub(crate) id: String,
    /// Its status.
    pub(crate) status: Status,
    /// Why, in one sentence.
    pub(crate) reason: String,
    /// Its latest value.
    pub(crate) value: Option<f64>,
    /// Its move against its baseline, relative.
    pub(crate) relative: Option<f64>,
    /// ... in robust standard deviations.
    pub(crate) sigma: Option<f64>,
    /// Its status is carried over from an earlier refresh: the latest one
    /// could not read it.
    pub(crate) stale: bool,
    /// Why it could not be read at the latest refresh, if it could not.
    pub(crate) missing: Option<String>,
}

/// Values of a few metrics on the snapshot's grid.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct SeriesView {
    /// The first point (Unix milliseconds).
    pub(crate) start: i64,
    /// The step, in milliseconds.
    pub(crate) step_ms: i64,
    /// How many points.
    pub(crate) points: usize,
    /// By metric id: one value per point, null where there is none.
    pub(crate) series: BTreeMap<String, Vec<Option<f64>>>,
}

/// The weekly review.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Review {
    /// As `whyline review` writes it.
    pub(crate) markdown: String,
    /// The same, rendered to HTML (no raw HTML passed through).
    pub(crate) html: String,
}

/// What the alert receiver holds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct AlertCounts {
    /// The counts.
    pub(crate) counts: Counts,
    /// The notifiers configured (`--notify NAME=...`).
    pub(crate) notifiers: Vec<String>,
}

/// Alerts and notifications.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct Counts {
    /// Alerts received (distinct).
    pub(crate) received: i64,
    /// Alerts still waiting for their why.
    pub(crate) unanswered: i64,
    /// Notifications delivered.
    pub(crate) delivered: i64,
    /// Notifications waiting (never tried, or to be retried).
    pub(crate) waiting: i64,
}

/// What a webhook delivery stored.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub(crate) struct AlertsStored {
    /// Alerts new to the receiver.
    pub(crate) stored: usize,
    /// Alerts it already held (Alertmanager sends a group again).
    pub(crate) duplicates: usize,
}
