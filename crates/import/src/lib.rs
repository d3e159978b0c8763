//! Drafting a catalog from what a team already has: Prometheus alerting and
//! recording rules, SLO specs (Sloth, Pyrra, OpenSLO), Backstage
//! descriptors, dbt MetricFlow metrics, Grafana dashboards, and a live
//! server's rules and trace service graph.
//!
//! The draft never claims more than its source says: no decision is
//! invented (so test 1 honestly fails until a person writes one), every
//! metric and edge carries its `origin`, edges that only structure suggests
//! are `proposed`, a layer the source does not state is guessed and says so.
//! The same inputs give the same files, in a stable order.
//!
//! Architecture invariant: pure; texts and answers in, a [`Draft`] out. The
//! binary reads the files and the server, and writes the draft.

mod backstage;
mod dbt;
pub mod draft;
mod grafana;
mod promql;
mod rules;
mod servicegraph;
mod slo;
mod tree;

use std::collections::{HashMap, HashSet};

pub use draft::{
    Draft, DraftDriver, DraftFile, DraftMetric, PROMETHEUS_CONNECTION, Side, Skipped, render,
};
pub use servicegraph::{Call, SERVICE_GRAPH_SERIES};

/// One file to import: its name as the user gave it (used in `origin`) and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as given, used in `origin` (`rules/node.yaml:12`).
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// What a live Prometheus answered.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The server's URL.
    pub url: String,
    /// The answer of `/api/v1/rules`, when asked.
    pub rules: Option<serde_json::Value>,
    /// The calls of the trace service graph it holds (client -> server).
    pub calls: Vec<Call>,
}

/// The output file name for an input: its stem as a catalog id.
fn file_name(input: &str, taken: &mut HashSet<String>) -> String {
    let stem = std::path::Path::new(input)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("imported");
    let base = tree::id_of(stem).replace([':', '.'], "-");
    let mut name = format!("{base}.yaml");
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}.yaml");
        n += 1;
    }
    name
}

const KINDS: &str = "Prometheus rule groups, a PrometheusRule, Sloth prometheus/v1, Pyrra ServiceLevelObjective, OpenSLO v1, Backstage descriptors, dbt `metric:` documents, Grafana dashboard JSON, or a /api/v1/rules answer";

