//! Alerts in, the why out: `POST /api/alerts/alertmanager` stores each post
//! in the [`Outbox`] and answers; an answering task ties each alert to its
//! catalog metric and computes its why at `startsAt`; one delivery task per
//! notifier sends what is due, with retries and back-off.
//!
//! Wiring only: reading the webhook, grouping by root cause and every
//! notifier's format live in `whyline_alerts`. A slow or dead notifier never
//! blocks the receiver (the post is answered once stored) nor another notifier.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use whyline_alerts::message::{self, Answer, Explained, Links};
use whyline_alerts::webhook::{self, AlertStatus, Received};

use super::api::{self, ApiError};
use super::outbox::{Incoming, Outbox, back_off_ms};
use super::state::{Shared, now_ms};
use crate::contract::{
    self,
    serve::{AlertCounts, AlertsStored},
};
use crate::why::Question;

/// The route Alertmanager posts to.
pub(crate) const ROUTE: &str = "/api/alerts/alertmanager";
/// The largest post read, in bytes: 1,000 alerts with their labels and
/// annotations fit in well under this.
pub(crate) const MAX_BODY: u64 = 2 * 1024 * 1024;
/// How long a why may wait for the server's first data before the alert is
/// delivered without one.
const WAIT_FOR_DATA_MS: i64 = 60_000;
/// Longest one delivery attempt may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a notifier delivers, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Slack incoming webhook (Block Kit).
    Slack,
    /// PagerDuty Events API v2.
    PagerDuty,
    /// Any URL that takes the generic JSON.
    Webhook,
}

/// One configured notifier.
#[derive(Clone)]
pub(crate) struct Notifier {
    /// Its name in the store and the logs (`slack`, `webhook-2`): never the URL,
    /// which often holds a secret.
    pub(crate) name: String,
    /// The format.
    pub(crate) kind: Kind,
    /// Where to POST.
    pub(crate) url: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// How alerts are received and delivered.
#[derive(Clone, Default)]
pub(crate) struct AlertConfig {
    /// The notifiers; none = the receiver is off.
    pub(crate) notifiers: Vec<Notifier>,
    /// Where the store lives.
    pub(crate) state_dir: PathBuf,
    /// The page's address as people open it, for links (default: where it listens).
    pub(crate) page_url: Option<String>,
    /// PagerDuty's routing key (from `$WHYLINE_PAGERDUTY_ROUTING_KEY`).
    pub(crate) pagerduty_key: Option<String>,
}

impl std::fmt::Debug for AlertConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertConfig")
            .field("notifiers", &self.notifiers)
            .field("state_dir", &self.state_dir)
            .field("page_url", &self.page_url)
            .finish_non_exhaustive()
    }
}

/// Reads `--notify KIND=URL` (or `KIND=env:VARIABLE`).
pub(crate) fn notifiers(flags: &[String]) -> Result<Vec<Notifier>, String> {
    let mut out: Vec<Notifier> = Vec::new();
    for flag in flags {
        let Some((kind, target)) = flag.split_once('=') else {
            return Err(format!(
                "--notify {flag}: write KIND=URL, e.g. --notify slack=env:SLACK_WEBHOOK_URL"
            ));
        };
        let kind = match kind.trim() {
            "slack" => Kind::Slack,
            "pagerduty" => Kind::PagerDuty,
            "webhook" => Kind::Webhook,
            other => {
                return Err(format!(
                    "--notify {other}=...: `{other}` is not a notifier; write slack, pagerduty or webhook"
                ));
            }
        };
        let url = match target.strip_prefix("env:") {
            Some(variable) => std::env::var(variable).map_err(|_| {
                format!(
                    "--notify {}=env:{variable}: ${variable} is not set",
                    kind_name(kind)
                )
            })?,
            None => target.to_string(),
        };
        let url = url.trim().to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "--notify {}: the address must start with https:// (or http:// on a private network)",
                kind_name(kind)
            ));
        }
        let base = kind_name(kind);
        let same = out.iter().filter(|n| n.kind == kind).count();
        let name = if same == 0 {
            base.to_string()
        } else {
            format!("{base}-{}", same + 1)
        };
        out.push(Notifier { name, kind, url });
    }
    Ok(out)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Slack => "slack",
        Kind::PagerDuty => "pagerduty",
        Kind::Webhook => "webhook",
    }
}

