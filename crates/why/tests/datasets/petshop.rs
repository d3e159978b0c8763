//! PetShop (Hardt et al., "The PetShop Dataset — Finding Causes of Performance
//! Issues across Microservices", CLeaR 2024; amazon-science/petshop-root-cause-analysis
//! at 1c5992dc, CC-BY-4.0), train split only: the test split is held out and is
//! never read. Read in place from `../shared/datasets/petshop-train/`.
//!
//! The map is written as a user would from the call graph: each node's
//! latency is driven by its callees' latencies and by its own requests, its
//! availability by its callees' availability (a slow or failing callee makes
//! its caller slow or failing, so the causal graph is the call graph
//! reversed). The data of a case is the normal period followed by the issue's
//! rows on one 5-minute grid (the issue was recorded on another day).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use whyline_catalog::Catalog;

/// The scenarios of the train split.
pub const SCENARIOS: [&str; 2] = ["low_traffic", "high_traffic"];

/// The metric kinds of a node, with the statistic used and the good direction.
pub const KINDS: [(&str, &str, &str); 3] = [
    ("latency", "Average", "lower"),
    ("availability", "Average", "higher"),
    ("requests", "Sum", "higher"),
];

/// One scenario: its map, its normal period and its issues.
pub struct Scenario {
    /// `low_traffic` or `high_traffic`.
    pub name: String,
    /// The map, written from the call graph.
    pub catalog: Catalog,
    /// Node names in the order of `graph.csv`.
    pub nodes: Vec<String>,
    /// Their catalog-safe names (metric ids are `SLUG_KIND`).
    pub slugs: Vec<String>,
    /// Call edges (caller, callee) as node positions.
    pub calls: Vec<(usize, usize)>,
    /// The normal period: series by metric id.
    pub normal: BTreeMap<String, Vec<f64>>,
    /// Rows in the normal period.
    pub normal_len: usize,
    /// The issues of the train split.
    pub issues: Vec<Issue>,
}

/// One injected issue.
pub struct Issue {
    /// `issue_N`.
    pub name: String,
    /// `latency` or `availability` (of PetSite, statistic Average).
    pub target_kind: String,
    /// The node where the fault was injected.
    pub root_node: String,
    /// The issue's rows: series by metric id.
    pub rows: BTreeMap<String, Vec<f64>>,
    /// Rows in the issue.
    pub len: usize,
}

/// A catalog-safe name per node: lower case, `_.:-` kept, anything else `_`;
/// a name that collides with an earlier one (PetShop has nodes that differ
/// only in case) gets `-2`.
pub fn slugs(nodes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for node in nodes {
        let base: String = node
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let mut slug = base.clone();
        let mut n = 2;
        while out.contains(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        out.push(slug);
    }
    out
}

/// The catalog id of a node's metric.
pub fn metric_id(slug: &str, kind: &str) -> String {
    format!("{slug}_{kind}")
}

/// Reads a PetShop metrics file: three header rows (node, metric,
/// statistic), an index-name row, then one row per 5 minutes.
fn read_metrics(
    path: &Path,
    nodes: &[String],
    slugs: &[String],
) -> (BTreeMap<String, Vec<f64>>, usize) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    assert!(records.len() >= 4, "{}: too few rows", path.display());
    let mut wanted: Vec<(usize, String)> = Vec::new();
    for (col, node) in records[0].iter().enumerate().skip(1) {
        let (metric, statistic) = (&records[1][col], &records[2][col]);
        let Some(i) = nodes.iter().position(|n| n == node) else {
            continue;
        };
        if KINDS
            .iter()
            .any(|(k, s, _)| *k == metric && *s == statistic)
        {
            wanted.push((col, metric_id(&slugs[i], metric)));
        }
    }
    let rows = &records[4..];
    let mut data = BTreeMap::new();
    for (col, id) in wanted {
        let values: Vec<f64> = rows
            .iter()
            .map(|r| r.get(col).and_then(|c| c.parse().ok()).unwrap_or(f64::NAN))
            .collect();
        data.insert(id, values);
    }
    (data, rows.len())
}

