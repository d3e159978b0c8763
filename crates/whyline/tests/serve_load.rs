//! Load on loopback: 50 concurrent clients ask `why` of the example for a
//! bounded time (WHYLINE_LOAD_SECONDS, default 60) and every answer must be a
//! 200. Prints requests, p50/p99/max latency and the server's peak memory.
//! Set WHYLINE_SERVE_BIN=target/release/whyline to measure a release build.

mod serve_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serve_support::{agent, shop_server};

const CLIENTS: usize = 50;

/// The server's peak resident memory so far, in KiB (Linux only).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
fn fifty_clients_asking_why_get_no_errors() {
    let seconds: u64 = std::env::var("WHYLINE_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _) = shop_server(dir.path(), &["--request-timeout", "30s"], &[]);
    server.wait_ready();
    // Red and green metrics, at times across the day: the engine runs for each.
    let metrics = [
        "revenue",
        "conversion_rate",
        "checkout_latency_p99",
        "sessions",
        "checkout_cpu_utilization",
    ];
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let end = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let base = server.base.clone();
            let latencies = Arc::clone(&latencies);
            let errors = Arc::clone(&errors);
            std::thread::spawn(move || {
                let agent = agent();
                let mut mine = Vec::new();
                let mut i = client;
                while Instant::now() < end {
                    let metric = metrics[i % metrics.len()];
                    // Minutes 300..1439 of the day: enough history before each.
                    let minute = 300 + (i * 37) % 1140;
                    let at = format!("2026-03-02T{:02}:{:02}:00Z", minute / 60, minute % 60);
                    let url = format!("{base}/api/why/{metric}?at={at}");
                    let asked = Instant::now();
                    match agent.get(&url).call() {
                        Ok(mut r) if r.status().as_u16() == 200 => {
                            let body = r.body_mut().read_to_string().unwrap_or_default();
                            if body.contains("\"causes\"") {
                                mine.push(asked.elapsed());
                            } else {
                                errors.lock().expect("lock").push(format!("{url}: {body}"));
                            }
                        }
                        Ok(mut r) => {
                            let body = r.body_mut().read_to_string().unwrap_or_default();
                            errors
                                .lock()
                                .expect("lock")
                                .push(format!("{url}: {} {body}", r.status()));
                        }
                        Err(e) => errors.lock().expect("lock").push(format!("{url}: {e}")),
                    }
                    i += CLIENTS;
                }
                latencies.lock().expect("lock").extend(mine);
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    let errors = errors.lock().expect("lock");
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let mut latencies = latencies.lock().expect("lock").clone();
    latencies.sort_unstable();
    assert!(
        latencies.len() >= CLIENTS,
        "only {} answers",
        latencies.len()
    );
    let rss = peak_rss_kib(server.pid());
    eprintln!(
        "load: {CLIENTS} clients x {seconds} s: {} answers ({:.0}/s), 0 errors; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; server peak RSS {}",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        rss.map_or("n/a".to_string(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        )),
    );
}