/// The default state folder: `$XDG_STATE_HOME/whyline`, else `~/.local/state/whyline`.
pub(crate) fn default_state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .map(|d| d.join("whyline"))
}

/// The receiver's running parts.
pub(crate) struct Receiver {
    /// The store.
    pub(crate) outbox: Arc<Outbox>,
    /// Wakes the answering task.
    answer_wake: tokio::sync::Notify,
    /// Wakes the delivery tasks.
    deliver_wake: tokio::sync::Notify,
    client: reqwest::Client,
}

impl Receiver {
    /// Opens the store and the HTTP client.
    pub(crate) fn open(config: &AlertConfig) -> Result<Receiver, String> {
        let outbox = Outbox::open(&config.state_dir)?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            // Redirects could send a notification (and its secrets) elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot start the notifiers' HTTP client: {e}"))?;
        Ok(Receiver {
            outbox: Arc::new(outbox),
            answer_wake: tokio::sync::Notify::new(),
            deliver_wake: tokio::sync::Notify::new(),
            client,
        })
    }
}

fn receiver(shared: &Shared) -> Result<&Receiver, ApiError> {
    shared.receiver.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server delivers no alerts: start `whyline serve` with --notify KIND=URL",
        )
    })
}

/// Runs blocking store work off the async threads.
async fn store<T: Send + 'static>(
    outbox: &Arc<Outbox>,
    work: impl FnOnce(&Outbox) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let outbox = Arc::clone(outbox);
    tokio::task::spawn_blocking(move || work(&outbox))
        .await
        .map_err(|e| format!("the alert store failed unexpectedly: {e}"))?
}