/// The map of a scenario: latency and availability follow the reversed call
/// graph; requests drive the node's own latency.
fn scenario_catalog(nodes: &[String], slugs: &[String], calls: &[(usize, usize)]) -> String {
    let mut text = String::from("version: 1\ndefaults: { owner: petshop-sre }\nmetrics:\n");
    for (i, node) in nodes.iter().enumerate() {
        let service = &slugs[i];
        let top = node == "PetSite";
        for (kind, _, good) in KINDS {
            let id = metric_id(service, kind);
            let layer = if top && kind != "requests" {
                "business"
            } else if kind == "requests" {
                "system"
            } else {
                "service"
            };
            let _ = writeln!(
                text,
                "  - id: '{id}'\n    layer: {layer}\n    good: {good}\n    service: '{service}'"
            );
            // Latency and availability are means over the node's requests.
            match kind {
                "availability" => {
                    let _ = writeln!(
                        text,
                        "    unit: '%'\n    volume: '{}'",
                        metric_id(service, "requests")
                    );
                }
                "latency" => {
                    let _ = writeln!(text, "    unit: s");
                }
                _ => {}
            }
            if top && kind != "requests" {
                let _ = writeln!(
                    text,
                    "    decision: Whether the shop meets its {kind} objective\n    audience: [sre]"
                );
            }
            let mut drivers: Vec<String> = Vec::new();
            if kind != "requests" {
                for &(caller, callee) in calls {
                    if caller == i {
                        drivers.push(metric_id(&slugs[callee], kind));
                    }
                }
            }
            if kind == "latency" {
                drivers.push(metric_id(service, "requests"));
            }
            if !drivers.is_empty() {
                let _ = writeln!(text, "    drivers:");
                for d in drivers {
                    let _ = writeln!(text, "      - {{ metric: '{d}', effect: increases }}");
                }
            }
        }
    }
    text
}

/// Reads one scenario of the train split, or `None` without `../shared`.
pub fn scenario(name: &str) -> Option<Scenario> {
    let root = super::shared()?.join("petshop-train").join(name);
    if !root.is_dir() {
        return None;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(root.join("graph.csv"))
        .ok()?;
    let records: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    let columns: Vec<String> = records[0].iter().skip(1).map(str::to_string).collect();
    let nodes = columns.clone();
    let slugs = slugs(&nodes);
    let mut calls = Vec::new();
    for record in &records[1..] {
        let caller = nodes.iter().position(|n| n == &record[0])?;
        for (j, cell) in record.iter().skip(1).enumerate() {
            if cell.parse::<f64>().is_ok_and(|v| v != 0.0) {
                let callee = nodes.iter().position(|n| n == &columns[j])?;
                calls.push((caller, callee));
            }
        }
    }
    let (normal, normal_len) = read_metrics(&root.join("noissue/metrics.csv"), &nodes, &slugs);
    let mut issues = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(root.join("train"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let target: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("target.json")).ok()?)
                .ok()?;
        let (rows, len) = read_metrics(&folder.join("metrics.csv"), &nodes, &slugs);
        issues.push(Issue {
            name: folder.file_name()?.to_string_lossy().into_owned(),
            target_kind: target["target"]["metric"].as_str()?.to_string(),
            root_node: target["root_cause"]["node"].as_str()?.to_string(),
            rows,
            len,
        });
    }
    Some(Scenario {
        name: name.to_string(),
        catalog: super::catalog(&scenario_catalog(&nodes, &slugs, &calls)),
        slugs,
        nodes,
        calls,
        normal,
        normal_len,
        issues,
    })
}

impl Scenario {
    /// The normal period up to `cut`, then `rows` (one series per metric of the map).
    pub fn joined(
        &self,
        cut: usize,
        rows: &BTreeMap<String, Vec<f64>>,
        len: usize,
    ) -> BTreeMap<String, Vec<f64>> {
        let mut data = BTreeMap::new();
        for (id, normal) in &self.normal {
            let mut column = normal[..cut].to_vec();
            match rows.get(id) {
                Some(r) => column.extend_from_slice(&r[..len]),
                None => column.extend(std::iter::repeat_n(f64::NAN, len)),
            }
            data.insert(id.clone(), column);
        }
        data
    }

    /// Where the paper cuts the normal period to score specificity:
    /// `range(n / 2, n - 3, int(n * 0.1))` (`rca_task.evaluate_specificity`).
    pub fn specificity_cuts(&self) -> Vec<usize> {
        let n = self.normal_len;
        (n / 2..n - 3).step_by((n / 10).max(1)).collect()
    }

