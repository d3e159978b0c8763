//! The whole alerting loop with real parts: a shop exporter (in this test)
//! is scraped by a real Prometheus, which evaluates the rules `whyline export
//! prometheus-rules` wrote and sends alerts to a real Alertmanager, which posts
//! to `whyline serve`, which delivers the why to a local stand-in for Slack and
//! a webhook. A CPU fault is injected, then ended.

#[path = "../../sources/tests/support/mod.rs"]
mod support;

mod alert_support;
mod serve_support;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alert_support::Sink;
use serve_support::Server;

const TOKEN: &str = "end-to-end-token-0123456789abcdef";

fn noise(i: i64, k: i64) -> f64 {
    (((i * 7919 + k * 104_729).rem_euclid(17)) as f64 - 8.0) / 8.0
}

/// The shop at second `i`: CPU share, latency (ms) and revenue (USD/h).
fn shop(i: i64, fault: bool) -> (f64, f64, f64) {
    let cpu = 0.4 + 0.01 * noise(i, 1) + if fault { 0.4 } else { 0.0 };
    let latency = 100.0 + 300.0 * cpu + 2.0 * noise(i, 2);
    let revenue = 10_000.0 - 10.0 * (latency - 220.0) + 20.0 * noise(i, 3);
    (cpu, latency, revenue)
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Serves `/metrics` with the shop's values now; `fault` switches the CPU fault.
fn exporter(fault: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let (cpu, latency, revenue) = shop(now_s(), fault.load(Ordering::SeqCst));
            let body = format!(
                "# TYPE shop_cpu gauge\nshop_cpu {cpu}\n# TYPE shop_latency_ms gauge\nshop_latency_ms {latency}\n# TYPE shop_revenue gauge\nshop_revenue {revenue}\n"
            );
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    port
}

/// A child process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_ready(port: u16, path: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = support::http(port, "GET", path, b"") {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} did not become ready on port {port}");
}

