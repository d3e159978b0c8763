//! From received alerts and their whys to the messages people are paged with.
//!
//! Alerts of one group that share a root cause become one message: a red
//! revenue, a red checkout latency and a red checkout CPU that all trace to
//! the CPU are one page naming the CPU, not three (the "storm" on-call
//! users ask correlation to end). The message leads with the alert highest in
//! the map (business first), since that is what the page is about.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use whyline_catalog::{Catalog, Layer};

use crate::rules::{METRIC_LABEL, camel};
use crate::webhook::{AlertStatus, Received};

/// What whyline could say about one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The why, as `whyline why --format json` prints it.
    Why(Value),
    /// The alert names no catalog metric.
    NotInCatalog,
    /// The alert names a metric, but its why could not be computed.
    Unanswered(String),
    /// A resolved alert: nothing to explain.
    Resolved,
}

/// One alert and what whyline says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// The alert.
    pub received: Received,
    /// The catalog metric it is tied to.
    pub metric: Option<String>,
    /// The root cause its why names (for a resolved alert: the one its firing named).
    pub root: Option<String>,
    /// The answer.
    pub answer: Answer,
}

/// One notification: alerts of a group with one root cause and one status.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Alertmanager's group.
    pub group_key: String,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// The shared root cause, if any.
    pub root: Option<String>,
    /// The alerts, the headline first.
    pub alerts: Vec<Explained>,
}

impl Message {
    /// The alert the message leads with.
    pub fn headline(&self) -> &Explained {
        &self.alerts[0]
    }

    /// The identity a re-built message shares (its outbox key): the group,
    /// status, root and every alert it covers.
    pub fn key(&self) -> String {
        let mut alerts: Vec<String> = self.alerts.iter().map(|a| a.received.dedup_key()).collect();
        alerts.sort();
        format!(
            "{}\u{1e}{}\u{1e}{}\u{1e}{}",
            self.group_key,
            self.status.as_str(),
            self.root.as_deref().unwrap_or(""),
            alerts.join("\u{1e}")
        )
    }

    /// The key the incident keeps from trigger to resolve (PagerDuty's
    /// `dedup_key`): the group and the root cause.
    pub fn incident_key(&self) -> String {
        format!(
            "whyline/{}/{}",
            self.group_key,
            self.root.as_deref().unwrap_or("-")
        )
    }
}

/// The catalog metric an alert names: its `whyline_metric` label, else an
/// alert name that is a metric id or an exported rule's name (`RevenueRed`).
pub fn metric_of(received: &Received, catalog: &Catalog) -> Option<String> {
    if let Some(id) = received.alert.labels.get(METRIC_LABEL) {
        return catalog.index_of(id).map(|_| id.clone());
    }
    let name = received.alert.labels.get("alertname")?;
    if catalog.index_of(name).is_some() {
        return Some(name.clone());
    }
    catalog
        .metrics
        .iter()
        .find(|m| {
            let base = camel(&m.id);
            name == &base || name == &format!("{base}Red") || name == &format!("{base}Amber")
        })
        .map(|m| m.id.clone())
}

