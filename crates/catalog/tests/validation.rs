//! Catalog-level rules, one small catalog per rule.

use std::path::PathBuf;

use whyline_catalog::{Code, Duration, Effect, Layer, SourceFile, SourceSpec, parse};

fn files(texts: &[(&str, &str)]) -> whyline_catalog::Checked {
    parse(
        texts
            .iter()
            .map(|(path, text)| SourceFile {
                path: PathBuf::from(path),
                text: text.to_string(),
            })
            .collect(),
    )
}

fn codes(checked: &whyline_catalog::Checked) -> Vec<Code> {
    checked.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn a_full_metric_is_read_with_defaults_and_resolved_paths() {
    let checked = files(&[(
        "teams/checkout.yaml",
        r#"
version: 1
defaults: { owner: team-checkout, service: checkout }
connections:
  main: { kind: prometheus, url: "http://127.0.0.1:9090", bearer_env: PROM_TOKEN, tenant: shop, timeout: 10s }
  local: { kind: sqlite, path: data/business.sqlite }
metrics:
  - id: checkout_latency_p99
    name: Checkout latency p99
    layer: service
    good: lower
    thresholds: { red: { above: 1200 }, amber: { above: 800 } }
    source: { prometheus: { connection: main, query: 'histogram_quantile(0.99, x)' } }
    drivers:
      - { metric: cpu, effect: increases, lag: 1m30s, why: saturation }
  - id: cpu
    layer: system
    owner: team-platform
    source: { csv: { path: ../data/shop.csv } }
"#,
    )]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    let catalog = &checked.catalog;
    let latency = catalog.metric("checkout_latency_p99").expect("defined");
    assert_eq!(latency.owner.as_deref(), Some("team-checkout"));
    assert_eq!(latency.service.as_deref(), Some("checkout"));
    assert_eq!(latency.layer, Layer::Service);
    assert_eq!(latency.drivers[0].effect, Effect::Increases);
    assert_eq!(latency.drivers[0].lag, Duration::from_secs(90));
    assert_eq!(latency.location.line, 8);
    let cpu = catalog.metric("cpu").expect("defined");
    assert_eq!(cpu.owner.as_deref(), Some("team-platform"));
    assert_eq!(
        cpu.source,
        Some(SourceSpec::Csv {
            path: PathBuf::from("teams/../data/shop.csv"),
            column: "cpu".into()
        })
    );
    assert_eq!(catalog.connections.len(), 2);
}

#[test]
fn cycles_are_legal_only_with_a_lag() {
    let lagged = "version: 1\nmetrics:\n  - { id: a, layer: service, drivers: [{ metric: b, effect: increases, lag: 1m }] }\n  - { id: b, layer: service, drivers: [{ metric: a, effect: increases }] }\n";
    assert!(files(&[("x.yaml", lagged)]).is_valid());
    let instant = lagged.replace(", lag: 1m", "");
    assert_eq!(codes(&files(&[("x.yaml", &instant)])), [Code::Cycle]);
    let self_loop = "version: 1\nmetrics:\n  - { id: a, layer: service, drivers: [{ metric: a, effect: increases }] }\n";
    assert_eq!(codes(&files(&[("x.yaml", self_loop)])), [Code::Cycle]);
}

#[test]
fn two_separate_cycles_are_both_reported() {
    let text = "version: 1\nmetrics:\n  - { id: a, layer: service, drivers: [{ metric: b, effect: increases }] }\n  - { id: b, layer: service, drivers: [{ metric: a, effect: increases }] }\n  - { id: c, layer: service, drivers: [{ metric: d, effect: increases }] }\n  - { id: d, layer: service, drivers: [{ metric: c, effect: increases }] }\n";
    assert_eq!(
        codes(&files(&[("x.yaml", text)])),
        [Code::Cycle, Code::Cycle]
    );
}

#[test]
fn drivers_may_cross_files_and_duplicates_across_files_are_found() {
    let a = "version: 1\nmetrics:\n  - { id: revenue, layer: business, drivers: [{ metric: cpu, effect: decreases }] }\n";
    let b = "version: 1\nmetrics:\n  - { id: cpu, layer: system }\n";
    assert!(files(&[("a.yaml", a), ("b.yaml", b)]).is_valid());
    let checked = files(&[("a.yaml", a), ("b.yaml", b), ("c.yaml", b)]);
    assert_eq!(codes(&checked), [Code::DuplicateId]);
    let d = &checked.diagnostics[0];
    assert_eq!(d.location.map(|l| l.file), Some(2));
    assert_eq!(d.related[0].location.file, 1);
}

#[test]
fn all_errors_of_a_file_are_reported_not_only_the_first() {
    let text = "version: 1\nmetrics:\n  - id: a\n    layer: sistem\n    ownr: x\n  - id: B\n    layer: system\n    drivers: [{ metric: nowhere, effect: increases }]\n";
    let found = codes(&files(&[("x.yaml", text)]));
    assert_eq!(
        found,
        [
            Code::BadValue,
            Code::UnknownField,
            Code::BadId,
            Code::UnknownDriver
        ]
    );
}

#[test]
fn strings_numbers_and_nulls_are_told_apart() {
    let text = "version: 1\nmetrics:\n  - id: a\n    layer: system\n    owner:\n    thresholds: { red: { above: .nan } }\n    audience: [~]\n";
    let found = codes(&files(&[("x.yaml", text)]));
    assert_eq!(found, [Code::WrongType, Code::WrongType, Code::WrongType]);
    let quoted_id = "version: 1\nmetrics:\n  - { id: '404', layer: system, owner: !!str 123 }\n";
    let checked = files(&[("x.yaml", quoted_id)]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    assert_eq!(checked.catalog.metrics[0].owner.as_deref(), Some("123"));
}

#[test]
fn sources_need_exactly_one_kind_and_a_known_connection() {
    let two = "version: 1\nmetrics:\n  - id: a\n    layer: system\n    source: { csv: { path: a.csv }, parquet: { path: a.parquet } }\n";
    assert_eq!(codes(&files(&[("x.yaml", two)])), [Code::BadSource]);
    let cross_file = [
        (
            "a.yaml",
            "version: 1\nconnections:\n  main: { kind: prometheus, url: 'http://127.0.0.1:9090' }\nmetrics: []\n",
        ),
        (
            "b.yaml",
            "version: 1\nmetrics:\n  - { id: a, layer: system, source: { prometheus: { connection: main, query: up } } }\n",
        ),
    ];
    assert!(files(&cross_file).is_valid());
    let not_http = "version: 1\nconnections:\n  main: { kind: prometheus, url: '127.0.0.1:9090' }\nmetrics: []\n";
    assert_eq!(
        codes(&files(&[("x.yaml", not_http)])),
        [Code::BadConnection]
    );
    let twice = [cross_file[0], ("c.yaml", cross_file[0].1)];
    assert_eq!(codes(&files(&twice)), [Code::DuplicateConnection]);
}

#[test]
fn the_top_level_needs_version_and_metrics() {
    assert_eq!(
        codes(&files(&[("x.yaml", "metrics: []\n")])),
        [Code::MissingField]
    );
    assert_eq!(
        codes(&files(&[("x.yaml", "version: 1\n")])),
        [Code::MissingField]
    );
    assert_eq!(
        codes(&files(&[("x.yaml", "- a\n- b\n")])),
        [Code::WrongType]
    );
    assert_eq!(
        codes(&files(&[("x.yaml", "version: 1\nmetrics: {}\n")])),
        [Code::WrongType]
    );
}
