//! Alertmanager's webhook (version 4), read and checked before any work.
//!
//! The payload is described in Alertmanager's docs (`webhook_config`,
//! "The Alertmanager will send HTTP POST requests in the following JSON
//! format"). Unknown fields are ignored, so a newer Alertmanager that adds
//! fields still works; the fields whyline relies on are checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most alerts one post may carry: Alertmanager's own `max_alerts` is
/// unlimited by default, but a group of thousands is a storm no message helps.
pub const MAX_ALERTS: usize = 1_000;

/// Why a post was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Not JSON, or not the webhook's shape.
    #[error("the body is not an Alertmanager webhook: {0}")]
    Shape(String),
    /// A version this receiver does not read.
    #[error(
        "webhook version `{0}` is not supported: this receiver reads version 4 (Alertmanager 0.15 and later)"
    )]
    Version(String),
    /// Too many alerts in one post.
    #[error(
        "{0} alerts in one post; at most {MAX_ALERTS} are read: set `max_alerts` in the Alertmanager webhook_config"
    )]
    TooMany(usize),
    /// An alert whose status is neither firing nor resolved.
    #[error("alert {index}: status `{status}` is neither `firing` nor `resolved`")]
    Status {
        /// Position in `alerts`.
        index: usize,
        /// What was sent.
        status: String,
    },
    /// An alert whose `startsAt` is no time.
    #[error("alert {index}: startsAt `{text}` is not an RFC 3339 time")]
    StartsAt {
        /// Position in `alerts`.
        index: usize,
        /// What was sent.
        text: String,
    },
}

/// Firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition no longer holds.
    Resolved,
}

impl AlertStatus {
    /// The webhook's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert of a post, as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Its labels (`alertname`, `whyline_metric`, ...).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Its annotations (`summary`, `runbook_url`, ...).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (RFC 3339).
    pub starts_at: String,
    /// When it ended (RFC 3339; the zero time while firing).
    #[serde(default)]
    pub ends_at: String,
    /// The link to the rule's expression in Prometheus.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's identity of the alert (a hash of its labels).
    #[serde(default)]
    pub fingerprint: String,
}

/// One post, as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Post {
    /// Must be `"4"`.
    pub version: String,
    /// The group's identity; a re-sent group has the same key.
    pub group_key: String,
    /// Alerts Alertmanager left out because of `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` when any alert fires.
    #[serde(default)]
    pub status: String,
    /// The receiver's name in Alertmanager's configuration.
    #[serde(default)]
    pub receiver: String,
    /// The labels the group is formed by.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert shares.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert shares.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's address.
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<Alert>,
}

/// One alert, checked: what the receiver stores and answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The group it came in.
    pub group_key: String,
    /// Alertmanager's identity of the alert; derived from the labels when absent.
    pub fingerprint: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// When it started, Unix ms.
    pub starts_at: i64,
    /// The alert as sent.
    pub alert: Alert,
}

impl Received {
    /// The identity a re-sent alert shares: Alertmanager sends a group again
    /// on every `group_interval` and after restarts, and the same firing keeps
    /// its `startsAt`, so a new firing of the same alert is a new key.
    pub fn dedup_key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.group_key,
            self.fingerprint,
            self.status.as_str(),
            self.starts_at
        )
    }

    /// The catalog metric it names: its `whyline_metric` label, if any.
    pub fn metric_label(&self) -> Option<&str> {
        self.alert
            .labels
            .get(crate::rules::METRIC_LABEL)
            .map(String::as_str)
    }

    /// Its `alertname`.
    pub fn name(&self) -> &str {
        self.alert
            .labels
            .get("alertname")
            .map_or("(no alertname)", String::as_str)
    }
}