/// The root of a why: the lead when the data suggests one, else the first cause.
pub fn root_of(why: &Value) -> Option<String> {
    why.get("lead")
        .and_then(|l| l.get("metric"))
        .or_else(|| why.get("causes")?.get(0)?.get("metric"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The breadcrumb of a why: the lead's path, else the first cause's.
fn path_of(why: &Value) -> Vec<String> {
    why.get("lead")
        .and_then(|l| l.get("path"))
        .filter(|p| p.is_array())
        .or_else(|| why.get("causes")?.get(0)?.get("path"))
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn layer_rank(catalog: &Catalog, metric: Option<&str>) -> usize {
    match metric.and_then(|m| catalog.metric(m)).map(|m| m.layer) {
        Some(Layer::Business) => 0,
        Some(Layer::Service) => 1,
        Some(Layer::System) => 2,
        None => 3,
    }
}

/// Groups the alerts of one post into messages: one per status and root cause.
pub fn group(items: Vec<Explained>, catalog: &Catalog) -> Vec<Message> {
    let mut by_key: BTreeMap<(String, AlertStatus, Option<String>), Vec<Explained>> =
        BTreeMap::new();
    for item in items {
        let key = (
            item.received.group_key.clone(),
            item.received.status,
            item.root.clone(),
        );
        by_key.entry(key).or_default().push(item);
    }
    by_key
        .into_iter()
        .map(|((group_key, status, root), mut alerts)| {
            alerts.sort_by_key(|a| {
                let path = match &a.answer {
                    Answer::Why(w) => path_of(w).len(),
                    _ => 0,
                };
                (
                    layer_rank(catalog, a.metric.as_deref()),
                    std::cmp::Reverse(path),
                    a.received.name().to_string(),
                )
            });
            Message {
                group_key,
                status,
                root,
                alerts,
            }
        })
        .collect()
}

/// Where the messages link to.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The whyline page, e.g. `https://whyline.example.com/`.
    pub page: Option<String>,
}

impl Links {
    /// The page, opened on a metric.
    fn page_for(&self, metric: &str) -> Option<String> {
        self.page.as_ref().map(|p| {
            let base = p.trim_end_matches('/');
            format!("{base}/#metric={metric}")
        })
    }
}

fn owner(catalog: &Catalog, metric: &str) -> Option<String> {
    catalog.metric(metric).and_then(|m| m.owner.clone())
}

fn display(catalog: &Catalog, metric: &str) -> String {
    catalog
        .metric(metric)
        .map_or_else(|| metric.to_string(), |m| m.name.clone())
}

/// The owners along a path, each once, top first.
fn owners(catalog: &Catalog, path: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in path {
        if let Some(o) = owner(catalog, m)
            && !out.contains(&o)
        {
            out.push(o);
        }
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.0}%", (share * 100.0).clamp(0.0, 100.0))
}

/// What the message says, in plain sentences, before any one notifier's format.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// One line: what is wrong and where the cause is.
    pub title: String,
    /// The breadcrumb from the alerted metric to the root, with arrows.
    pub breadcrumb: Option<String>,
    /// How much of the move the root explains, in words.
    pub share: Option<String>,
    /// Owners along the path, top first.
    pub owners: Vec<String>,
    /// Other alerts folded into this message.
    pub also: Vec<String>,
    /// The runbook link, from the alert or the catalog.
    pub runbook: Option<String>,
    /// The page link.
    pub page: Option<String>,
    /// The severity: `critical`, `warning`, `error` or `info`.
    pub severity: &'static str,
}

/// The sentences of a message.
pub fn say(message: &Message, catalog: &Catalog, links: &Links) -> Said {
    let head = message.headline();
    let alert = head.received.name().to_string();
    let metric_text = head
        .metric
        .as_deref()
        .map_or_else(|| alert.clone(), |m| display(catalog, m));
    let also: Vec<String> = message.alerts[1..]
        .iter()
        .map(|a| a.received.name().to_string())
        .collect();
    let runbook = head
        .received
        .alert
        .annotations
        .get("runbook_url")
        .cloned()
        .or_else(|| {
            head.metric
                .as_deref()
                .and_then(|m| catalog.metric(m)?.runbook.clone())
        });
    let page = head.metric.as_deref().and_then(|m| links.page_for(m));
    let severity = match head
        .received
        .alert
        .labels
        .get("severity")
        .map(String::as_str)
    {
        Some("critical") => "critical",
        Some("warning") => "warning",
        Some("error") => "error",
        Some("info") => "info",
        _ => "critical",
    };
    if message.status == AlertStatus::Resolved {
        return Said {
            title: format!("Resolved: {alert} ({metric_text})"),
            breadcrumb: None,
            share: None,
            owners: head
                .metric
                .as_deref()
                .and_then(|m| owner(catalog, m))
                .into_iter()
                .collect(),
            also,
            runbook,
            page,
            severity: "info",
        };
    }
    match &head.answer {
        Answer::NotInCatalog => Said {
            title: format!(
                "{alert} is firing: not in the catalog, so whyline has no why (label the rule `{METRIC_LABEL}: ID`, or name a catalog metric)"
            ),
            breadcrumb: None,
            share: None,
            owners: Vec::new(),
            also,
            runbook,
            page: None,
            severity,
        },
        Answer::Unanswered(reason) => Said {
            title: format!("{alert} is firing on {metric_text}: no why ({reason})"),
            breadcrumb: None,
            share: None,
            owners: head
                .metric
                .as_deref()
                .and_then(|m| owner(catalog, m))
                .into_iter()
                .collect(),
            also,
            runbook,
            page,
            severity,
        },
        Answer::Resolved => Said {
            title: format!("Resolved: {alert} ({metric_text})"),
            breadcrumb: None,
            share: None,
            owners: Vec::new(),
            also,
            runbook,
            page,
            severity: "info",
        },
        Answer::Why(why) => {
            let path = path_of(why);
            let asked = head.metric.clone().unwrap_or_default();
            let status = why
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let root = message.root.clone();
            let map_ends = root.as_deref() == Some(asked.as_str()) || root.is_none();
            let title = match (&root, status) {
                (None, "red" | "amber") => format!(
                    "{metric_text} is {status}: nothing below it moved; the map ends there (mapping work owed)"
                ),
                (None, _) => format!(
                    "{alert} fired, but whyline reads {metric_text} as {status} at that moment and nothing below it moved"
                ),
                (Some(_), _) if map_ends => format!(
                    "{metric_text} is {status}: its drivers do not explain the move; the map ends there (mapping work owed)"
                ),
                (Some(r), _) => format!(
                    "{metric_text} is {status}: root cause {}{}",
                    display(catalog, r),
                    owner(catalog, r)
                        .map(|o| format!(" (owner {o})"))
                        .unwrap_or_default()
                ),
            };
            let lead = why.get("lead").is_some_and(|l| !l.is_null());
            let first = why.get("causes").and_then(|c| c.get(0));
            let share = if lead {
                Some("suggested by the data through an edge the map does not have yet: check it before acting".to_string())
            } else {
                // The root's own part of the move, as the CLI and the page
                // say it: the parts add up with what the map leaves unexplained.
                first
                    .and_then(|c| c.get("own_share"))
                    .and_then(Value::as_f64)
                    .filter(|_| !map_ends)
                    .map(|s| {
                        let unexplained = why.get("unexplained").and_then(Value::as_f64).unwrap_or(0.0);
                        format!(
                            "the root cause's own move accounts for ~{} of the move; unexplained {}",
                            percent(s),
                            percent(unexplained)
                        )
                    })
            };
            Said {
                title,
                breadcrumb: (path.len() > 1).then(|| path.join(" → ")),
                share,
                owners: owners(
                    catalog,
                    if path.is_empty() {
                        std::slice::from_ref(&asked)
                    } else {
                        &path
                    },
                ),
                also,
                runbook,
                page,
                severity,
            }
        }
    }
}

/// Slack mrkdwn: `&`, `<` and `>` are the only characters it needs escaped.
fn slack_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook body (Block Kit), with a plain `text` fallback
/// for notifications and clients that do not draw blocks.
pub fn slack(message: &Message, catalog: &Catalog, links: &Links) -> Value {
    let said = say(message, catalog, links);
    let icon = match (message.status, said.severity) {
        (AlertStatus::Resolved, _) => "✅",
        (_, "warning") => "🟠",
        _ => "🔴",
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&format!("{icon} {}", said.title), 150), "emoji": true}
    })];
    let mut body = Vec::new();
    if let Some(b) = &said.breadcrumb {
        body.push(format!("*Why:* {}", slack_text(b)));
    }
    if let Some(s) = &said.share {
        body.push(slack_text(&format!("{}{}", s[..1].to_uppercase(), &s[1..])));
    }
    if !body.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&body.join("\n"), 3000)}}));
    }
    let mut fields = Vec::new();
    if !said.owners.is_empty() {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Owners*\n{}", slack_text(&said.owners.join(", ")))}));
    }
    fields.push(json!({"type": "mrkdwn", "text": format!("*Alert*\n{}", slack_text(message.headline().received.name()))}));
    fields.push(json!({"type": "mrkdwn", "text": format!("*Since*\n{}", slack_text(&message.headline().received.alert.starts_at))}));
    blocks.push(json!({"type": "section", "fields": fields}));
    if !said.also.is_empty() {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&slack_text(&format!("Same cause, folded into this message: {}", said.also.join(", "))), 3000)}]}));
    }
    let mut buttons = Vec::new();
    if let Some(p) = &said.page {
        buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": "Open the map"}, "url": p}));
    }
    if let Some(r) = &said.runbook {
        buttons.push(
            json!({"type": "button", "text": {"type": "plain_text", "text": "Runbook"}, "url": r}),
        );
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    let mut text = said.title.clone();
    if let Some(b) = &said.breadcrumb {
        text.push_str(&format!(" — {b}"));
    }
    json!({"text": slack_text(&text), "blocks": blocks})
}

