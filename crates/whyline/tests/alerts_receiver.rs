//! The alert receiver of `whyline serve` over the real binary: Alertmanager's
//! webhook in, the why out to local stand-ins for Slack and a webhook.
//! (The end-to-end run with a real Prometheus and Alertmanager is in
//! `alerts_end_to_end.rs`.)

mod alert_support;
mod serve_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alert_support::{Sink, post, send};
use serve_support::{Server, raw, shop_data};

const TOKEN: &str = "receiver-test-token-0123456789";
const ROUTE: &str = "/api/alerts/alertmanager";
/// A minute of the simulated day when the CPU fault has made revenue red.
const IN_THE_FAULT: &str = "2026-03-02T23:30:00Z";

fn serve(data: &std::path::Path, state: &std::path::Path, notify: &[String]) -> Server {
    let mut args: Vec<String> = vec![
        "--catalog".into(),
        "examples/shop/metrics".into(),
        "--data".into(),
        data.display().to_string(),
        "--state".into(),
        state.display().to_string(),
        "--page-url".into(),
        "https://whyline.example.com/".into(),
    ];
    for n in notify {
        args.push("--notify".into());
        args.push(n.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&args, &[("WHYLINE_TOKEN", TOKEN)]);
    server.wait_for("/api/status", Some(TOKEN), |s, body| {
        s == 200 && body["ready"] == serde_json::Value::Bool(true)
    });
    server
}

#[test]
fn alerts_sharing_a_root_cause_arrive_as_one_message_with_the_why_and_the_resolve_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let sink = Sink::start();
    let server = serve(
        &data,
        &dir.path().join("state"),
        &[
            format!("webhook={}/hook", sink.base),
            format!("slack={}/slack", sink.base),
        ],
    );
    let firing = post(
        "{}:{env=\"prod\"}",
        &[
            (
                "RevenueRed",
                &[("whyline_metric", "revenue"), ("severity", "critical")],
                "firing",
                IN_THE_FAULT,
            ),
            // Tied by its alert name alone: the exported rule's name.
            (
                "CheckoutLatencyP99Red",
                &[("severity", "critical")],
                "firing",
                IN_THE_FAULT,
            ),
            (
                "DiskFull",
                &[("severity", "warning")],
                "firing",
                IN_THE_FAULT,
            ),
        ],
    );
    let started = Instant::now();
    let (status, body) = send(&server.base, ROUTE, Some(TOKEN), &firing);
    assert_eq!(status, 200, "{body}");
    serve_support::conforms(&server.base, Some(TOKEN), "AlertsStored", &body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["stored"],
        3
    );
    let hooks = |d: &[alert_support::Delivery]| d.iter().filter(|d| d.path == "/hook").count();
    let got = sink.wait_until(Duration::from_secs(30), |d| hooks(d) >= 2 && d.len() >= 4);
    let took = started.elapsed();
    let hook: Vec<&serde_json::Value> = got
        .iter()
        .filter(|d| d.path == "/hook")
        .map(|d| &d.body)
        .collect();
    assert_eq!(hook.len(), 2, "one message per root cause: {hook:#?}");
    let cpu = hook
        .iter()
        .find(|m| m["root"] == "checkout_cpu_utilization")
        .unwrap_or_else(|| panic!("no message names the CPU: {hook:#?}"));
    assert_eq!(
        cpu["alert"]["labels"]["alertname"], "RevenueRed",
        "the business alert leads"
    );
    assert_eq!(cpu["alerts"].as_array().expect("alerts").len(), 2);
    assert_eq!(cpu["why"]["status"], "red");
    assert_eq!(cpu["why"]["at"], IN_THE_FAULT);
    let other = hook
        .iter()
        .find(|m| m["root"].is_null())
        .expect("the unknown alert");
    assert_eq!(other["alert"]["labels"]["alertname"], "DiskFull");
    assert_eq!(other["note"], "not in the catalog");
    let slack: Vec<&serde_json::Value> = got
        .iter()
        .filter(|d| d.path == "/slack")
        .map(|d| &d.body)
        .collect();
    let slack_cpu = slack
        .iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains("checkout_cpu_utilization")
        })
        .unwrap_or_else(|| panic!("no Slack message names the CPU: {slack:#?}"));
    let blocks = slack_cpu["blocks"].to_string();
    assert!(
        blocks.contains("team-checkout"),
        "owners in the message: {blocks}"
    );
    assert!(
        blocks.contains("https://whyline.example.com/#metric=revenue"),
        "{blocks}"
    );
    assert!(
        blocks.contains("CheckoutLatencyP99Red"),
        "the folded alert is named: {blocks}"
    );
    eprintln!(
        "firing alerts answered and delivered in {} ms",
        took.as_millis()
    );

    // Alertmanager re-sends the group: nothing is sent twice.
    let (status, body) = send(&server.base, ROUTE, Some(TOKEN), &firing);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["duplicates"],
        3
    );
    let resolved = post(
        "{}:{env=\"prod\"}",
        &[
            (
                "RevenueRed",
                &[("whyline_metric", "revenue"), ("severity", "critical")],
                "resolved",
                IN_THE_FAULT,
            ),
            (
                "CheckoutLatencyP99Red",
                &[("severity", "critical")],
                "resolved",
                IN_THE_FAULT,
            ),
        ],
    );
    assert_eq!(send(&server.base, ROUTE, Some(TOKEN), &resolved).0, 200);
    let got = sink.wait_until(Duration::from_secs(30), |d| hooks(d) >= 3);
    let hook: Vec<&serde_json::Value> = got
        .iter()
        .filter(|d| d.path == "/hook")
        .map(|d| &d.body)
        .collect();
    assert_eq!(hook.len(), 3, "{hook:#?}");
    let done = hook
        .iter()
        .find(|m| m["status"] == "resolved")
        .expect("resolved message");
    assert_eq!(
        done["root"], "checkout_cpu_utilization",
        "the resolve keeps the firing's cause"
    );
    assert_eq!(done["group_key"], "{}:{env=\"prod\"}");
}

