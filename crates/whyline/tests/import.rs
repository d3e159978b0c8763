//! `whyline import` over the real binary: the example team files in
//! `examples/import/`, a real Prometheus's rules and trace service graph, and
//! a folder that already holds files.

#[path = "../../sources/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn whyline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(dir)
        .env_remove("WHYLINE_CATALOG")
        .output()
        .expect("whyline runs")
}

fn example() -> String {
    repo().join("examples/import").display().to_string()
}

#[test]
fn import_drafts_a_catalog_that_check_reads_and_says_what_it_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = whyline(
        dir.path(),
        &["import", &example(), "-o", "metrics", "--format", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 1: written, one alert skipped (`up == 0` is a state, not a threshold).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let written: Vec<&str> = answer["written"]
        .as_array()
        .expect("written")
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert_eq!(written.len(), 4, "{answer}");
    assert!(written.iter().all(|w| dir.path().join(w).is_file()));
    let skipped = answer["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{answer}");
    assert!(
        skipped[0]["origin"]
            .as_str()
            .is_some_and(|o| o.ends_with("checkout.rules.yaml:32"))
    );
    assert!(
        skipped[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("state"))
    );
    // Every metric has an origin and a layer; the Backstage dependency is a
    // proposed edge from payments to checkout.
    let metrics = answer["metrics"].as_array().expect("metrics");
    assert_eq!(metrics.len(), 9, "{answer}");
    assert!(
        metrics
            .iter()
            .all(|m| m["origin"].as_str().is_some_and(|o| !o.is_empty()))
    );
    let edges = answer["edges"].as_array().expect("edges");
    assert!(edges.iter().any(|e| e["from"] == "payments_availability"
        && e["to"] == "checkout_availability"
        && e["proposed"] == true
        && e["origin"] == "backstage:component:checkout"));
    // `check` reads the draft as valid (exit 1: no decision was invented,
    // so every metric fails test 1) and lists the proposed edges.
    let check = whyline(
        dir.path(),
        &["check", "--catalog", "metrics", "--format", "json"],
    );
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let checked: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(checked["errors"], serde_json::json!([]));
    assert_eq!(checked["proposed_edges"].as_array().map(Vec::len), Some(6));
    assert!(
        checked["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .all(|m| m["test_decision"] == false)
    );
    // The alert of two severities: amber and red in one metric.
    let rules =
        std::fs::read_to_string(dir.path().join("metrics/checkout-rules.yaml")).expect("file");
    assert!(
        rules.contains("red: { above: 0.05 }") && rules.contains("amber: { above: 0.01 }"),
        "{rules}"
    );
    assert!(rules.contains("runbook: \"https://runbooks.example.com/checkout/errors\""));
}

#[test]
fn import_never_overwrites_a_file_and_gives_the_same_files_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = whyline(dir.path(), &["import", &example(), "-o", "metrics"]);
    assert_eq!(first.status.code(), Some(1));
    let read =
        |name: &str| std::fs::read_to_string(dir.path().join("metrics").join(name)).expect("file");
    let before = read("checkout-sloth.yaml");
    // Again: the same files, each unchanged.
    let again = whyline(dir.path(), &["import", &example(), "-o", "metrics"]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert_eq!(said.matches("unchanged").count(), 4, "{said}");
    assert!(!said.contains("wrote"));
    // A person edited a file: it is not replaced.
    let edited = format!("{before}# reviewed by team-checkout\n");
    std::fs::write(dir.path().join("metrics/checkout-sloth.yaml"), &edited).expect("edit");
    let third = whyline(dir.path(), &["import", &example(), "-o", "metrics"]);
    assert_eq!(third.status.code(), Some(1));
    let said = String::from_utf8_lossy(&third.stdout);
    assert!(
        said.contains("exists and differs from the draft: not overwritten"),
        "{said}"
    );
    assert_eq!(read("checkout-sloth.yaml"), edited);
}

#[test]
fn import_without_anything_readable_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.yaml"), "shopping: [milk]\n").expect("file");
    let out = whyline(dir.path(), &["import", "notes.yaml", "-o", "metrics"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("notes.yaml:1: not a kind whyline imports"),
        "{said}"
    );
    assert!(!dir.path().join("metrics").exists());
    let missing = whyline(dir.path(), &["import", "nowhere", "-o", "metrics"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read `nowhere`"));
    // A dead server is named, with nothing written.
    let port = support::free_port();
    let dead = whyline(
        dir.path(),
        &[
            "import",
            "--prometheus",
            &format!("http://127.0.0.1:{port}"),
            "-o",
            "metrics",
            "--timeout",
            "5s",
        ],
    );
    assert_eq!(dead.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dead.stdout).contains("cannot reach"));
}

#[test]
fn import_reads_a_live_prometheus_rules_and_trace_service_graph() {
    // Two calls of a service graph, as Tempo's metrics-generator writes them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let t0 = (now - 86_400) / 60 * 60;
    let mut text = String::from("# TYPE traces_service_graph_request counter\n");
    for (client, server) in [("frontend", "checkout"), ("checkout", "payments")] {
        for i in 0..10 {
            text.push_str(&format!(
                "traces_service_graph_request_total{{client=\"{client}\",server=\"{server}\"}} {} {}\n",
                i * 60,
                t0 + i * 60
            ));
        }
    }
    text.push_str("# EOF\n");
    let rules = std::fs::read_to_string(repo().join("examples/import/rules/checkout.rules.yaml"))
        .expect("rules");
    let Some(server) = support::prometheus_with_rules(&text, Some(&rules)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = server.url();
    let out = whyline(
        dir.path(),
        &[
            "import",
            "--prometheus",
            &url,
            "-o",
            "metrics",
            "--format",
            "json",
        ],
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let metrics = answer["metrics"].as_array().expect("metrics");
    let origin_of = |id: &str| {
        metrics
            .iter()
            .find(|m| m["id"] == id)
            .and_then(|m| m["origin"].as_str())
            .map(str::to_string)
    };
    // The rules, from the server's API.
    assert!(
        origin_of("checkout_error_ratio_high")
            .is_some_and(|o| o.starts_with(&format!("{url}/api/v1/rules#checkout/"))),
        "{answer}"
    );
    // The service graph: a metric per call and kind, the callee's call
    // driving the caller's, proposed.
    assert_eq!(
        origin_of("frontend_to_checkout_latency_p99").as_deref(),
        Some("servicegraph")
    );
    let edges = answer["edges"].as_array().expect("edges");
    assert!(
        edges
            .iter()
            .any(|e| e["from"] == "checkout_to_payments_latency_p99"
                && e["to"] == "frontend_to_checkout_latency_p99"
                && e["proposed"] == true),
        "{answer}"
    );
    // The connection names the server it was read from.
    let connection = std::fs::read_to_string(dir.path().join("metrics/prometheus-connection.yaml"))
        .expect("file");
    assert!(connection.contains(&url), "{connection}");
    let check = whyline(
        dir.path(),
        &["check", "--catalog", "metrics", "--format", "json"],
    );
    let checked: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(checked["errors"], serde_json::json!([]), "{checked}");
}

#[test]
fn bad_input_is_named_with_where_and_why_and_the_rest_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let team = dir.path().join("team");
    std::fs::create_dir_all(&team).expect("mkdir");
    let write = |name: &str, text: &str| std::fs::write(team.join(name), text).expect("write");
    write(
        "good.rules.yaml",
        "groups:\n  - name: g\n    rules:\n      - alert: QueueDeep\n        expr: queue_depth > 100\n        labels: { severity: critical }\n",
    );
    write("broken.yaml", "groups:\n  - name: g\n    rules: [\n");
    write("notes.yaml", "shopping: [milk]\n");
    write(
        "threshold.rules.yaml",
        "groups:\n  - name: g\n    rules:\n      - alert: Lagging\n        expr: consumer_offset < producer_offset\n",
    );
    write(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: checkout }\nspec: { owner: team-a, dependsOn: [component:ghost] }\n",
    );
    let port = support::free_port();
    let dead = format!("http://127.0.0.1:{port}");
    let out = whyline(
        dir.path(),
        &[
            "import",
            "team",
            "--prometheus",
            &dead,
            "-o",
            "metrics",
            "--format",
            "json",
            "--timeout",
            "5s",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let skipped: Vec<(String, String)> = answer["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["origin"].as_str().unwrap_or_default().to_string(),
                s["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let has = |origin: &str, reason: &str| {
        skipped
            .iter()
            .any(|(o, r)| o.contains(origin) && r.contains(reason))
    };
    assert!(has("broken.yaml:", "malformed YAML"), "{skipped:?}");
    assert!(
        has("notes.yaml:1", "not a kind whyline imports"),
        "{skipped:?}"
    );
    assert!(
        has("threshold.rules.yaml:4", "threshold is not a number"),
        "{skipped:?}"
    );
    assert!(
        has("catalog-info.yaml:1", "component `ghost`"),
        "{skipped:?}"
    );
    assert!(has(&dead, "cannot reach"), "{skipped:?}");
    // The good rule is imported all the same.
    assert_eq!(answer["metrics"][0]["id"], "queue_deep", "{answer}");
    let check = whyline(dir.path(), &["check", "--catalog", "metrics"]);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

/// The same rules, read from a file or from a live server's
/// `/api/v1/rules`, draft the same metrics (ids, layers, thresholds,
/// queries, drivers); only `origin` differs.
#[test]
fn rules_from_a_file_and_from_a_live_server_draft_the_same_catalog() {
    let rules = std::fs::read_to_string(repo().join("examples/import/rules/checkout.rules.yaml"))
        .expect("rules");
    let Some(server) = support::prometheus_with_rules("# EOF\n", Some(&rules)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("checkout.rules.yaml"), &rules).expect("copy");
    let from_file = whyline(
        dir.path(),
        &[
            "import",
            "checkout.rules.yaml",
            "-o",
            "a",
            "--format",
            "json",
        ],
    );
    let from_api = whyline(
        dir.path(),
        &[
            "import",
            "--prometheus",
            &server.url(),
            "-o",
            "b",
            "--format",
            "json",
        ],
    );
    let dir_path = |d: &str| dir.path().join(d);
    let read = |d: &str| -> Vec<String> {
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(dir_path(d)).expect("draft") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .is_some_and(|n| n == "prometheus-connection.yaml")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            // Everything but where each item came from.
            texts.extend(
                text.lines()
                    .filter(|l| {
                        let t = l.trim_start();
                        !t.starts_with("origin:")
                            && !t.starts_with('#')
                            && !t.starts_with("description: \"Recording rule")
                    })
                    .map(str::to_string),
            );
        }
        texts
    };
    assert!(matches!(from_file.status.code(), Some(0 | 1)));
    assert!(
        matches!(from_api.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&from_api.stdout)
    );
    let (a, b) = (read("a"), read("b"));
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, b);
}

/// A simulated shop's true map: three calls of a service graph; payments'
/// database calls fail and the failure climbs the call chain. Only the
/// simulator reads it: the round trip must find its edges again.
const TRUE_SHOP: &str = r#"version: 1
defaults:
  owner: team-shop
metrics:
  - { id: frontend_to_checkout_requests, layer: service, unit: req/s, thresholds: { red: { below: 48 }, amber: { below: 49 } } }
  - { id: checkout_to_payments_requests, layer: service, unit: req/s, thresholds: { red: { below: 48 }, amber: { below: 49 } } }
  - { id: payments_to_postgres_requests, layer: service, unit: req/s, thresholds: { red: { below: 48 }, amber: { below: 49 } } }
  - { id: payments_to_postgres_failures, layer: service, unit: req/s, thresholds: { red: { above: 10 }, amber: { above: 8 } } }
  - id: checkout_to_payments_failures
    layer: service
    unit: req/s
    thresholds: { red: { above: 10 }, amber: { above: 8 } }
    drivers: [{ metric: payments_to_postgres_failures, effect: increases }]
  - id: frontend_to_checkout_failures
    layer: service
    unit: req/s
    thresholds: { red: { above: 10 }, amber: { above: 8 } }
    drivers: [{ metric: checkout_to_payments_failures, effect: increases }]
  - { id: payments_to_postgres_latency_p99, layer: service, unit: s, thresholds: { red: { above: 2 }, amber: { above: 1.5 } } }
  - id: checkout_to_payments_latency_p99
    layer: service
    unit: s
    thresholds: { red: { above: 2 }, amber: { above: 1.5 } }
    drivers: [{ metric: payments_to_postgres_latency_p99, effect: increases }]
  - id: frontend_to_checkout_latency_p99
    layer: service
    unit: s
    thresholds: { red: { above: 2 }, amber: { above: 1.5 } }
    drivers: [{ metric: checkout_to_payments_latency_p99, effect: increases }]
"#;

/// The shop team's rules: revenue recorded from the checkout calls that
/// succeed (35 USD an order), and an alert on it.
const SHOP_RULES: &str = r#"groups:
  - name: shop
    rules:
      - record: shop:revenue:usd_per_hour
        expr: >-
          (sum(rate(traces_service_graph_request_total{client="frontend",server="checkout"}[5m]))
          - sum(rate(traces_service_graph_request_failed_total{client="frontend",server="checkout"}[5m])))
          * 3600 * 35
      - alert: RevenueBelowPlan
        expr: shop:revenue:usd_per_hour < 5000000
        labels: { severity: critical }
        annotations: { runbook_url: "https://runbooks.example.com/revenue" }
      - alert: RevenueBelowPlan
        expr: shop:revenue:usd_per_hour < 5500000
        labels: { severity: warning }
"#;

/// The upper bounds of the latency histogram's buckets, in seconds.
const LATENCY_BUCKETS: [f64; 16] = [
    0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.5, 3.0,
];

/// The simulated rates as the trace service graph writes them (counters of
/// requests and failures, a latency histogram whose requests of each minute
/// all take the simulated p99), and the recorded revenue as the shop's rule
/// evaluates it (a 5-minute rate over 1-minute samples: the mean of the last
/// four minutes).
fn service_graph_openmetrics(csv: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let rows: Vec<(i64, Vec<f64>)> = lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let time = whyline_series::parse_time(cells[0]).expect("time") / 1000;
            (
                time,
                cells[1..]
                    .iter()
                    .map(|c| c.parse().expect("value"))
                    .collect(),
            )
        })
        .collect();
    let column = |id: &str| {
        let k = header.iter().position(|h| *h == id).expect("column") - 1;
        rows.iter().map(|(_, v)| v[k]).collect::<Vec<f64>>()
    };
    let calls = [
        ("frontend", "checkout"),
        ("checkout", "payments"),
        ("payments", "postgres"),
    ];
    let mut out = String::new();
    let counter = |out: &mut String, family: &str, labels: &str, rates: &[f64]| {
        let mut total = 0.0;
        for ((time, _), rate) in rows.iter().zip(rates) {
            total += rate.max(0.0) * 60.0;
            out.push_str(&format!("{family}_total{{{labels}}} {total:.3} {time}\n"));
        }
    };
    for (family, kind) in [
        ("traces_service_graph_request", "requests"),
        ("traces_service_graph_request_failed", "failures"),
    ] {
        out.push_str(&format!("# TYPE {family} counter\n"));
        for (client, server) in calls {
            let labels = format!("client=\"{client}\",server=\"{server}\"");
            counter(
                &mut out,
                family,
                &labels,
                &column(&format!("{client}_to_{server}_{kind}")),
            );
        }
    }
    out.push_str("# TYPE traces_service_graph_request_server_seconds_bucket gauge\n");
    for (client, server) in calls {
        let requests = column(&format!("{client}_to_{server}_requests"));
        let latency = column(&format!("{client}_to_{server}_latency_p99"));
        let les = LATENCY_BUCKETS
            .iter()
            .map(|le| (format!("{le}"), *le))
            .chain([("+Inf".to_string(), f64::INFINITY)]);
        for (label, le) in les {
            let mut total = 0.0;
            for (i, (time, _)) in rows.iter().enumerate() {
                if latency[i] <= le {
                    total += requests[i].max(0.0) * 60.0;
                }
                out.push_str(&format!(
                    "traces_service_graph_request_server_seconds_bucket{{client=\"{client}\",server=\"{server}\",le=\"{label}\"}} {total:.3} {time}\n"
                ));
            }
        }
    }
    out.push_str("# TYPE shop:revenue:usd_per_hour gauge\n");
    let requests = column("frontend_to_checkout_requests");
    let failures = column("frontend_to_checkout_failures");
    for (i, (time, _)) in rows.iter().enumerate().skip(4) {
        let succeeded: f64 = (i - 3..=i)
            .map(|k| requests[k].max(0.0) - failures[k].max(0.0))
            .sum::<f64>()
            / 4.0;
        out.push_str(&format!(
            "shop:revenue:usd_per_hour {:.3} {time}\n",
            succeeded * 3600.0 * 35.0
        ));
    }
    out.push_str("# EOF\n");
    out
}

/// Round trip (issue #13): a simulated shop's map is thrown away, drafted
/// again from the trace service graph in a real Prometheus and the shop's
/// rules, checked on the data by `edges`, and `why` on revenue finds the
/// injected root cause through the drafted edges.
#[test]
fn a_map_drafted_from_the_service_graph_and_rules_finds_the_injected_root_cause() {
    if support::find("prometheus").is_none() || support::find("promtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("truth.yaml"), TRUE_SHOP).expect("truth");
    // Twelve hours of minutes, ending a day ago; the fault starts an hour
    // before the end.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let start = (now - 36 * 3600) / 3600 * 3600;
    let simulate = whyline(
        dir.path(),
        &[
            "simulate",
            "--catalog",
            "truth.yaml",
            "--fault",
            "payments_to_postgres_failures:step:16",
            "--points",
            "720",
            "--start",
            &start.to_string(),
            "-o",
            "sim",
        ],
    );
    assert!(
        simulate.status.success(),
        "{}",
        String::from_utf8_lossy(&simulate.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("sim/data.csv")).expect("data");
    let server = support::prometheus_with_rules(&service_graph_openmetrics(&csv), Some(SHOP_RULES))
        .expect("prometheus");
    // The map, drafted from what the team has: the server's rules and graph.
    let import = whyline(
        dir.path(),
        &[
            "import",
            "--prometheus",
            &server.url(),
            "-o",
            "metrics",
            "--format",
            "json",
        ],
    );
    let drafted: serde_json::Value = serde_json::from_slice(&import.stdout).expect("json");
    assert!(matches!(import.status.code(), Some(0 | 1)), "{drafted}");
    let edges = drafted["edges"].as_array().expect("edges");
    let has_edge = |from: &str, to: &str| edges.iter().any(|e| e["from"] == from && e["to"] == to);
    // The rule and the graph meet: revenue reads the graph's own metrics.
    assert!(
        has_edge("frontend_to_checkout_failures", "shop:revenue:usd_per_hour"),
        "{drafted}"
    );
    assert!(
        has_edge("frontend_to_checkout_requests", "shop:revenue:usd_per_hour"),
        "{drafted}"
    );
    assert!(
        has_edge("shop:revenue:usd_per_hour", "revenue_below_plan"),
        "{drafted}"
    );
    assert!(
        has_edge(
            "payments_to_postgres_failures",
            "checkout_to_payments_failures"
        ),
        "{drafted}"
    );
    assert!(
        drafted["skipped"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| !s["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("already drafted"))),
        "{drafted}"
    );
    let t = |seconds: i64| whyline_series::format_time(seconds * 1000);
    let last = start + 719 * 60;
    // The data checks the drafted edges: the failure chain is supported.
    let checked = whyline(
        dir.path(),
        &[
            "edges",
            "--catalog",
            "metrics",
            "--from",
            &t(start),
            "--to",
            &t(last),
            "--format",
            "json",
        ],
    );
    let verdicts: serde_json::Value =
        serde_json::from_slice(&checked.stdout).unwrap_or_else(|_| {
            panic!("{}", String::from_utf8_lossy(&checked.stderr));
        });
    let verdict = |from: &str, to: &str| {
        verdicts["declared"]
            .as_array()
            .and_then(|d| d.iter().find(|e| e["from"] == from && e["to"] == to))
            .map(|e| (e["verdict"].clone(), e["proposed"].clone()))
    };
    for (from, to) in [
        (
            "payments_to_postgres_failures",
            "checkout_to_payments_failures",
        ),
        (
            "checkout_to_payments_failures",
            "frontend_to_checkout_failures",
        ),
        ("frontend_to_checkout_failures", "shop:revenue:usd_per_hour"),
    ] {
        assert_eq!(
            verdict(from, to),
            Some((serde_json::json!("supported"), serde_json::json!(true))),
            "{from} -> {to}: {verdicts}"
        );
    }
    // Revenue turned red; why names the database calls of payments.
    let why = whyline(
        dir.path(),
        &[
            "why",
            "revenue_below_plan",
            "--catalog",
            "metrics",
            "--at",
            &t(last),
            "--format",
            "json",
        ],
    );
    let answer: serde_json::Value = serde_json::from_slice(&why.stdout).unwrap_or_else(|_| {
        panic!("{}", String::from_utf8_lossy(&why.stderr));
    });
    assert_eq!(answer["status"], "red", "{answer}");
    assert_eq!(
        answer["causes"][0]["metric"], "payments_to_postgres_failures",
        "{answer}"
    );
    assert_eq!(
        answer["causes"][0]["path"],
        serde_json::json!([
            "revenue_below_plan",
            "shop:revenue:usd_per_hour",
            "frontend_to_checkout_failures",
            "checkout_to_payments_failures",
            "payments_to_postgres_failures"
        ]),
        "{answer}"
    );
    assert!(answer["lead"].is_null(), "{answer}");
}
