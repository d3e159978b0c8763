//! The importer on real public files (`../shared/datasets/imports/`, each
//! cited in that folder's README: kube-prometheus, node_exporter, Sloth,
//! Pyrra, OpenSLO's oslo, Backstage, dbt-semantic-interfaces). Skips with a
//! message when the folder is absent.

use std::path::{Path, PathBuf};

use whyline_catalog::{Effect, Layer, SourceFile, parse};
use whyline_import::{Draft, Input, Side, import, render};

fn folder() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/imports");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is not present", dir.display());
        None
    }
}

fn inputs(dir: &Path, names: &[&str]) -> Vec<Input> {
    names
        .iter()
        .map(|n| Input {
            name: (*n).to_string(),
            text: std::fs::read_to_string(dir.join(n)).expect("shared file"),
        })
        .collect()
}

/// Every drafted file, and the connection file, parsed as one catalog.
fn as_catalog(draft: &Draft) -> whyline_catalog::Checked {
    let mut files: Vec<SourceFile> = draft
        .files
        .iter()
        .map(|f| SourceFile {
            path: PathBuf::from(&f.name),
            text: render(f),
        })
        .collect();
    if draft.needs_prometheus() {
        files.push(SourceFile {
            path: PathBuf::from("prometheus-connection.yaml"),
            text: draft.connection_file(),
        });
    }
    parse(files)
}

const ALL: [&str; 10] = [
    "backstage__wayback-archive-api.yaml",
    "backstage__wayback-archive-component.yaml",
    "backstage__wayback-search-component.yaml",
    "dbt-semantic-interfaces__metrics.yaml",
    "kube-prometheus__nodeExporter-prometheusRule.yaml",
    "node_exporter__example-rules.yml",
    "oslo__v1.yaml",
    "pyrra__slo-prometheus-query-errors.yaml",
    "sloth-gen__getting-started.yml",
    "sloth__getting-started.yml",
];

fn metric<'d>(draft: &'d Draft, id: &str) -> &'d whyline_import::DraftMetric {
    draft
        .files
        .iter()
        .flat_map(|f| &f.metrics)
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("no metric `{id}` drafted"))
}

#[test]
fn every_shared_file_drafts_a_valid_catalog_that_invents_no_decision() {
    let Some(dir) = folder() else { return };
    let draft = import(&inputs(&dir, &ALL), None);
    let checked = as_catalog(&draft);
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        checked
            .diagnostics
            .iter()
            .map(|d| (&d.location, &d.message))
            .collect::<Vec<_>>()
    );
    let total: usize = draft.files.iter().map(|f| f.metrics.len()).sum();
    assert_eq!(total, checked.catalog.metrics.len());
    // Test 1 honestly fails everywhere: no decision was written.
    let graph = whyline_map::MetricGraph::new(&checked.catalog);
    let assessed = whyline_map::assess(&checked.catalog, &graph);
    assert!(assessed.iter().all(|a| !a.test_decision));
    // Every metric and edge says where it came from.
    for m in &checked.catalog.metrics {
        assert!(
            m.origin.as_deref().is_some_and(|o| !o.is_empty()),
            "{}",
            m.id
        );
        for d in &m.drivers {
            assert!(d.origin.is_some(), "{} <- {}", m.id, d.metric);
        }
    }
    // The same inputs give the same files.
    let again = import(&inputs(&dir, &ALL), None);
    assert_eq!(
        draft.files.iter().map(render).collect::<Vec<_>>(),
        again.files.iter().map(render).collect::<Vec<_>>()
    );
}

#[test]
fn alerts_of_one_name_merge_into_red_and_amber_and_guards_are_not_thresholds() {
    let Some(dir) = folder() else { return };
    let draft = import(
        &inputs(&dir, &["kube-prometheus__nodeExporter-prometheusRule.yaml"]),
        None,
    );
    let metrics = &draft.files[0].metrics;
    // 26 alerting rules of 21 names, 15 recording rules (the folder's README).
    let alerts: Vec<_> = metrics.iter().filter(|m| m.runbook.is_some()).collect();
    let described = |prefix: &str| {
        metrics
            .iter()
            .filter(|m| {
                m.description
                    .as_deref()
                    .is_some_and(|d| d.starts_with(prefix))
            })
            .collect::<Vec<_>>()
    };
    let recorded = described("Recording rule: ");
    assert_eq!(recorded.len(), 15);
    // Each recording rule's inputs are its drivers: the recorded series it
    // reads, and the raw series it selects (drafted as system metrics).
    let inputs = described("A series the recording rule");
    assert_eq!(alerts.len() + recorded.len() + inputs.len(), metrics.len());
    for r in &recorded {
        assert!(!r.drivers.is_empty(), "{} has no drivers", r.id);
        for d in &r.drivers {
            assert!(
                metrics.iter().any(|m| m.id == d.metric) && d.proposed,
                "{} <- {}",
                r.id,
                d.metric
            );
        }
    }
    let cpu = metric(&draft, "instance:node_cpu_utilisation:rate5m");
    assert_eq!(
        cpu.drivers
            .iter()
            .map(|d| (d.metric.as_str(), d.effect))
            .collect::<Vec<_>>(),
        [(
            "node_cpu_seconds_total.job-node-exporter.mode-re-idle_iowait_steal",
            Effect::Decreases
        )]
    );
    // 5 names test a state (`==`, `!=`) or join alternatives (`or`): skipped.
    assert_eq!(
        alerts.len() + draft.skipped.len(),
        21,
        "{:?}",
        draft.skipped
    );
    assert_eq!(draft.skipped.len(), 5);
    assert!(
        draft
            .skipped
            .iter()
            .all(|s| s.reason.contains("state") || s.reason.contains("`or`"))
    );
    let both = alerts
        .iter()
        .filter(|m| m.red.is_some() && m.amber.is_some())
        .count();
    assert_eq!(
        both, 5,
        "each name seen at two severities has both thresholds"
    );
    let filling = metric(&draft, "node_filesystem_space_filling_up");
    assert_eq!(filling.red, Some(Side::Below(10.0)));
    assert_eq!(filling.amber, Some(Side::Below(15.0)));
    // The guards (`and predict_linear(...) < 0 and readonly == 0`) are not in the query.
    let query = filling.query.as_deref().expect("query");
    assert!(
        query.starts_with("min(node_filesystem_avail_bytes"),
        "{query}"
    );
    assert!(!query.contains("predict_linear") && !query.contains("readonly"));
    assert!(filling.notes.iter().any(|n| n.contains("for: 1h")));
    assert_eq!(
        filling.description.as_deref(),
        Some("Filesystem is predicted to run out of space within the next 24 hours.")
    );
}