#[test]
fn bad_posts_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let sink = Sink::start();
    let server = serve(
        &data,
        &dir.path().join("state"),
        &[format!("webhook={}/hook", sink.base)],
    );
    let good = post(
        "g",
        &[(
            "RevenueRed",
            &[("whyline_metric", "revenue")],
            "firing",
            IN_THE_FAULT,
        )],
    );
    let (status, body) = send(&server.base, ROUTE, None, &good);
    assert_eq!(status, 401, "{body}");
    let (status, body) = send(
        &server.base,
        ROUTE,
        Some("a-wrong-token-of-enough-length"),
        &good,
    );
    assert_eq!(status, 401, "{body}");
    // 5 MB announced: refused on the header, before the body is sent.
    let request = format!(
        "POST {ROUTE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n"
    );
    let started = Instant::now();
    let answer = raw(&server.addr, request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, body) = send(&server.base, ROUTE, Some(TOKEN), "{\"version\": \"4\", ");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not an Alertmanager webhook"), "{body}");
    let (status, body) = send(
        &server.base,
        ROUTE,
        Some(TOKEN),
        &good.replace("\"version\":\"4\"", "\"version\":\"3\""),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("version `3` is not supported"), "{body}");
    let (status, _) = serve_support::get(&server.base, ROUTE, Some(TOKEN));
    assert_eq!(status, 405);
    // Nothing of the refused posts was stored.
    let (_, counts) = serve_support::get(&server.base, "/api/alerts", Some(TOKEN));
    serve_support::conforms(&server.base, Some(TOKEN), "AlertCounts", &counts);
    let counts: serde_json::Value = serde_json::from_str(&counts).expect("json");
    assert_eq!(counts["counts"]["received"], 0, "{counts}");
    // The others routes stay read-only.
    assert_eq!(send(&server.base, "/api/status", Some(TOKEN), "{}").0, 405);
    assert!(sink.deliveries().is_empty());
}