fn whyline(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(dir)
        .env_remove("WHYLINE_CATALOG")
        .output()
        .expect("whyline runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_fault_pages_through_prometheus_and_alertmanager_with_its_root_cause_and_then_resolves() {
    let (Some(prometheus), Some(promtool), Some(alertmanager)) = (
        support::find("prometheus"),
        support::find("promtool"),
        support::find("prometheus-alertmanager"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let prometheus_port = support::free_port();

    // The map, with Prometheus queries; its thresholds become the rules.
    std::fs::write(
        root.join("shop.yaml"),
        format!(
            "version: 1
connections:
  main: {{ kind: prometheus, url: \"http://127.0.0.1:{prometheus_port}\" }}
metrics:
  - id: revenue
    name: Revenue per hour
    layer: business
    owner: team-growth
    decision: Whether to keep investing in checkout
    audience: [leadership]
    good: higher
    runbook: https://runbooks.example.com/revenue
    thresholds: {{ red: {{ below: 9300 }} }}
    source: {{ prometheus: {{ connection: main, query: 'shop_revenue' }} }}
    drivers: [{{ metric: latency, effect: decreases }}]
  - id: latency
    layer: service
    owner: team-checkout
    good: lower
    thresholds: {{ red: {{ above: 300 }} }}
    source: {{ prometheus: {{ connection: main, query: 'shop_latency_ms' }} }}
    drivers: [{{ metric: cpu, effect: increases }}]
  - id: cpu
    layer: system
    owner: team-platform
    good: lower
    thresholds: {{ red: {{ above: 0.7 }} }}
    source: {{ prometheus: {{ connection: main, query: 'shop_cpu' }} }}
"
        ),
    )
    .expect("catalog");
    whyline(
        root,
        &[
            "export",
            "prometheus-rules",
            "--catalog",
            "shop.yaml",
            "--for",
            "10s",
            "--label",
            "env=e2e",
            "-o",
            "rules.yaml",
        ],
    );

    // Twenty minutes of normal history, backfilled with the labels the scrape
    // gives, so history and live data are one series; live data every second.
    let fault = Arc::new(AtomicBool::new(false));
    let exporter_port = exporter(Arc::clone(&fault));
    let labels = format!("{{instance=\"127.0.0.1:{exporter_port}\",job=\"shop\"}}");
    let now = now_s();
    let mut history = String::new();
    for (k, name) in ["shop_cpu", "shop_latency_ms", "shop_revenue"]
        .iter()
        .enumerate()
    {
        let _ = writeln!(history, "# TYPE {name} gauge");
        for i in (now - 1200)..(now - 5) {
            let v = shop(i, false);
            let value = [v.0, v.1, v.2][k];
            let _ = writeln!(history, "{name}{labels} {value} {i}");
        }
    }
    history.push_str("# EOF\n");
    std::fs::write(root.join("history.om"), history).expect("history");
    let tsdb = root.join("tsdb");
    let out = Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(root.join("history.om"))
        .arg(&tsdb)
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // whyline first: Alertmanager's configuration needs its address.
    let sink = Sink::start();
    let state = root.join("state");
    let mut server = Server::start(
        &[
            "--catalog",
            root.join("shop.yaml").to_str().expect("utf-8"),
            "--lookback",
            "20m",
            "--refresh",
            "5s",
            "--state",
            state.to_str().expect("utf-8"),
            "--notify",
            &format!("webhook={}/hook", sink.base),
            "--notify",
            &format!("slack={}/slack", sink.base),
        ],
        &[("WHYLINE_TOKEN", TOKEN)],
    );

    let alertmanager_port = support::free_port();
    std::fs::write(
        root.join("alertmanager.yml"),
        format!(
            "route:
  receiver: whyline
  group_by: [env]
  group_wait: 2s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: whyline
    webhook_configs:
      - url: {}/api/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization: {{ type: Bearer, credentials: {TOKEN} }}
",
            server.base
        ),
    )
    .expect("alertmanager config");
    let _alertmanager = Running(
        Command::new(alertmanager)
            .arg(format!(
                "--config.file={}",
                root.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", root.join("am").display()))
            .arg(format!(
                "--web.listen-address=127.0.0.1:{alertmanager_port}"
            ))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("alertmanager starts"),
    );
    wait_ready(alertmanager_port, "/-/ready", "alertmanager");

    std::fs::write(
        root.join("prometheus.yml"),
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
rule_files: [rules.yaml]
alerting:
  alertmanagers: [{{ static_configs: [{{ targets: ['127.0.0.1:{alertmanager_port}'] }}] }}]
scrape_configs:
  - job_name: shop
    static_configs: [{{ targets: ['127.0.0.1:{exporter_port}'] }}]
"
        ),
    )
    .expect("prometheus config");
    let _prometheus = Running(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                root.join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    wait_ready(prometheus_port, "/-/ready", "prometheus");

    // A few calm seconds of live data, then the fault.
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        sink.deliveries().is_empty(),
        "paged while calm: {:?}",
        sink.deliveries()
    );
    fault.store(true, Ordering::SeqCst);
    let injected = Instant::now();
    let hooks = |d: &[alert_support::Delivery]| -> Vec<serde_json::Value> {
        d.iter()
            .filter(|d| d.path == "/hook")
            .map(|d| d.body.clone())
            .collect()
    };
    let got = sink.wait_until(Duration::from_secs(90), |d| !hooks(d).is_empty());
    let firing = hooks(&got);
    assert!(
        !firing.is_empty(),
        "no message within 90 s of the fault; whyline said:\n{}",
        server.stderr()
    );
    // Alertmanager may post the group again as alerts join it: give it time.
    std::thread::sleep(Duration::from_secs(5));
    let firing: Vec<serde_json::Value> = hooks(&sink.deliveries())
        .into_iter()
        .filter(|m| m["status"] == "firing")
        .collect();
    assert_eq!(firing.len(), 1, "one message, not a storm: {firing:#?}");
    let message = &firing[0];
    assert_eq!(message["root"], "cpu", "{message:#}");
    let names: Vec<&str> = message["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["alert"]["labels"]["alertname"].as_str())
        .collect();
    assert_eq!(names, ["RevenueRed", "LatencyRed", "CpuRed"], "{message:#}");
    assert_eq!(
        message["why"]["causes"][0]["path"],
        serde_json::json!(["revenue", "latency", "cpu"])
    );
    let slack = sink
        .deliveries()
        .into_iter()
        .find(|d| d.path == "/slack")
        .expect("the Slack message");
    let blocks = slack.body["blocks"].to_string();
    assert!(
        blocks.contains("team-platform"),
        "the root's owner: {blocks}"
    );
    assert!(
        blocks.contains("https://runbooks.example.com/revenue"),
        "{blocks}"
    );
    preview(&slack.body);
    // Within 30 s of the alert firing (its startsAt, when Prometheus fired it).
    let fired_ms =
        whyline_series::parse_time(message["alert"]["startsAt"].as_str().expect("startsAt"))
            .expect("an RFC 3339 time");
    let arrived = got[0].at;
    let arrived_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
        - arrived.elapsed().as_millis() as i64;
    let lag = arrived_ms - fired_ms;
    assert!(lag < 30_000, "delivered {lag} ms after the alert fired");
    eprintln!(
        "fault -> message in {} ms ({} ms after Prometheus fired, `for: 10s`)",
        arrived.duration_since(injected).as_millis(),
        lag
    );

    // The fault ends: the resolved message follows, for the same group and cause.
    fault.store(false, Ordering::SeqCst);
    let ended = Instant::now();
    let got = sink.wait_until(Duration::from_secs(60), |d| {
        hooks(d).iter().any(|m| m["status"] == "resolved")
    });
    let resolved: Vec<serde_json::Value> = hooks(&got)
        .into_iter()
        .filter(|m| m["status"] == "resolved")
        .collect();
    assert!(
        !resolved.is_empty(),
        "no resolved message within 60 s of the fault's end"
    );
    assert_eq!(resolved[0]["group_key"], message["group_key"]);
    assert_eq!(resolved[0]["root"], "cpu");
    eprintln!(
        "fault end -> resolved message in {} ms",
        ended.elapsed().as_millis()
    );
}

/// Draws the Slack message that arrived as the docs' HTML preview, and a
/// screenshot of it in headless Chromium when installed: CI artefacts
/// `target/artefacts/slack-message.{html,png}`.
fn preview(message: &serde_json::Value) {
    let artefacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artefacts");
    std::fs::create_dir_all(&artefacts).expect("artefacts folder");
    let page = artefacts.join("slack-message.html");
    std::fs::write(&page, whyline_alerts::message::slack_preview_html(message)).expect("preview");
    let Some(browser) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
    else {
        eprintln!("skipped: the Slack preview screenshot needs chromium");
        return;
    };
    let profile = tempfile::tempdir().expect("profile");
    let shot = artefacts.join("slack-message.png");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=720,440",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
