//! `whyline why` end to end against a real Prometheus: the catalog's sources
//! are PromQL queries, the data is backfilled history with a CPU fault.

#[path = "../../sources/tests/support/mod.rs"]
mod support;

use std::process::Command;

#[test]
fn why_reads_prometheus_and_finds_the_cpu_fault() {
    // Two hours of minute data ending two days ago, CPU steps up 20 minutes before the end.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let t0 = (now - 2 * 86_400) / 3600 * 3600;
    let points = 120;
    let fault = 100;
    let mut text = String::from("# TYPE shop_cpu gauge\n");
    let noise = |i: i64, k: i64| (((i * 7919 + k * 104_729) % 17) as f64 - 8.0) / 8.0;
    let cpu = |i: i64| 0.4 + 0.01 * noise(i, 1) + if i >= fault { 0.4 } else { 0.0 };
    for i in 0..points {
        text.push_str(&format!("shop_cpu {} {}\n", cpu(i), t0 + i * 60));
    }
    text.push_str("# TYPE shop_latency_ms gauge\n");
    for i in 0..points {
        text.push_str(&format!(
            "shop_latency_ms {} {}\n",
            100.0 + 300.0 * cpu(i) + 2.0 * noise(i, 2),
            t0 + i * 60
        ));
    }
    text.push_str("# EOF\n");
    let Some(server) = support::prometheus(&text) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("whyline.yaml"),
        format!(
            "version: 1\ndefaults: {{ owner: team-shop }}\nconnections:\n  main: {{ kind: prometheus, url: \"{}\" }}\nmetrics:\n  - id: latency\n    layer: service\n    good: lower\n    decision: Whether to roll back\n    audience: [on-call]\n    source: {{ prometheus: {{ connection: main, query: 'shop_latency_ms' }} }}\n    drivers: [{{ metric: cpu, effect: increases }}]\n  - id: cpu\n    layer: system\n    source: {{ prometheus: {{ connection: main, query: 'shop_cpu' }} }}\n",
            server.url()
        ),
    )
    .expect("catalog");
    let at = (t0 + (points - 1) * 60).to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args([
            "why",
            "latency",
            "--at",
            &at,
            "--lookback",
            "2h",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env_remove("WHYLINE_CATALOG")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(answer["status"], "red", "{answer}");
    assert_eq!(answer["causes"][0]["metric"], "cpu", "{answer}");
    assert_eq!(
        answer["causes"][0]["path"],
        serde_json::json!(["latency", "cpu"])
    );
    assert_eq!(answer["missing"], serde_json::json!([]));
}