/// Cuts text to `max` characters, marking the cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A PagerDuty Events API v2 event: trigger for a firing message, resolve
/// (same `dedup_key`) for a resolved one.
pub fn pagerduty(message: &Message, catalog: &Catalog, links: &Links, routing_key: &str) -> Value {
    if message.status == AlertStatus::Resolved {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": message.incident_key(),
        });
    }
    let said = say(message, catalog, links);
    let head = message.headline();
    let mut details = serde_json::Map::new();
    if let Some(b) = &said.breadcrumb {
        details.insert("path".to_string(), json!(b));
    }
    if let Some(s) = &said.share {
        details.insert("explained".to_string(), json!(s));
    }
    details.insert("owners".to_string(), json!(said.owners));
    details.insert(
        "alerts".to_string(),
        json!(
            message
                .alerts
                .iter()
                .map(|a| a.received.name())
                .collect::<Vec<_>>()
        ),
    );
    if let Answer::Why(w) = &head.answer {
        details.insert("why".to_string(), w.clone());
    }
    let mut link_list = Vec::new();
    if let Some(p) = &said.page {
        link_list.push(json!({"href": p, "text": "whyline: the map at this metric"}));
    }
    if let Some(r) = &said.runbook {
        link_list.push(json!({"href": r, "text": "Runbook"}));
    }
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": message.incident_key(),
        "payload": {
            "summary": truncate(&said.title, 1024),
            "source": "whyline",
            "severity": said.severity,
            "timestamp": head.received.alert.starts_at,
            "custom_details": details,
        },
        "links": link_list,
        "client": "whyline",
    });
    if let Some(root) = &message.root {
        event["payload"]["component"] = json!(root);
    }
    if let Some(layer) = head
        .metric
        .as_deref()
        .and_then(|m| catalog.metric(m))
        .map(|m| m.layer)
    {
        event["payload"]["class"] = json!(layer.as_str());
    }
    if let Some(p) = &said.page {
        event["client_url"] = json!(p);
    }
    event
}