/// Drafts a catalog from `inputs` and what a live server answered.
pub fn import(inputs: &[Input], live: Option<&Live>) -> Draft {
    let mut draft = Draft {
        prometheus_url: live.map(|l| l.url.clone()),
        ..Draft::default()
    };
    let mut taken = HashSet::new();
    let mut files: Vec<DraftFile> = Vec::new();
    let mut all_rules: Vec<rules::Rule> = Vec::new();
    let mut components: Vec<backstage::Component> = Vec::new();
    // Metrics per file, before ids are made unique across files.
    let mut drafted: Vec<(usize, DraftMetric)> = Vec::new();
    for (file_id, input) in inputs.iter().enumerate() {
        files.push(DraftFile {
            name: file_name(&input.name, &mut taken),
            from: input.name.clone(),
            metrics: Vec::new(),
        });
        let mut recognised = false;
        if input.name.ends_with(".json") {
            match serde_json::from_str::<serde_json::Value>(&input.text) {
                Err(e) => draft.skipped.push(Skipped {
                    origin: format!("{}:{}", input.name, e.line()),
                    reason: format!("not valid JSON: {e}"),
                }),
                Ok(value) => {
                    if let Some(d) = grafana::dashboard(&value) {
                        recognised = true;
                        for m in grafana::import(d, &input.name, &mut draft.skipped) {
                            drafted.push((file_id, m));
                        }
                    } else if value.pointer("/data/groups").is_some() {
                        recognised = true;
                        match rules::read_api(&value, &input.name, file_id) {
                            Ok(r) => all_rules.extend(r),
                            Err(reason) => draft.skipped.push(Skipped {
                                origin: input.name.clone(),
                                reason,
                            }),
                        }
                    }
                }
            }
            if !recognised {
                draft.skipped.push(Skipped {
                    origin: input.name.clone(),
                    reason: format!("not a kind whyline imports; expected {KINDS}"),
                });
            }
            continue;
        }
        let documents = match whyline_catalog::yaml::parse_documents(file_id, &input.text) {
            Ok(d) => d,
            Err(e) => {
                let line = e.location.map_or(0, |l| l.line);
                draft.skipped.push(Skipped {
                    origin: format!("{}:{line}", input.name),
                    reason: e.message,
                });
                continue;
            }
        };
        // A top-level list holds several objects (OpenSLO, kubectl lists).
        let objects: Vec<&whyline_catalog::yaml::Node> = documents
            .iter()
            .flat_map(|d| match &d.value {
                whyline_catalog::yaml::Value::Seq(items) => items.iter().collect::<Vec<_>>(),
                _ => vec![d],
            })
            .collect();
        for doc in objects {
            if let Some(groups) = rules::groups_of(doc) {
                all_rules.extend(rules::read_yaml(groups, &input.name, file_id));
            } else if slo::is_slo(doc) {
                for m in slo::import(doc, &input.name, &mut draft.skipped, &mut draft.warnings) {
                    drafted.push((file_id, m));
                }
            } else if dbt::is_metric(doc) {
                if let Some(m) = dbt::import(doc, &input.name, &mut draft.warnings) {
                    drafted.push((file_id, m));
                }
            } else if backstage::is_descriptor(doc) {
                components.extend(backstage::read(doc, &input.name));
            } else {
                draft.skipped.push(Skipped {
                    origin: format!("{}:{}", input.name, doc.location.line),
                    reason: format!("not a kind whyline imports; expected {KINDS}"),
                });
                continue;
            }
            recognised = true;
        }
        let _ = recognised;
    }
    if let Some(live) = live {
        if let Some(answer) = &live.rules {
            let file_id = files.len();
            files.push(DraftFile {
                name: file_name("prometheus-rules", &mut taken),
                from: format!("{}/api/v1/rules", live.url),
                metrics: Vec::new(),
            });
            match rules::read_api(answer, &live.url, file_id) {
                Ok(r) => all_rules.extend(r),
                Err(reason) => draft.skipped.push(Skipped {
                    origin: format!("{}/api/v1/rules", live.url),
                    reason,
                }),
            }
        }
        if !live.calls.is_empty() {
            let file_id = files.len();
            files.push(DraftFile {
                name: file_name("service-graph", &mut taken),
                from: format!("the trace service graph in {}", live.url),
                metrics: Vec::new(),
            });
            for m in servicegraph::import(&live.calls) {
                drafted.push((file_id, m));
            }
        }
    }
    let (from_rules, skipped, warnings) = rules::import(&all_rules);
    draft.skipped.extend(skipped);
    draft.warnings.extend(warnings);
    drafted.extend(from_rules);
    // One id, one metric: the first drafted is kept.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<(usize, DraftMetric)> = Vec::new();
    for (file, m) in drafted {
        if let Some(&k) = seen.get(&m.id) {
            let first = &mut kept[k].1;
            // The same series drafted twice (a recording rule reads a call
            // of the service graph): one metric, with both origins and drivers.
            if first.query.is_some() && first.query == m.query {
                first.origin = format!("{}, {}", first.origin, m.origin);
                for d in m.drivers {
                    if !first.drivers.iter().any(|f| f.metric == d.metric) {
                        first.drivers.push(d);
                    }
                }
            } else {
                draft.skipped.push(Skipped {
                    reason: format!(
                        "`{}` was already drafted from {}; the first is kept",
                        m.id, first.origin
                    ),
                    origin: m.origin,
                });
            }
            continue;
        }
        seen.insert(m.id.clone(), kept.len());
        kept.push((file, m));
    }
    let (positions, mut metrics): (Vec<usize>, Vec<DraftMetric>) = kept.into_iter().unzip();
    backstage::apply(&components, &mut metrics, &mut draft.skipped);
    // Every edge must name a drafted metric, or the catalog is invalid.
    for m in &mut metrics {
        let id = m.id.clone();
        m.drivers.retain(|d| {
            let known = seen.contains_key(&d.metric);
            if !known {
                draft.skipped.push(Skipped {
                    origin: d.origin.clone(),
                    reason: format!(
                        "`{}` drives `{id}`, but is not among the imported metrics: import its file too, or write the edge by hand",
                        d.metric
                    ),
                });
            }
            known
        });
    }
    break_zero_lag_cycles(&mut metrics, &mut draft.skipped);
    for (file, m) in positions.into_iter().zip(metrics) {
        files[file].metrics.push(m);
    }
    files.retain(|f| !f.metrics.is_empty());
    files.sort_by(|a, b| a.name.cmp(&b.name));
    draft.files = files;
    draft
}

/// A catalog allows a cycle only through a lagged edge: an edge without lag
/// that closes a cycle (two services calling each other) is left out, said.
fn break_zero_lag_cycles(metrics: &mut [DraftMetric], skipped: &mut Vec<Skipped>) {
    let index: HashMap<String, usize> = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.clone(), i))
        .collect();
    // 0 = unseen, 1 = on the stack, 2 = done; iterative depth-first search
    // over unlagged edges (driver -> dependant direction does not matter for
    // a cycle; drivers are walked).
    let mut state = vec![0u8; metrics.len()];
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for start in 0..metrics.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let edges: Vec<usize> = metrics[node]
                .drivers
                .iter()
                .filter(|d| d.lag.is_none())
                .filter_map(|d| index.get(&d.metric).copied())
                .collect();
            if *next < edges.len() {
                let to = edges[*next];
                *next += 1;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => dropped.push((node, to)),
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    for (node, to) in dropped {
        let driver = metrics[to].id.clone();
        let id = metrics[node].id.clone();
        if let Some(k) = metrics[node]
            .drivers
            .iter()
            .position(|d| d.metric == driver)
        {
            let edge = metrics[node].drivers.remove(k);
            skipped.push(Skipped {
                origin: edge.origin,
                reason: format!(
                    "`{driver}` -> `{id}` closes a cycle without lag, which a catalog does not allow: left out (write it with a `lag:` if it is real)"
                ),
            });
        }
    }
}