/// `POST /api/alerts/alertmanager`: checks the post, stores it, answers.
pub(crate) async fn receive(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<AlertsStored>, ApiError> {
    let receiver = receiver(&shared)?;
    let (_, alerts) =
        webhook::parse(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let rows: Vec<Incoming> = alerts
        .iter()
        .map(|r| Incoming {
            key: r.dedup_key(),
            group_key: r.group_key.clone(),
            fingerprint: r.fingerprint.clone(),
            status: r.status.as_str(),
            starts_at: r.starts_at,
            alert: stored_json(r).to_string(),
        })
        .collect();
    let total = rows.len();
    let new = store(&receiver.outbox, move |o| o.receive(&rows, now_ms()))
        .await
        .map_err(|e| {
            eprintln!("whyline: alerts not stored: {e}");
            // 5xx: Alertmanager keeps the alerts and sends them again.
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("not stored: {e}"))
        })?;
    receiver.answer_wake.notify_one();
    Ok(Json(AlertsStored {
        stored: new,
        duplicates: total - new,
    }))
}

/// `GET /api/alerts`: what the receiver holds.
pub(crate) async fn counts(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<AlertCounts>, ApiError> {
    let receiver = receiver(&shared)?;
    let counts = store(&receiver.outbox, |o| o.counts())
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let notifiers: Vec<String> = shared
        .config
        .alerts
        .notifiers
        .iter()
        .map(|n| n.name.clone())
        .collect();
    Ok(Json(AlertCounts {
        counts: contract::serve::Counts {
            received: counts.received,
            unanswered: counts.unanswered,
            delivered: counts.delivered,
            waiting: counts.waiting,
        },
        notifiers,
    }))
}

/// One alert as stored: what [`Received`] is rebuilt from.
fn stored_json(r: &Received) -> Value {
    json!({
        "group_key": r.group_key,
        "fingerprint": r.fingerprint,
        "status": r.status.as_str(),
        "starts_at": r.starts_at,
        "alert": r.alert,
    })
}

fn from_stored(v: &Value) -> Option<Received> {
    Some(Received {
        group_key: v.get("group_key")?.as_str()?.to_string(),
        fingerprint: v.get("fingerprint")?.as_str()?.to_string(),
        status: match v.get("status")?.as_str()? {
            "resolved" => AlertStatus::Resolved,
            _ => AlertStatus::Firing,
        },
        starts_at: v.get("starts_at")?.as_i64()?,
        alert: serde_json::from_value(v.get("alert")?.clone()).ok()?,
    })
}

/// Starts the answering task and one delivery task per notifier.
pub(crate) fn start(shared: &Arc<Shared>) {
    if shared.receiver.is_none() {
        return;
    }
    let answering = Arc::clone(shared);
    tokio::spawn(async move { answer_loop(answering).await });
    for notifier in shared.config.alerts.notifiers.clone() {
        let delivering = Arc::clone(shared);
        tokio::spawn(async move { deliver_loop(delivering, notifier).await });
    }
}

async fn answer_loop(shared: Arc<Shared>) {
    let Some(receiver) = shared.receiver.as_ref() else {
        return;
    };
    loop {
        match answer_pending(&shared, receiver).await {
            Ok(0) => {
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), receiver.answer_wake.notified())
                        .await;
            }
            Ok(_) => receiver.deliver_wake.notify_waiters(),
            Err(e) => {
                eprintln!("whyline: alerts not answered yet: {e}");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// The why of one firing alert, or `None` to try again later (no data yet).
async fn why_of(shared: &Arc<Shared>, metric: &str, at: i64, waited: i64) -> Option<Answer> {
    let Some(snapshot) = shared.snapshot() else {
        return (waited > WAIT_FOR_DATA_MS)
            .then(|| Answer::Unanswered("the server had read no data yet".to_string()));
    };
    let Some(target) = snapshot.loaded.catalog.index_of(metric) else {
        return Some(Answer::NotInCatalog);
    };
    let question = Question {
        target,
        at: Some(at),
        periods: None,
    };
    Some(match api::answer(shared, snapshot, question).await {
        // The alerts crate reads the why as the CLI prints it: its JSON.
        Ok(why) => match serde_json::to_value(&why) {
            Ok(value) => Answer::Why(value),
            Err(e) => Answer::Unanswered(format!("cannot encode the why: {e}")),
        },
        Err(e) => Answer::Unanswered(e.message().to_string()),
    })
}

/// Answers what waits, queues the messages; returns how many alerts were answered.
async fn answer_pending(shared: &Arc<Shared>, receiver: &Receiver) -> Result<usize, String> {
    let pending = store(&receiver.outbox, |o| o.unanswered(500)).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let loaded = shared.loaded();
    let catalog = &loaded.catalog;
    let now = now_ms();
    let mut items = Vec::new();
    let mut answered: Vec<(String, Option<String>)> = Vec::new();
    for row in &pending {
        let Some(received) = from_stored(&row.alert) else {
            // Written by this server, so unreadable only if edited by hand: skip it.
            answered.push((row.key.clone(), None));
            continue;
        };
        let metric = message::metric_of(&received, catalog);
        let (answer, root) = match (received.status, &metric) {
            (AlertStatus::Resolved, _) => {
                let (group, fingerprint, starts) = (
                    received.group_key.clone(),
                    received.fingerprint.clone(),
                    received.starts_at,
                );
                let root = store(&receiver.outbox, move |o| {
                    o.root_of_firing(&group, &fingerprint, starts)
                })
                .await?;
                (Answer::Resolved, root)
            }
            (AlertStatus::Firing, None) => (Answer::NotInCatalog, None),
            (AlertStatus::Firing, Some(m)) => {
                let waited = now - received.starts_at;
                let Some(answer) = why_of(shared, m, received.starts_at, waited).await else {
                    continue;
                };
                let root = match &answer {
                    Answer::Why(w) => message::root_of(w),
                    _ => None,
                };
                (answer, root)
            }
        };
        answered.push((row.key.clone(), root.clone()));
        items.push(Explained {
            received,
            metric,
            root,
            answer,
        });
    }
    let links = Links {
        page: shared
            .config
            .alerts
            .page_url
            .clone()
            .or_else(|| shared.local_url.get().cloned()),
    };
    let mut notifications = Vec::new();
    for message in message::group(items, catalog) {
        for notifier in &shared.config.alerts.notifiers {
            let body = match notifier.kind {
                Kind::Slack => message::slack(&message, catalog, &links),
                Kind::PagerDuty => message::pagerduty(
                    &message,
                    catalog,
                    &links,
                    shared.config.alerts.pagerduty_key.as_deref().unwrap_or(""),
                ),
                Kind::Webhook => message::webhook(&message),
            };
            notifications.push((message.key(), notifier.name.clone(), body.to_string()));
        }
    }
    let count = answered.len();
    store(&receiver.outbox, move |o| {
        o.answer(&answered, &notifications, now_ms()).map(drop)
    })
    .await?;
    Ok(count)
}

/// A short stable id for a message key, sent as `Idempotency-Key` so a
/// receiver that deduplicates can drop a repeat after a crash mid-delivery.
fn idempotency_key(message_key: &str, notifier: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in message_key.bytes().chain([0]).chain(notifier.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("whyline-{hash:016x}")
}

async fn deliver_loop(shared: Arc<Shared>, notifier: Notifier) {
    let Some(receiver) = shared.receiver.as_ref() else {
        return;
    };
    loop {
        let name = notifier.name.clone();
        let due = match store(&receiver.outbox, move |o| o.due(&name, now_ms(), 20)).await {
            Ok(due) => due,
            Err(e) => {
                eprintln!("whyline: {}: {e}", notifier.name);
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        for item in &due {
            let sent = receiver
                .client
                .post(&notifier.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(
                    "Idempotency-Key",
                    idempotency_key(&item.message_key, &item.notifier),
                )
                .body(item.body.clone())
                .send()
                .await;
            let outcome = match sent {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("answered {}", r.status())),
                // Without the URL: it may hold a secret.
                Err(e) => Err(if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "cannot connect".to_string()
                } else {
                    "the request failed".to_string()
                }),
            };
            let (id, attempts) = (item.id, item.attempts);
            let recorded = match outcome {
                Ok(()) => store(&receiver.outbox, move |o| o.delivered(id, now_ms())).await,
                Err(error) => {
                    eprintln!(
                        "whyline: {} not delivered (attempt {}): {error}; retrying",
                        notifier.name,
                        attempts + 1
                    );
                    store(&receiver.outbox, move |o| {
                        o.failed(id, &error, now_ms() + back_off_ms(attempts))
                    })
                    .await
                }
            };
            if let Err(e) = recorded {
                eprintln!("whyline: {}: {e}", notifier.name);
            }
        }
        if due.is_empty() {
            let name = notifier.name.clone();
            let next = store(&receiver.outbox, move |o| o.next_due(&name))
                .await
                .ok()
                .flatten();
            let wait = next.map_or(5_000, |at| (at - now_ms()).clamp(50, 5_000));
            let _ = tokio::time::timeout(
                Duration::from_millis(wait as u64),
                receiver.deliver_wake.notified(),
            )
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_flags_are_read_and_checked() {
        let n = notifiers(&[
            "slack=https://hooks.slack.com/services/X".to_string(),
            "webhook=http://127.0.0.1:9/a".to_string(),
            "webhook=http://127.0.0.1:9/b".to_string(),
        ])
        .expect("valid");
        let names: Vec<&str> = n.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["slack", "webhook", "webhook-2"]);
        assert!(
            notifiers(&["teams=https://x".to_string()])
                .expect_err("unknown kind")
                .contains("slack, pagerduty or webhook")
        );
        assert!(
            notifiers(&["slack=ftp://x".to_string()])
                .expect_err("scheme")
                .contains("https://")
        );
        assert!(
            notifiers(&["slack=env:WHYLINE_TEST_UNSET_VARIABLE".to_string()])
                .expect_err("unset")
                .contains("is not set")
        );
        // The URL (a secret) never shows in debug output.
        assert!(!format!("{n:?}").contains("hooks.slack.com"));
    }

    #[test]
    fn idempotency_keys_are_stable_and_distinct() {
        assert_eq!(idempotency_key("m", "slack"), idempotency_key("m", "slack"));
        assert_ne!(
            idempotency_key("m", "slack"),
            idempotency_key("m", "webhook")
        );
    }

    #[test]
    fn a_stored_alert_reads_back_whole() {
        let body = br#"{"version":"4","groupKey":"g","alerts":[{"status":"resolved","labels":{"alertname":"A"},"startsAt":"2026-03-02T20:00:00Z","fingerprint":"f"}]}"#;
        let (_, received) = webhook::parse(body).expect("valid");
        let back = from_stored(&stored_json(&received[0])).expect("reads back");
        assert_eq!(back, received[0]);
    }
}
