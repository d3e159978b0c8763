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
