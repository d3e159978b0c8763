//! The draft catalog an import produces, and its YAML text.
//!
//! The text is written by hand rather than by a serializer so that it reads
//! as a person would write a catalog (comments saying what to review, one
//! metric after another in source order); every string is written as a JSON
//! string, which is a valid YAML double-quoted scalar, so no value can change
//! meaning on the way out.

use std::fmt::Write as _;

use whyline_catalog::{Effect, Good, Layer};

/// A threshold's side: red or amber when the value is below or above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Side {
    /// Bad when the value falls below the number.
    Below(f64),
    /// Bad when the value rises above the number.
    Above(f64),
}

/// A driver edge of a drafted metric.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftDriver {
    /// The driving metric's id.
    pub metric: String,
    /// Its sign.
    pub effect: Effect,
    /// Its lag, in the catalog's duration grammar (`14d`), when the source says.
    pub lag: Option<String>,
    /// The mechanism, as the source states it.
    pub why: Option<String>,
    /// Where the edge came from.
    pub origin: String,
    /// Structure only (a call graph, a dependency list): a hypothesis.
    pub proposed: bool,
}

/// A drafted metric: only what its source says.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftMetric {
    /// Catalog id.
    pub id: String,
    /// Display name, when the source has one beyond the id.
    pub name: Option<String>,
    /// What it measures, from the source's own words.
    pub description: Option<String>,
    /// Layer (the source rarely says; how it was chosen is in `notes`).
    pub layer: Layer,
    /// Unit for display.
    pub unit: Option<String>,
    /// Which direction is good.
    pub good: Option<Good>,
    /// Owner, when the source names exactly one.
    pub owner: Option<String>,
    /// Service, when the source names one.
    pub service: Option<String>,
    /// The red threshold.
    pub red: Option<Side>,
    /// The amber threshold.
    pub amber: Option<Side>,
    /// A PromQL query that returns the metric as one series.
    pub query: Option<String>,
    /// Edges into the metric.
    pub drivers: Vec<DraftDriver>,
    /// Runbook URL.
    pub runbook: Option<String>,
    /// Where it came from (`file:line`, a URL).
    pub origin: String,
    /// What a reviewer should know, written as comments above the metric.
    pub notes: Vec<String>,
}

impl DraftMetric {
    /// A metric with only an id, a layer and an origin.
    pub fn new(id: String, layer: Layer, origin: String) -> Self {
        DraftMetric {
            id,
            name: None,
            description: None,
            layer,
            unit: None,
            good: None,
            owner: None,
            service: None,
            red: None,
            amber: None,
            query: None,
            drivers: Vec::new(),
            runbook: None,
            origin,
            notes: Vec::new(),
        }
    }
}

/// Something the import could not take, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where it is (`file:line`).
    pub origin: String,
    /// Why it was not imported, and what to do.
    pub reason: String,
}

/// One catalog file of the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftFile {
    /// File name inside the output folder.
    pub name: String,
    /// What it was drafted from (shown in its header).
    pub from: String,
    /// Its metrics, in source order.
    pub metrics: Vec<DraftMetric>,
}

/// The connection every imported PromQL query reads through.
pub const PROMETHEUS_CONNECTION: &str = "prometheus";

/// The whole draft.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    /// Catalog files, sorted by name.
    pub files: Vec<DraftFile>,
    /// Items left out, in input order.
    pub skipped: Vec<Skipped>,
    /// Items taken with a caveat (an ambiguous owner, a dropped second lag).
    pub warnings: Vec<Skipped>,
    /// The Prometheus URL the queries were written for, when known.
    pub prometheus_url: Option<String>,
}

impl Draft {
    /// Whether any metric reads PromQL (and so needs the connection file).
    pub fn needs_prometheus(&self) -> bool {
        self.files
            .iter()
            .flat_map(|f| &f.metrics)
            .any(|m| m.query.is_some())
    }

