//! `whyline export prometheus-rules` checked by the real `promtool`: the
//! export of the example shop and of a 10,000-metric catalog is accepted,
//! and the generated unit tests pass, and fail when a rule is wrong.

#[path = "../../sources/tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn whyline(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(dir)
        .env_remove("WHYLINE_CATALOG")
        .output()
        .expect("whyline runs")
}

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/metrics")
}

fn promtool(args: &[&str], dir: &Path) -> Option<std::process::Output> {
    let promtool = support::find("promtool")?;
    Some(
        Command::new(promtool)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("promtool runs"),
    )
}

#[test]
fn promtool_accepts_the_example_shop_export_and_its_unit_tests_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shop = shop();
    let out = whyline(
        dir.path(),
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            shop.to_str().expect("utf-8"),
            "--series-from-id",
            "--for",
            "2m",
            "--label",
            "env=prod",
            "-o",
            "rules.yaml",
            "--tests",
            "rules_test.yaml",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("12 alerting rules for 7 metrics"),
        "{stderr}"
    );
    let rules = std::fs::read_to_string(dir.path().join("rules.yaml")).expect("rules");
    assert!(
        rules.contains("whyline_metric: \"checkout_latency_p99\""),
        "{rules}"
    );
    assert!(rules.contains("severity: \"critical\""), "{rules}");
    assert!(rules.contains("owner: \"team-checkout\""), "{rules}");
    assert!(rules.contains("for: \"2m\""), "{rules}");
    let Some(check) = promtool(&["check", "rules", "rules.yaml"], dir.path()) else {
        return;
    };
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = promtool(&["test", "rules", "rules_test.yaml"], dir.path()).expect("promtool");
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    // The tests decide: a rule whose comparison is turned around fails them.
    std::fs::write(
        dir.path().join("rules.yaml"),
        rules.replacen("} < 9000", "} > 9000", 1),
    )
    .expect("write");
    let broken = promtool(&["test", "rules", "rules_test.yaml"], dir.path()).expect("promtool");
    assert!(!broken.status.success(), "a wrong rule passed its tests");
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("RevenueRed")
            || String::from_utf8_lossy(&broken.stderr).contains("RevenueRed"),
        "the failing test names the rule"
    );
}

#[test]
fn promtool_accepts_the_export_of_a_ten_thousand_metric_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = String::from(
        "version: 1\nconnections:\n  main: { kind: prometheus, url: \"http://127.0.0.1:9090\" }\nmetrics:\n",
    );
    for i in 0..10_000 {
        let (bound, layer) = match i % 3 {
            0 => ("red: { above: 0.9 }, amber: { above: 0.8 }", "system"),
            1 => ("red: { above: 1200 }", "service"),
            _ => ("red: { below: 0.99 }, amber: { below: 0.995 }", "service"),
        };
        let _ = writeln!(
            yaml,
            "  - id: m{i}\n    layer: {layer}\n    owner: team-{}\n    decision: Page on-call\n    audience: [on-call]\n    thresholds: {{ {bound} }}\n    source: {{ prometheus: {{ connection: main, query: 'avg(rate(node_cpu_seconds_total{{instance=\"h{i}\"}}[5m]))' }} }}",
            i % 40
        );
    }
    std::fs::write(dir.path().join("whyline.yaml"), yaml).expect("catalog");
    let started = std::time::Instant::now();
    let out = whyline(
        dir.path(),
        &["export", "prometheus-rules", "-o", "rules.yaml"],
    );
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("export of 10,000 metrics: {} ms", took.as_millis());
    let Some(check) = promtool(&["check", "rules", "rules.yaml"], dir.path()) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // 10,000 recording rules and 6,667 + 10,000 alerting rules.
    assert!(stdout.contains("26667 rules found"), "{stdout}");
}

#[test]
fn export_refuses_bad_flags_and_never_overwrites_a_file_it_did_not_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shop = shop();
    let catalog = shop.to_str().expect("utf-8");
    let bad_label = whyline(
        dir.path(),
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            catalog,
            "--label",
            "team-x=1",
        ],
    );
    assert_eq!(bad_label.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_label.stderr).contains("is not a label name"));
    let reserved = whyline(
        dir.path(),
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            catalog,
            "--label",
            "severity=page",
        ],
    );
    assert_eq!(reserved.status.code(), Some(2));
    let bad_for = whyline(
        dir.path(),
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            catalog,
            "--for",
            "5 minutes",
        ],
    );
    assert_eq!(bad_for.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_for.stderr).contains("--for"));
    std::fs::write(dir.path().join("mine.yaml"), "groups: [] # hand-written\n").expect("write");
    let kept = whyline(
        dir.path(),
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            catalog,
            "-o",
            "mine.yaml",
        ],
    );
    assert_eq!(kept.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&kept.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mine.yaml")).expect("read"),
        "groups: [] # hand-written\n"
    );
    // A file the export wrote is rewritten without --force (the last one kept as .bak).
    for _ in 0..2 {
        let out = whyline(
            dir.path(),
            &[
                "export",
                "prometheus-rules",
                "--catalog",
                catalog,
                "-o",
                "ours.yaml",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bak = std::fs::read_to_string(dir.path().join("ours.yaml.bak")).expect("backup");
    assert!(bak.starts_with("# Generated by `whyline export prometheus-rules`"));
}