    /// The target metric of an issue kind.
    pub fn target(&self, kind: &str) -> String {
        metric_id("petsite", kind)
    }

    /// The node (position) a metric id belongs to.
    pub fn node_of(&self, id: &str) -> Option<usize> {
        self.slugs
            .iter()
            .position(|s| KINDS.iter().any(|(k, _, _)| metric_id(s, k) == id))
    }

    /// The reversed call graph over one metric kind, for the traversal
    /// baseline: `parents[i]` are the callees of node `i`.
    pub fn causal_parents(&self) -> Vec<Vec<usize>> {
        let mut parents = vec![Vec::new(); self.nodes.len()];
        for &(caller, callee) in &self.calls {
            parents[caller].push(callee);
        }
        parents
    }
}

/// How a PetShop question is put to whyline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `why TARGET --at LAST_ISSUE_ROW`: whyline finds the incident itself.
    At,
    /// `why TARGET --baseline NORMAL --window ISSUE` (the paper's protocol).
    Periods,
}

impl Form {
    /// Both forms, in report order.
    pub const ALL: [Form; 2] = [Form::At, Form::Periods];

    /// A label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Form::At => "--at last issue row",
            Form::Periods => "--baseline normal --window issue",
        }
    }
}

/// Top-1 / top-3 / specificity counts.
#[derive(Debug, Default, Clone)]
pub struct Score {
    /// Issues asked.
    pub cases: usize,
    /// True node first.
    pub top1: usize,
    /// True node in the first three.
    pub top3: usize,
    /// Calm windows asked.
    pub calm: usize,
    /// Calm windows where no cause was named.
    pub silent: usize,
    /// Time spent answering (whyline's own, not the data preparation).
    pub elapsed: std::time::Duration,
}

impl Score {
    /// Counts one issue given the rank of its true node.
    pub fn push(&mut self, rank: Option<usize>) {
        self.cases += 1;
        self.top1 += usize::from(rank == Some(0));
        self.top3 += usize::from(rank.is_some_and(|r| r < 3));
    }

    /// Counts one calm window.
    pub fn push_calm(&mut self, named_a_cause: bool) {
        self.calm += 1;
        self.silent += usize::from(!named_a_cause);
    }

    /// Adds another score's counts.
    pub fn add(&mut self, other: &Score) {
        self.cases += other.cases;
        self.top1 += other.top1;
        self.top3 += other.top3;
        self.calm += other.calm;
        self.silent += other.silent;
        self.elapsed += other.elapsed;
    }

    /// Mean time per question, in milliseconds.
    pub fn ms_per_question(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e3 / (self.cases + self.calm).max(1) as f64
    }

    fn share(a: usize, b: usize) -> f64 {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    }

    /// Share of issues with the true node first.
    pub fn top1(&self) -> f64 {
        Self::share(self.top1, self.cases)
    }

    /// Share of issues with the true node in the first three.
    pub fn top3(&self) -> f64 {
        Self::share(self.top3, self.cases)
    }

    /// Share of calm windows where no cause was named.
    pub fn specificity(&self) -> f64 {
        Self::share(self.silent, self.calm)
    }

    /// `top-1 0.875 (7/8)  top-3 ...  specificity ...`.
    pub fn line(&self) -> String {
        format!(
            "top-1 {:.3} ({}/{})  top-3 {:.3} ({}/{})  specificity {:.3} ({}/{})",
            self.top1(),
            self.top1,
            self.cases,
            self.top3(),
            self.top3,
            self.cases,
            self.specificity(),
            self.silent,
            self.calm
        )
    }
}