    /// The catalog file that defines the Prometheus connection.
    pub fn connection_file(&self) -> String {
        let url = self
            .prometheus_url
            .as_deref()
            .unwrap_or("http://127.0.0.1:9090");
        let mut out = String::new();
        out.push_str("# Drafted by `whyline import`: the Prometheus every imported query reads.\n");
        if self.prometheus_url.is_none() {
            out.push_str("# The sources did not say where it is: set `url` to your server.\n");
        }
        out.push_str("version: 1\nconnections:\n");
        let _ = writeln!(
            out,
            "  {PROMETHEUS_CONNECTION}: {{ kind: prometheus, url: {} }}",
            quote(url)
        );
        out.push_str("metrics: []\n");
        out
    }
}

/// A string as a YAML double-quoted scalar (JSON's escaping is YAML's).
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// Rust prints the shortest text that reads back as the same f64, which is
/// also a YAML number.
fn number(v: f64) -> String {
    format!("{v}")
}

fn side(s: Side) -> String {
    match s {
        Side::Below(v) => format!("{{ below: {} }}", number(v)),
        Side::Above(v) => format!("{{ above: {} }}", number(v)),
    }
}

/// The YAML text of one draft file.
pub fn render(file: &DraftFile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Drafted by `whyline import` from {}.", file.from);
    out.push_str(
        "# Review before merging: no decision was invented (test 1 fails until a person\n\
         # writes `decision:` and `audience:`), layers the source does not state are\n\
         # guessed (see the notes), and `proposed: true` edges await data (`whyline edges`).\n",
    );
    out.push_str("version: 1\nmetrics:\n");
    for m in &file.metrics {
        out.push('\n');
        for note in &m.notes {
            let _ = writeln!(out, "  # {}", note.replace('\n', " "));
        }
        let _ = writeln!(out, "  - id: {}", quote(&m.id));
        if let Some(name) = &m.name {
            let _ = writeln!(out, "    name: {}", quote(name));
        }
        if let Some(d) = &m.description {
            let _ = writeln!(out, "    description: {}", quote(d.trim()));
        }
        let _ = writeln!(out, "    layer: {}", m.layer.as_str());
        if let Some(u) = &m.unit {
            let _ = writeln!(out, "    unit: {}", quote(u));
        }
        if let Some(g) = m.good {
            let _ = writeln!(out, "    good: {}", g.as_str());
        }
        if let Some(o) = &m.owner {
            let _ = writeln!(out, "    owner: {}", quote(o));
        }
        if let Some(s) = &m.service {
            let _ = writeln!(out, "    service: {}", quote(s));
        }
        if m.red.is_some() || m.amber.is_some() {
            out.push_str("    thresholds:\n");
            if let Some(r) = m.red {
                let _ = writeln!(out, "      red: {}", side(r));
            }
            if let Some(a) = m.amber {
                let _ = writeln!(out, "      amber: {}", side(a));
            }
        }
        if let Some(q) = &m.query {
            out.push_str("    source:\n      prometheus:\n");
            let _ = writeln!(out, "        connection: {PROMETHEUS_CONNECTION}");
            let _ = writeln!(out, "        query: {}", quote(q));
        }
        if let Some(r) = &m.runbook {
            let _ = writeln!(out, "    runbook: {}", quote(r));
        }
        let _ = writeln!(out, "    origin: {}", quote(&m.origin));
        if !m.drivers.is_empty() {
            out.push_str("    drivers:\n");
            for d in &m.drivers {
                let _ = writeln!(out, "      - metric: {}", quote(&d.metric));
                let _ = writeln!(out, "        effect: {}", d.effect.as_str());
                if let Some(lag) = &d.lag {
                    let _ = writeln!(out, "        lag: {lag}");
                }
                if let Some(why) = &d.why {
                    let _ = writeln!(out, "        why: {}", quote(why));
                }
                let _ = writeln!(out, "        origin: {}", quote(&d.origin));
                if d.proposed {
                    out.push_str("        proposed: true\n");
                }
            }
        }
    }
    if file.metrics.is_empty() {
        out.push_str("  []\n");
    }
    out
}
