//! The audit on a simulated history of the example shop with known episodes,
//! a planted duplicate and a planted flat metric.

use std::path::{Path, PathBuf};

use whyline_catalog::SourceFile;
use whyline_map::{Assessed, Verdict};
use whyline_sim::{Fault, FaultKind, Model};

const EXTRA: &str = "version: 1
defaults: { owner: team-checkout, service: checkout }
metrics:
  - id: checkout_cpu_percent
    name: Checkout CPU (percent, a second exporter)
    layer: system
  - id: legacy_queue_depth
    layer: system
";

#[test]
fn counts_episodes_and_finds_duplicates_flat_and_discards() {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/metrics");
    let mut files: Vec<SourceFile> = std::fs::read_dir(&shop)
        .expect("example")
        .map(|e| {
            let path = e.expect("entry").path();
            SourceFile {
                text: std::fs::read_to_string(&path).expect("read"),
                path,
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let shop_only = whyline_catalog::parse(files.clone()).catalog;
    files.push(SourceFile {
        path: PathBuf::from("extra.yaml"),
        text: EXTRA.to_string(),
    });
    let checked = whyline_catalog::parse(files);
    assert!(checked.is_valid(), "{:?}", checked.diagnostics);
    let catalog = checked.catalog;

    // Two days of minute data; two one-hour incidents on revenue's map:
    // a CPU fault (explained by the map), then a drop of revenue itself (not).
    let model = Model::from_catalog(&shop_only, 7).expect("model");
    let at = |id: &str| model.index_of(id).expect("metric");
    let step = |node: usize, size: f64, start: usize| Fault {
        node,
        kind: FaultKind::Step,
        size,
        start,
    };
    let faults = [
        step(at("checkout_cpu_utilization"), 8.0, 1_000),
        step(at("checkout_cpu_utilization"), -8.0, 1_060),
        step(at("revenue"), -14.0, 2_200),
        step(at("revenue"), 14.0, 2_260),
    ];
    let data = model.simulate(2_880, 1_440, &faults, 7);
    let series_of = |id: &str| -> Option<Vec<f64>> {
        match id {
            "checkout_cpu_percent" => Some(
                data[at("checkout_cpu_utilization")]
                    .iter()
                    .enumerate()
                    .map(|(t, v)| v * 100.0 + ((t * 7919) % 13) as f64 * 1e-4)
                    .collect(),
            ),
            "legacy_queue_depth" => Some(vec![42.0; 2_880]),
            other => model.index_of(other).map(|i| data[i].clone()),
        }
    };
    let columns: Vec<Option<Vec<f64>>> = catalog.metrics.iter().map(|m| series_of(&m.id)).collect();
    let series = |m: usize| columns[m].as_deref();
    let assessed = Assessed::new(&catalog);
    let audit = whyline_audit::audit(
        &catalog,
        &assessed.graph,
        &assessed.assessments,
        &series,
        &whyline_audit::Settings::default(),
    );
    let of = |id: &str| &audit.metrics[catalog.index_of(id).expect("metric")];

    let revenue = of("revenue");
    assert_eq!(
        (revenue.red_episodes(), revenue.explained_episodes()),
        (2, 1),
        "{:?}",
        revenue.episodes
    );
    assert!(
        (995..=1_010).contains(&revenue.episodes[0].start),
        "{:?}",
        revenue.episodes
    );
    assert_eq!(
        revenue.episodes[0].cause,
        catalog.index_of("checkout_cpu_utilization")
    );
    assert_eq!(
        revenue.episodes[1].cause,
        catalog.index_of("revenue"),
        "the second drop is revenue's own"
    );
    assert!(
        revenue
            .reasons
            .contains(&"red 2 times, explained 1".to_string()),
        "{:?}",
        revenue.reasons
    );

    let copy = of("checkout_cpu_percent");
    assert_eq!(
        copy.duplicate_of,
        catalog.index_of("checkout_cpu_utilization")
    );
    assert_eq!(copy.verdict, Verdict::Discard);
    assert_eq!(
        of("checkout_cpu_utilization").duplicate_of,
        None,
        "the kept one is not marked"
    );

    let flat = of("legacy_queue_depth");
    assert!(flat.flat && !flat.dead);
    assert_eq!(flat.verdict, Verdict::Discard);
    assert!(flat.reasons.iter().any(|r| r.starts_with("flat")));

    assert_eq!(
        of("social_media_followers").verdict,
        Verdict::Discard,
        "no decision, no dependants"
    );
    assert_eq!(
        audit
            .metrics
            .iter()
            .filter(|a| a.duplicate_of.is_some())
            .count(),
        1,
        "no other duplicates"
    );

    // Coverage: explained share of business metrics' red episodes.
    let business: Vec<&whyline_audit::MetricAudit> = audit
        .metrics
        .iter()
        .filter(|a| catalog.metrics[a.metric].layer == whyline_catalog::Layer::Business)
        .collect();
    let red: usize = business.iter().map(|a| a.red_episodes()).sum();
    let explained: usize = business.iter().map(|a| a.explained_episodes()).sum();
    assert_eq!(audit.coverage, Some(explained as f64 / red as f64));
    assert!(red >= 2);
}

const CHAIN: &str = "version: 1
defaults: { owner: team-shop, service: shop }
metrics:
  - id: orders_per_minute
    layer: business
    good: higher
    decision: Whether the shop keeps its checkout release train
    audience: [leadership]
    thresholds:
      red: { below: 80 }
      amber: { below: 90 }
    drivers:
      - { metric: checkout_latency_ms, effect: decreases }
  - id: checkout_latency_ms
    layer: service
    good: lower
    drivers:
      - { metric: checkout_cpu, effect: increases }
  - id: checkout_cpu
    layer: system
    good: lower
";

/// Issue #11, point 3: one status judge. On a simulated day with a red and an
/// amber episode, the audit's status of every metric at every minute is the
/// status `why` answers when asked at that minute (the audit used to judge
/// each raw point against the whole day's median, `why` the last three points
/// against the baseline before the change).
#[test]
fn why_and_audit_give_every_metric_the_same_status_at_every_minute() {
    let checked = whyline_catalog::parse(vec![SourceFile {
        path: PathBuf::from("chain.yaml"),
        text: CHAIN.to_string(),
    }]);
    assert!(checked.is_valid(), "{:?}", checked.diagnostics);
    let catalog = checked.catalog;
    let mut model = Model::from_catalog(&catalog, 11).expect("model");
    // Orders wander about 2 a minute around 105 (amber below 90, red below
    // 80), so a drop to 88 is amber for the hour and never red.
    let orders = model.index_of("orders_per_minute").expect("metric");
    model.nodes[orders].scale = 1.5;
    let at = |id: &str| model.index_of(id).expect("metric");
    let step = |id: &str, size: f64, start: usize| Fault {
        node: at(id),
        kind: FaultKind::Step,
        size,
        start,
    };
    let faults = [
        step("checkout_cpu", 7.0, 300),
        step("checkout_cpu", -7.0, 360),
        step("orders_per_minute", -11.5, 800),
        step("orders_per_minute", 11.5, 860),
        step("orders_per_minute", -22.0, 1_100),
        step("orders_per_minute", 22.0, 1_160),
    ];
    let data = model.simulate(1_440, 1_440, &faults, 11);
    let columns: Vec<Vec<f64>> = catalog
        .metrics
        .iter()
        .map(|m| data[at(&m.id)].clone())
        .collect();
    let series = |m: usize| Some(columns[m].as_slice());
    let assessed = Assessed::new(&catalog);
    let settings = whyline_audit::Settings {
        why: whyline_why::Settings::for_grid(60_000, 1_440),
        ..whyline_audit::Settings::default()
    };
    let audit = whyline_audit::audit(
        &catalog,
        &assessed.graph,
        &assessed.assessments,
        &series,
        &settings,
    );
    let orders = &audit.metrics[catalog.index_of("orders_per_minute").expect("metric")];
    assert!(
        !orders.episodes.is_empty() && !orders.amber_episodes.is_empty(),
        "the day holds a red and an amber episode: red {:?}, amber {:?}",
        orders.episodes,
        orders.amber_episodes
    );
    let mut disagreements = Vec::new();
    for m in 0..catalog.metrics.len() {
        let judged = &audit.metrics[m].statuses;
        assert_eq!(judged.len(), 1_440);
        for (t, status) in judged.iter().enumerate() {
            let asked = whyline_why::explain(
                &catalog,
                &assessed.graph,
                &series,
                m,
                Some(t),
                None,
                &settings.why,
            );
            if asked.status != *status {
                disagreements.push((catalog.metrics[m].id.clone(), t, asked.status, *status));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} minutes differ, first: {:?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(5)]
    );
}