/// Ranked nodes from ranked metric positions: each node once, first place kept.
pub fn nodes_ranked(scenario: &Scenario, metrics: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut nodes = Vec::new();
    for m in metrics {
        if let Some(n) = scenario.node_of(&scenario.catalog.metrics[m].id) {
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
    }
    nodes
}

/// The traversal baseline's ranked nodes over `data` (the target kind's
/// series per node).
pub fn traversal_ranked(
    scenario: &Scenario,
    data: &BTreeMap<String, Vec<f64>>,
    kind: &str,
    normal: std::ops::Range<usize>,
    abnormal: std::ops::Range<usize>,
) -> Vec<usize> {
    let series: Vec<Option<&[f64]>> = scenario
        .slugs
        .iter()
        .map(|s| data.get(&metric_id(s, kind)).map(Vec::as_slice))
        .collect();
    let target = scenario
        .nodes
        .iter()
        .position(|n| n == "PetSite")
        .expect("PetSite is in the graph");
    whyline_why::baselines::anomaly_traversal(
        &scenario.causal_parents(),
        &series,
        target,
        normal,
        abnormal,
    )
    .into_iter()
    .map(|(n, _)| n)
    .collect()
}

/// What whyline answers for PetSite's `kind` over `data` (the normal rows up
/// to `cut`, then `len` rows to explain), asked in `form`: the ranked nodes
/// of its causes (the answer's root first).
pub fn whyline_ranked(
    scenario: &Scenario,
    data: &BTreeMap<String, Vec<f64>>,
    kind: &str,
    form: Form,
    cut: usize,
    len: usize,
) -> Vec<usize> {
    let catalog = &scenario.catalog;
    let graph = whyline_map::MetricGraph::new(catalog);
    let series: Vec<Option<&[f64]>> = catalog
        .metrics
        .iter()
        .map(|m| data.get(&m.id).map(Vec::as_slice))
        .collect();
    let lookup = |m: usize| series[m];
    let target = catalog
        .index_of(&scenario.target(kind))
        .expect("the target is in the map");
    let settings = whyline_why::Settings {
        step_ms: 300_000,
        ..whyline_why::Settings::default()
    };
    let (at, windows) = match form {
        Form::At => (Some(cut + len - 1), None),
        Form::Periods => (
            None,
            Some(whyline_why::Windows {
                baseline: 0..cut,
                incident: cut..cut + len,
                periods: true,
            }),
        ),
    };
    let answer = whyline_why::explain(catalog, &graph, &lookup, target, at, windows, &settings);
    if std::env::var_os("WHYLINE_DEBUG_PETSHOP").is_some() {
        eprintln!(
            "  {} {kind} {form:?} cut {cut}: {:?} {} -> {:?}",
            scenario.name,
            answer.status,
            answer.reason,
            answer
                .causes
                .iter()
                .take(4)
                .map(|c| (
                    catalog.metrics[c.metric].id.as_str(),
                    (c.score * 100.0).round() / 100.0
                ))
                .collect::<Vec<_>>()
        );
    }
    nodes_ranked(scenario, answer.causes.iter().map(|c| c.metric))
}

/// Runs whyline and the traversal baseline over every train issue and calm
/// window of a scenario, for one target kind and question form.
pub fn evaluate(scenario: &Scenario, kind: &str, form: Form) -> (Score, Score) {
    let mut ours = Score::default();
    let mut baseline = Score::default();
    let n = scenario.normal_len;
    for issue in scenario.issues.iter().filter(|i| i.target_kind == kind) {
        let data = scenario.joined(n, &issue.rows, issue.len);
        let truth = scenario.nodes.iter().position(|x| x == &issue.root_node);
        let started = std::time::Instant::now();
        let ranked = whyline_ranked(scenario, &data, kind, form, n, issue.len);
        ours.elapsed += started.elapsed();
        ours.push(truth.and_then(|t| ranked.iter().position(|&x| x == t)));
        let theirs = traversal_ranked(scenario, &data, kind, 0..n, n..n + issue.len);
        baseline.push(truth.and_then(|t| theirs.iter().position(|&x| x == t)));
    }
    // Calm windows: the rows after each cut of the normal period, as long as
    // an issue (the baseline, as published, sees every row after the cut).
    let len = scenario.issues.first().map_or(5, |i| i.len);
    for cut in scenario.specificity_cuts() {
        let rest: BTreeMap<String, Vec<f64>> = scenario
            .normal
            .iter()
            .map(|(id, x)| (id.clone(), x[cut..].to_vec()))
            .collect();
        let window = len.min(n - cut);
        let data = scenario.joined(cut, &rest, window);
        let started = std::time::Instant::now();
        let named = !whyline_ranked(scenario, &data, kind, form, cut, window).is_empty();
        ours.elapsed += started.elapsed();
        ours.push_calm(named);
        let all = scenario.joined(cut, &rest, n - cut);
        baseline.push_calm(!traversal_ranked(scenario, &all, kind, 0..cut, cut..n).is_empty());
    }
    (ours, baseline)
}
