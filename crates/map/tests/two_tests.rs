//! The two tests and verdicts, rule by rule, on small catalogs.

use std::path::PathBuf;

use whyline_catalog::{Catalog, SourceFile, parse};
use whyline_map::{Assessed, BreakKind, MetricGraph, ProblemKind, Verdict, assess};

fn catalog(text: &str) -> Catalog {
    let checked = parse(vec![SourceFile {
        path: PathBuf::from("t.yaml"),
        text: format!("version: 1\nmetrics:\n{text}"),
    }]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    checked.catalog
}

/// (verdict, test_decision, test_explain, problem kinds) per metric id.
fn verdicts(c: &Catalog) -> Vec<(String, Verdict, bool, bool, Vec<ProblemKind>)> {
    let graph = MetricGraph::new(c);
    assess(c, &graph)
        .into_iter()
        .map(|a| {
            (
                c.metrics[a.metric].id.clone(),
                a.verdict,
                a.test_decision,
                a.test_explain,
                a.problems.iter().map(|p| p.kind).collect(),
            )
        })
        .collect()
}

const CHAIN: &str = "  - { id: revenue, layer: business, owner: g, decision: invest, audience: [leadership], drivers: [{ metric: latency, effect: decreases }] }
  - { id: latency, layer: service, owner: c, drivers: [{ metric: cpu, effect: increases }] }
  - { id: cpu, layer: system, owner: p }
";

#[test]
fn a_full_chain_keeps_every_metric() {
    let v = verdicts(&catalog(CHAIN));
    assert_eq!(
        v[0],
        ("revenue".into(), Verdict::Business, true, true, vec![])
    );
    assert_eq!(
        v[1],
        ("latency".into(), Verdict::Operational, true, true, vec![])
    );
    assert_eq!(
        v[2],
        ("cpu".into(), Verdict::Operational, true, true, vec![])
    );
}

#[test]
fn decision_passes_down_the_chain_but_not_up() {
    // Only the system signal has a decision: nothing it drives inherits it.
    let text = "  - { id: latency, layer: service, owner: c, drivers: [{ metric: cpu, effect: increases }] }
  - { id: cpu, layer: system, owner: p, decision: resize hosts, audience: [sre] }
";
    let v = verdicts(&catalog(text));
    assert_eq!(v[0].1, Verdict::Discard);
    assert_eq!(v[0].4, vec![ProblemKind::NoDecision]);
    assert_eq!(v[1].1, Verdict::Operational);
}

#[test]
fn a_decision_needs_an_audience() {
    let text = "  - { id: cpu, layer: system, owner: p, decision: resize hosts }\n";
    let c = catalog(text);
    let graph = MetricGraph::new(&c);
    let a = &assess(&c, &graph)[0];
    assert_eq!(a.verdict, Verdict::Discard);
    assert!(
        a.problems[0].message.contains("no `audience`"),
        "{}",
        a.problems[0].message
    );
}

#[test]
fn a_chain_that_stops_above_the_system_layer_is_unexplained() {
    let text = "  - { id: revenue, layer: business, owner: g, decision: invest, audience: [leadership], drivers: [{ metric: sessions, effect: increases }] }
  - { id: sessions, layer: business, owner: g, drivers: [{ metric: marketing_spend, effect: increases }] }
  - { id: marketing_spend, layer: business, owner: m }
";
    let c = catalog(text);
    let graph = MetricGraph::new(&c);
    let a = assess(&c, &graph);
    assert_eq!(a[0].verdict, Verdict::Unexplained);
    assert_eq!(a[0].problems[0].kind, ProblemKind::ChainStops);
    assert!(
        a[0].problems[0].message.contains("`marketing_spend`"),
        "names where mapping stopped: {}",
        a[0].problems[0].message
    );
    assert_eq!(a[2].problems[0].kind, ProblemKind::NoDrivers);
}

#[test]
fn a_kept_metric_without_owner_fails_the_explain_test() {
    let text = CHAIN.replace("owner: c, ", "");
    let v = verdicts(&catalog(&text));
    assert_eq!(
        v[1],
        (
            "latency".into(),
            Verdict::Unexplained,
            true,
            false,
            vec![ProblemKind::NoOwner]
        )
    );
    // Its dependants are still explained: their chain reaches the system layer.
    assert_eq!(v[0].1, Verdict::Business);
}

#[test]
fn a_lagged_feedback_loop_without_system_signal_is_unexplained() {
    let text = "  - { id: latency, layer: service, owner: c, decision: scale, audience: [sre], drivers: [{ metric: retries, effect: increases }] }
  - { id: retries, layer: service, owner: c, drivers: [{ metric: latency, effect: increases, lag: 1m }] }
";
    let c = catalog(text);
    let graph = MetricGraph::new(&c);
    let a = assess(&c, &graph);
    assert_eq!(a[0].verdict, Verdict::Unexplained);
    assert!(
        a[0].problems[0].message.contains("`latency`"),
        "{}",
        a[0].problems[0].message
    );
}

#[test]
fn diff_reports_new_failures_and_cut_chains_only() {
    let base = catalog(CHAIN);
    let cut = catalog(
        &CHAIN
            .replace(", drivers: [{ metric: cpu, effect: increases }]", "")
            .replace(
                "owner: p }",
                "owner: p }\n  - { id: orphan, layer: service, owner: x }",
            ),
    );
    let (b, c) = (Assessed::new(&base), Assessed::new(&cut));
    let change = whyline_map::diff(&b, &c);
    assert_eq!(change.added, ["orphan"]);
    assert_eq!(change.edges_removed.len(), 1);
    let kinds: Vec<(&str, BreakKind)> = change
        .breaks
        .iter()
        .map(|x| (x.metric.as_str(), x.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("revenue", BreakKind::LostExplanation),
            ("latency", BreakKind::LostExplanation),
            ("cpu", BreakKind::LostDecision),
            ("orphan", BreakKind::NewMetricFails),
        ]
    );
    assert!(
        change.breaks[0].message.contains("removed: cpu -> latency"),
        "{}",
        change.breaks[0].message
    );
    // Comparing a catalog with itself finds nothing.
    assert_eq!(
        whyline_map::diff(&b, &Assessed::new(&base)),
        Default::default()
    );
}

#[test]
fn flipped_edges_are_reported() {
    let base = catalog(CHAIN);
    let flipped = catalog(&CHAIN.replace(
        "metric: latency, effect: decreases",
        "metric: latency, effect: increases",
    ));
    let change = whyline_map::diff(&Assessed::new(&base), &Assessed::new(&flipped));
    assert_eq!(change.edges_flipped.len(), 1);
    assert!(change.breaks.is_empty());
}