/// A stable stand-in for a missing fingerprint: FNV-1a of the sorted labels
/// (Alertmanager always sends one; a hand-written post may not).
fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for byte in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// Reads and checks one post; nothing is done with a post that fails.
pub fn parse(body: &[u8]) -> Result<(Post, Vec<Received>), WebhookError> {
    // The version is checked before the shape, so an old or future webhook
    // is told what is wrong rather than which field is missing.
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Shape(e.to_string()))?;
    match value.get("version") {
        Some(serde_json::Value::String(v)) if v == "4" => {}
        Some(serde_json::Value::String(v)) => return Err(WebhookError::Version(v.clone())),
        Some(other) => return Err(WebhookError::Version(other.to_string())),
        None => {
            return Err(WebhookError::Shape(
                "no `version` field (Alertmanager sends \"4\")".to_string(),
            ));
        }
    }
    if let Some(n) = value
        .get("alerts")
        .and_then(serde_json::Value::as_array)
        .map(Vec::len)
        .filter(|n| *n > MAX_ALERTS)
    {
        return Err(WebhookError::TooMany(n));
    }
    let post: Post =
        serde_json::from_value(value).map_err(|e| WebhookError::Shape(e.to_string()))?;
    let mut received = Vec::with_capacity(post.alerts.len());
    for (index, alert) in post.alerts.iter().enumerate() {
        let status = match alert.status.as_str() {
            "firing" => AlertStatus::Firing,
            "resolved" => AlertStatus::Resolved,
            other => {
                return Err(WebhookError::Status {
                    index,
                    status: other.to_string(),
                });
            }
        };
        let starts_at =
            whyline_series::parse_time(&alert.starts_at).map_err(|_| WebhookError::StartsAt {
                index,
                text: alert.starts_at.clone(),
            })?;
        let fingerprint = if alert.fingerprint.trim().is_empty() {
            fingerprint_of(&alert.labels)
        } else {
            alert.fingerprint.clone()
        };
        received.push(Received {
            group_key: post.group_key.clone(),
            fingerprint,
            status,
            starts_at,
            alert: alert.clone(),
        });
    }
    Ok((post, received))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example payload of Alertmanager's docs, with two alerts.
    pub(crate) const POST: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"RevenueRed\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "whyline",
      "groupLabels": {"alertname": "RevenueRed"}, "commonLabels": {"severity": "critical"},
      "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
      "alerts": [
        {"status": "firing", "labels": {"alertname": "RevenueRed", "whyline_metric": "revenue"},
         "annotations": {"summary": "Revenue is red"}, "startsAt": "2026-03-02T20:57:00.123456789Z",
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "a1b2"},
        {"status": "resolved", "labels": {"alertname": "DiskFull"},
         "annotations": {}, "startsAt": "2026-03-02T20:00:00Z",
         "endsAt": "2026-03-02T20:30:00Z", "generatorURL": "", "fingerprint": ""}
      ]}"#;

    #[test]
    fn a_post_from_the_docs_is_read() {
        let (post, received) = parse(POST.as_bytes()).expect("valid");
        assert_eq!(post.receiver, "whyline");
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].status, AlertStatus::Firing);
        assert_eq!(received[0].starts_at, 1_772_485_020_123);
        assert_eq!(received[0].metric_label(), Some("revenue"));
        assert_eq!(received[1].status, AlertStatus::Resolved);
        assert_eq!(received[1].metric_label(), None);
        // A missing fingerprint is derived from the labels, the same each time.
        assert_eq!(received[1].fingerprint.len(), 16);
        let (_, again) = parse(POST.as_bytes()).expect("valid");
        assert_eq!(again[1].dedup_key(), received[1].dedup_key());
        assert_ne!(received[0].dedup_key(), received[1].dedup_key());
    }

    #[test]
    fn a_wrong_version_is_named() {
        let body = POST.replace("\"version\": \"4\"", "\"version\": \"3\"");
        assert_eq!(
            parse(body.as_bytes()),
            Err(WebhookError::Version("3".to_string()))
        );
        let body = POST.replace("\"version\": \"4\"", "\"version\": 4");
        assert_eq!(
            parse(body.as_bytes()),
            Err(WebhookError::Version("4".to_string()))
        );
    }

    #[test]
    fn malformed_json_and_a_wrong_shape_are_refused() {
        assert!(matches!(parse(b"{not json"), Err(WebhookError::Shape(_))));
        assert!(matches!(
            parse(br#"{"version": "4", "groupKey": "g"}"#),
            Err(WebhookError::Shape(m)) if m.contains("alerts")
        ));
        let body = POST.replace("\"status\": \"resolved\"", "\"status\": \"pending\"");
        assert_eq!(
            parse(body.as_bytes()),
            Err(WebhookError::Status {
                index: 1,
                status: "pending".to_string()
            })
        );
        let body = POST.replace("2026-03-02T20:00:00Z", "yesterday");
        assert!(matches!(
            parse(body.as_bytes()),
            Err(WebhookError::StartsAt { index: 1, .. })
        ));
    }

    #[test]
    fn too_many_alerts_are_refused_before_they_are_read() {
        let alerts =
            vec![r#"{"status":"firing","startsAt":"2026-03-02T20:00:00Z"}"#; MAX_ALERTS + 1];
        let body = format!(
            r#"{{"version":"4","groupKey":"g","alerts":[{}]}}"#,
            alerts.join(",")
        );
        assert_eq!(
            parse(body.as_bytes()),
            Err(WebhookError::TooMany(MAX_ALERTS + 1))
        );
    }
}