#[test]
fn notify_without_a_token_or_with_a_bad_target_does_not_start() {
    let out = serve_support::whyline(&[
        "serve",
        "--catalog",
        "examples/shop/metrics",
        "--notify",
        "webhook=http://127.0.0.1:9/hook",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--notify needs a token"));
    let out = serve_support::whyline(&[
        "serve",
        "--catalog",
        "examples/shop/metrics",
        "--notify",
        "teams=https://example.com",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slack, pagerduty or webhook"));
}

#[test]
fn the_notifiers_can_come_from_a_configuration_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let sink = Sink::start();
    let config = dir.path().join("serve.yaml");
    std::fs::write(
        &config,
        format!(
            "notify:\n  - {{ kind: webhook, url: \"{}/from-file\" }}\nstate: state\n",
            sink.base
        ),
    )
    .expect("config");
    let server = Server::start(
        &[
            "--catalog",
            "examples/shop/metrics",
            "--data",
            data.to_str().expect("utf-8"),
            "--config",
            config.to_str().expect("utf-8"),
        ],
        &[("WHYLINE_TOKEN", TOKEN)],
    );
    server.wait_for("/api/status", Some(TOKEN), |s, body| {
        s == 200 && body["ready"] == true
    });
    let body = post(
        "file",
        &[(
            "RevenueRed",
            &[("whyline_metric", "revenue")],
            "firing",
            IN_THE_FAULT,
        )],
    );
    assert_eq!(send(&server.base, ROUTE, Some(TOKEN), &body).0, 200);
    let got = sink.wait_until(Duration::from_secs(30), |d| !d.is_empty());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/from-file");
    assert_eq!(got[0].body["root"], "checkout_cpu_utilization");
    assert!(
        dir.path().join("state/alerts.sqlite").exists(),
        "state is read relative to the file"
    );

    std::fs::write(&config, "notifiy: []\n").expect("config");
    let out = serve_support::whyline(&[
        "serve",
        "--catalog",
        "examples/shop/metrics",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("serve.yaml:1:1: unknown key `notifiy`"),
        "{stderr}"
    );
}

#[test]
fn a_notifier_down_for_twenty_seconds_and_a_restart_lose_nothing_and_send_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let state = dir.path().join("state");
    let sink = Sink::start();
    let notify = [format!("webhook={}/hook", sink.base)];
    let metrics = [
        "revenue",
        "conversion_rate",
        "checkout_latency_p99",
        "checkout_error_rate",
    ];
    let group = |i: usize| format!("group-{i}");
    let post_of = |i: usize| {
        post(
            &group(i),
            &[(
                "Red",
                &[("whyline_metric", metrics[i % metrics.len()])],
                "firing",
                IN_THE_FAULT,
            )],
        )
    };
    sink.set_down(true);
    let down_at = Instant::now();
    let mut server = serve(&data, &state, &notify);
    for round in 0..2 {
        for i in 0..6 {
            let (status, body) = send(&server.base, ROUTE, Some(TOKEN), &post_of(i));
            assert_eq!(status, 200, "round {round}: {body}");
        }
    }
    // Let it try (and fail) to deliver, then kill it mid-retry.
    sink.wait_until(Duration::from_secs(10), |_| sink.refused() >= 3);
    assert!(
        sink.refused() >= 3,
        "no delivery was attempted during the outage"
    );
    let _ = server.stderr();
    drop(server);
    let server = serve(&data, &state, &notify);
    // Alertmanager re-sends after the restart, and new alerts come in.
    for i in 0..8 {
        let (status, body) = send(&server.base, ROUTE, Some(TOKEN), &post_of(i));
        assert_eq!(status, 200, "{body}");
    }
    std::thread::sleep(Duration::from_secs(20).saturating_sub(down_at.elapsed()));
    sink.set_down(false);
    let recovered = Instant::now();
    let got = sink.wait_until(Duration::from_secs(60), |d| d.len() >= 8);
    // Anything sent twice would arrive soon after the first copy.
    std::thread::sleep(Duration::from_secs(3));
    let got_after = sink.deliveries();
    assert_eq!(got.len(), got_after.len());
    let mut groups: Vec<String> = got_after
        .iter()
        .map(|d| d.body["group_key"].as_str().unwrap_or("").to_string())
        .collect();
    groups.sort();
    let mut expected: Vec<String> = (0..8).map(group).collect();
    expected.sort();
    assert_eq!(groups, expected, "every notification exactly once");
    eprintln!(
        "outage {} s, {} refused attempts, all 8 delivered {} ms after recovery",
        (recovered - down_at).as_secs(),
        sink.refused(),
        got.last()
            .map_or(0, |d| d.at.duration_since(recovered).as_millis())
    );
}

#[test]
fn fifty_concurrent_alert_posts_are_all_stored() {
    let seconds: u64 = std::env::var("WHYLINE_ALERT_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let sink = Sink::start();
    let server = serve(
        &data,
        &dir.path().join("state"),
        &[format!("webhook={}/hook", sink.base)],
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|client| {
                let (sent, errors, base) =
                    (Arc::clone(&sent), Arc::clone(&errors), server.base.clone());
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    let mut n = 0;
                    while Instant::now() < deadline {
                        let body = post(
                            &format!("load-{client}-{n}"),
                            &[("LoadTest", &[("team", "load")], "firing", IN_THE_FAULT)],
                        );
                        let t = Instant::now();
                        let (status, answer) = send(&base, ROUTE, Some(TOKEN), &body);
                        mine.push(t.elapsed());
                        if status == 200 {
                            sent.fetch_add(1, Ordering::SeqCst);
                        } else {
                            errors
                                .lock()
                                .expect("lock")
                                .push(format!("{status} {answer}"));
                        }
                        n += 1;
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            latencies.extend(h.join().expect("client"));
        }
    });
    let errors = errors.lock().expect("lock").clone();
    assert!(
        errors.is_empty(),
        "{} errors, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    let (_, counts) = serve_support::get(&server.base, "/api/alerts", Some(TOKEN));
    let counts: serde_json::Value = serde_json::from_str(&counts).expect("json");
    let sent = sent.load(Ordering::SeqCst);
    assert_eq!(
        counts["counts"]["received"], sent as u64,
        "every post stored: {counts}"
    );
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_millis();
    eprintln!(
        "{sent} posts from 50 clients in {seconds} s ({:.0}/s), 0 errors; p50 {} ms, p99 {} ms, max {} ms",
        sent as f64 / seconds as f64,
        p(0.5),
        p(0.99),
        p(1.0)
    );
}

use std::sync::Mutex;