/// The generic webhook body (`../shared/spec/cli.md`): the headline `alert`
/// and its `why`, plus every alert of the message with its own why.
pub fn webhook(message: &Message) -> Value {
    let alert_json = |a: &Explained| {
        json!({
            "labels": a.received.alert.labels,
            "annotations": a.received.alert.annotations,
            "startsAt": a.received.alert.starts_at,
            "status": a.received.status.as_str(),
            "fingerprint": a.received.fingerprint,
            "metric": a.metric,
        })
    };
    let why = |a: &Explained| match &a.answer {
        Answer::Why(w) => w.clone(),
        _ => Value::Null,
    };
    let note = |a: &Explained| match &a.answer {
        Answer::NotInCatalog => Some("not in the catalog".to_string()),
        Answer::Unanswered(r) => Some(r.clone()),
        _ => None,
    };
    let head = message.headline();
    json!({
        "group_key": message.group_key,
        "status": message.status.as_str(),
        "root": message.root,
        "alert": alert_json(head),
        "why": why(head),
        "note": note(head),
        "alerts": message.alerts.iter().map(|a| json!({"alert": alert_json(a), "why": why(a), "note": note(a)})).collect::<Vec<_>>(),
    })
}

/// Escapes text for HTML.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Slack mrkdwn (already escaped for Slack) as HTML: `*bold*` and line breaks.
fn mrkdwn_html(text: &str) -> String {
    // Slack's own escapes are HTML's, so the text is already safe to embed.
    let mut out = String::new();
    for (i, part) in text.split('*').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<b>{part}</b>"));
        } else {
            out.push_str(part);
        }
    }
    out.replace('\n', "<br>")
}