#[test]
fn recording_rules_are_metrics_driven_by_the_series_they_read() {
    let Some(dir) = folder() else { return };
    let draft = import(&inputs(&dir, &["node_exporter__example-rules.yml"]), None);
    let ratio = metric(&draft, "instance:node_cpu_utilization:ratio");
    let drivers: Vec<(&str, Effect, bool)> = ratio
        .drivers
        .iter()
        .map(|d| (d.metric.as_str(), d.effect, d.proposed))
        .collect();
    // `sum(instance_mode:node_cpu_seconds:rate5m{...}) / instance:node_cpus:count`.
    assert_eq!(
        drivers,
        vec![
            (
                "instance_mode:node_cpu_seconds:rate5m",
                Effect::Increases,
                true
            ),
            ("instance:node_cpus:count", Effect::Decreases, true)
        ]
    );
    assert_eq!(ratio.layer, Layer::System);
}

#[test]
fn slo_specs_become_service_metrics_with_their_objective() {
    let Some(dir) = folder() else { return };
    let draft = import(
        &inputs(
            &dir,
            &[
                "sloth__getting-started.yml",
                "pyrra__slo-prometheus-query-errors.yaml",
                "oslo__v1.yaml",
            ],
        ),
        None,
    );
    let sloth = metric(&draft, "myservice_requests-availability");
    assert_eq!(sloth.red, Some(Side::Below(99.9)));
    assert_eq!(sloth.owner.as_deref(), Some("myteam"));
    assert_eq!(sloth.layer, Layer::Service);
    let q = sloth.query.as_deref().expect("query");
    assert!(q.contains("[5m]") && !q.contains("{{.window}}"), "{q}");
    let pyrra = metric(&draft, "prometheus-query-errors");
    assert_eq!(pyrra.red, Some(Side::Below(99.0)));
    let oslo = metric(&draft, "web-availability");
    assert_eq!(oslo.red, Some(Side::Below(0.995)));
    assert_eq!(oslo.owner, None);
    assert!(
        draft
            .warnings
            .iter()
            .any(|w| w.reason.contains("several teams (team-a, team-b)"))
    );
}

#[test]
fn dbt_ratios_and_derived_metrics_are_signed_and_lagged_edges() {
    let Some(dir) = folder() else { return };
    let draft = import(
        &inputs(&dir, &["dbt-semantic-interfaces__metrics.yaml"]),
        None,
    );
    assert_eq!(draft.files[0].metrics.len(), 59);
    let ratio = metric(&draft, "bookings_per_booker");
    assert_eq!(ratio.layer, Layer::Business);
    let edges: Vec<(&str, Effect, bool)> = ratio
        .drivers
        .iter()
        .map(|d| (d.metric.as_str(), d.effect, d.proposed))
        .collect();
    assert_eq!(
        edges,
        vec![
            ("bookings", Effect::Increases, false),
            ("bookers", Effect::Decreases, false)
        ]
    );
    let lagged = metric(&draft, "bookings_5_day_lag");
    assert_eq!(lagged.drivers[0].lag.as_deref(), Some("5d"));
}

#[test]
fn backstage_says_what_it_could_not_connect() {
    let Some(dir) = folder() else { return };
    let draft = import(
        &inputs(
            &dir,
            &[
                "backstage__wayback-search-component.yaml",
                "backstage__wayback-archive-component.yaml",
                "backstage__wayback-archive-api.yaml",
            ],
        ),
        None,
    );
    assert!(draft.files.is_empty());
    assert!(draft.skipped.iter().any(|s| s.reason.contains(
        "`wayback-search` depends on `wayback-archive` (consumes API wayback-archive of wayback-archive)"
    )));
}

mod never_panics {
    use proptest::prelude::*;
    use whyline_import::{Input, import, render};

    proptest! {
        /// Whatever a file holds, the importer answers (a draft, or skipped
        /// items with reasons), and what it drafts renders.
        #[test]
        fn on_any_text(text in "\\PC{0,400}", json in proptest::bool::ANY) {
            let name = if json { "x.json" } else { "x.yaml" };
            let draft = import(&[Input { name: name.to_string(), text }], None);
            for f in &draft.files {
                let _ = render(f);
            }
        }

        /// Mutated real shapes (a rule group, an SLO) never panic either.
        #[test]
        fn on_mutated_rules(cut in 0usize..400, junk in "[a-z:{}\\[\\]<>=0-9 ]{0,12}") {
            let base = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x > 1 and y == 0\n        labels: { severity: warning }\n      - record: r:x:rate5m\n        expr: sum(rate(x[5m])) / r:y\nversion: 1\n";
            let at = cut.min(base.len());
            let at = (0..=at).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
            let text = format!("{}{junk}{}", &base[..at], &base[at..]);
            let _ = import(&[Input { name: "r.yaml".to_string(), text }], None);
        }
    }
}