/// A self-contained HTML preview of a Slack Block Kit message, drawn the way
/// Slack lays the blocks out (header, sections, field grid, context, buttons):
/// for the docs and for reviewing a message's layout without a Slack workspace.
pub fn slack_preview_html(message: &Value) -> String {
    let mut body = String::new();
    for block in message["blocks"].as_array().into_iter().flatten() {
        let text = |v: &Value| v["text"].as_str().unwrap_or("").to_string();
        match block["type"].as_str() {
            Some("header") => body.push_str(&format!("<h1>{}</h1>", html(&text(&block["text"])))),
            Some("section") => {
                if block["text"].is_object() {
                    body.push_str(&format!("<p>{}</p>", mrkdwn_html(&text(&block["text"]))));
                }
                if let Some(fields) = block["fields"].as_array() {
                    body.push_str("<div class=fields>");
                    for f in fields {
                        body.push_str(&format!("<div>{}</div>", mrkdwn_html(&text(f))));
                    }
                    body.push_str("</div>");
                }
            }
            Some("context") => {
                for e in block["elements"].as_array().into_iter().flatten() {
                    body.push_str(&format!("<p class=context>{}</p>", mrkdwn_html(&text(e))));
                }
            }
            Some("actions") => {
                body.push_str("<p>");
                for e in block["elements"].as_array().into_iter().flatten() {
                    body.push_str(&format!(
                        "<a class=button href=\"{}\">{}</a>",
                        html(e["url"].as_str().unwrap_or("")),
                        html(&text(&e["text"]))
                    ));
                }
                body.push_str("</p>");
            }
            _ => {}
        }
    }
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>whyline: Slack message preview</title><style>\
body{{font:15px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;background:#f8f8f8;margin:0;padding:24px}}\
.msg{{background:#fff;border:1px solid #ddd;border-radius:8px;max-width:640px;padding:12px 16px 12px 64px;position:relative}}\
.msg:before{{content:'W';position:absolute;left:14px;top:14px;width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;font-weight:700;text-align:center;line-height:36px}}\
.who{{font-weight:700}}.who span{{font-weight:400;color:#777;font-size:12px;margin-left:6px}}\
h1{{font-size:18px;margin:6px 0}}.fields{{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin:8px 0}}\
.context{{color:#616061;font-size:13px}}.button{{display:inline-block;border:1px solid #bbb;border-radius:4px;padding:4px 12px;margin-right:8px;color:#1d1c1d;text-decoration:none;font-weight:600}}\
</style></head><body><div class=msg><div class=who>whyline<span>APP</span></div>{body}</div></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::parse;
    use whyline_catalog::SourceFile;

    const SHOP: &str = "version: 1\nmetrics:\n  - id: revenue\n    name: Revenue per hour\n    layer: business\n    owner: team-growth\n    runbook: https://wiki/revenue\n    drivers: [{ metric: latency, effect: decreases }]\n  - id: latency\n    layer: service\n    owner: team-checkout\n    drivers: [{ metric: cpu, effect: increases }]\n  - id: cpu\n    layer: system\n    owner: team-platform\n";

    fn catalog() -> Catalog {
        whyline_catalog::parse(vec![SourceFile {
            path: "shop.yaml".into(),
            text: SHOP.to_string(),
        }])
        .catalog
    }

    fn post(alerts: &[(&str, &str, &str)]) -> Vec<Received> {
        let alerts: Vec<String> = alerts
            .iter()
            .map(|(name, metric, status)| {
                format!(
                    r#"{{"status":"{status}","labels":{{"alertname":"{name}"{}}},"startsAt":"2026-03-02T20:00:00Z","fingerprint":"{name}"}}"#,
                    if metric.is_empty() { String::new() } else { format!(r#","whyline_metric":"{metric}""#) }
                )
            })
            .collect();
        let body = format!(
            r#"{{"version":"4","groupKey":"g","alerts":[{}]}}"#,
            alerts.join(",")
        );
        parse(body.as_bytes()).expect("valid").1
    }

    fn why(metric: &str, path: &[&str]) -> Value {
        json!({"metric": metric, "status": "red", "causes": [{"metric": path.last(), "path": path, "own_share": 0.62}], "unexplained": 0.05, "lead": null})
    }

    fn explained(received: Received, catalog: &Catalog, answer: Answer) -> Explained {
        let metric = metric_of(&received, catalog);
        let root = match &answer {
            Answer::Why(w) => root_of(w),
            _ => None,
        };
        Explained {
            received,
            metric,
            root,
            answer,
        }
    }

    #[test]
    fn alerts_sharing_a_root_cause_become_one_message_led_by_the_highest_metric() {
        let catalog = catalog();
        let received = post(&[
            ("LatencyRed", "latency", "firing"),
            ("RevenueRed", "revenue", "firing"),
            ("DiskFull", "", "firing"),
        ]);
        let items = vec![
            explained(
                received[0].clone(),
                &catalog,
                Answer::Why(why("latency", &["latency", "cpu"])),
            ),
            explained(
                received[1].clone(),
                &catalog,
                Answer::Why(why("revenue", &["revenue", "latency", "cpu"])),
            ),
            explained(received[2].clone(), &catalog, Answer::NotInCatalog),
        ];
        let messages = group(items, &catalog);
        assert_eq!(messages.len(), 2, "{messages:?}");
        let cpu = messages
            .iter()
            .find(|m| m.root.as_deref() == Some("cpu"))
            .expect("cpu");
        assert_eq!(cpu.alerts.len(), 2);
        assert_eq!(cpu.headline().received.name(), "RevenueRed");
        let said = say(
            cpu,
            &catalog,
            &Links {
                page: Some("http://w/".to_string()),
            },
        );
        assert_eq!(
            said.title,
            "Revenue per hour is red: root cause cpu (owner team-platform)"
        );
        assert_eq!(said.breadcrumb.as_deref(), Some("revenue → latency → cpu"));
        assert_eq!(
            said.owners,
            ["team-growth", "team-checkout", "team-platform"]
        );
        assert_eq!(said.also, ["LatencyRed"]);
        assert_eq!(said.runbook.as_deref(), Some("https://wiki/revenue"));
        assert_eq!(said.page.as_deref(), Some("http://w/#metric=revenue"));
        let other = messages
            .iter()
            .find(|m| m.root.is_none())
            .expect("not in catalog");
        assert!(
            say(other, &catalog, &Links::default())
                .title
                .contains("not in the catalog")
        );
    }

    #[test]
    fn an_alert_is_tied_by_label_else_by_a_known_alert_name() {
        let catalog = catalog();
        let received = post(&[
            ("Anything", "cpu", "firing"),
            ("RevenueRed", "", "firing"),
            ("latency", "", "firing"),
            ("Unknown", "", "firing"),
            ("Anything", "nope", "firing"),
        ]);
        let tied: Vec<Option<String>> = received.iter().map(|r| metric_of(r, &catalog)).collect();
        assert_eq!(
            tied,
            [
                Some("cpu".into()),
                Some("revenue".into()),
                Some("latency".into()),
                None,
                None
            ]
        );
    }

    #[test]
    fn each_notifier_gets_its_own_format() {
        let catalog = catalog();
        let received = post(&[("RevenueRed", "revenue", "firing")]);
        let messages = group(
            vec![explained(
                received[0].clone(),
                &catalog,
                Answer::Why(why("revenue", &["revenue", "latency", "cpu"])),
            )],
            &catalog,
        );
        let links = Links {
            page: Some("http://w".to_string()),
        };
        let slack = slack(&messages[0], &catalog, &links);
        assert_eq!(slack["blocks"][0]["type"], "header");
        assert!(
            slack["text"]
                .as_str()
                .expect("text")
                .contains("revenue → latency → cpu")
        );
        assert_eq!(
            slack["blocks"][1]["text"]["text"],
            "*Why:* revenue → latency → cpu\nThe root cause's own move accounts for ~62% of the move; unexplained 5%"
        );
        let pd = pagerduty(&messages[0], &catalog, &links, "KEY");
        assert_eq!(pd["event_action"], "trigger");
        assert_eq!(pd["dedup_key"], "whyline/g/cpu");
        assert_eq!(pd["payload"]["severity"], "critical");
        assert_eq!(
            pd["payload"]["custom_details"]["path"],
            "revenue → latency → cpu"
        );
        assert_eq!(pd["links"][0]["href"], "http://w/#metric=revenue");
        let hook = webhook(&messages[0]);
        assert_eq!(hook["alert"]["fingerprint"], "RevenueRed");
        assert_eq!(hook["why"]["causes"][0]["metric"], "cpu");
        // The resolve carries the trigger's dedup key.
        let mut resolved = messages[0].clone();
        resolved.status = AlertStatus::Resolved;
        assert_eq!(
            pagerduty(&resolved, &catalog, &links, "KEY")["dedup_key"],
            "whyline/g/cpu"
        );
    }

    #[test]
    fn the_slack_preview_draws_every_block() {
        let catalog = catalog();
        let received = post(&[("RevenueRed", "revenue", "firing")]);
        let messages = group(
            vec![explained(
                received[0].clone(),
                &catalog,
                Answer::Why(why("revenue", &["revenue", "latency", "cpu"])),
            )],
            &catalog,
        );
        let page = slack_preview_html(&slack(
            &messages[0],
            &catalog,
            &Links {
                page: Some("http://w".to_string()),
            },
        ));
        assert!(
            page.contains(
                "<h1>🔴 Revenue per hour is red: root cause cpu (owner team-platform)</h1>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<b>Why:</b> revenue → latency → cpu"),
            "{page}"
        );
        assert!(
            page.contains("<b>Owners</b><br>team-growth, team-checkout, team-platform"),
            "{page}"
        );
        assert!(
            page.contains("href=\"https://wiki/revenue\">Runbook</a>"),
            "{page}"
        );
    }

    #[test]
    fn slack_text_is_escaped() {
        assert_eq!(slack_text("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
