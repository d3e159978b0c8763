//! Reading from real Prometheus-API engines (Prometheus, VictoriaMetrics) and
//! the failures a network source can have. Values read back must equal what
//! was written.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use whyline_catalog::{Catalog, SourceFile, parse};
use whyline_series::TimeRange;
use whyline_sources::{Options, Quiet, SourceError, fetch};

const POINTS: i64 = 240;
const STEP_S: i64 = 60;

/// Start of the test data: two days ago, on the hour, so every engine accepts it.
fn t0() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    (now - 2 * 86_400) / 3600 * 3600
}

/// Exactly representable values, so text round trips are exact.
fn value(i: i64) -> f64 {
    i as f64 * 0.25 + (i % 7) as f64
}

fn catalog(url: &str, extra_connection: &str, metrics: &str) -> Catalog {
    let text = format!(
        "version: 1\nconnections:\n  main: {{ kind: prometheus, url: \"{url}\"{extra_connection} }}\nmetrics:\n{metrics}"
    );
    let checked = parse(vec![SourceFile {
        path: PathBuf::from("t.yaml"),
        text,
    }]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    checked.catalog
}

const METRICS: &str = "  - { id: cpu, layer: system, source: { prometheus: { connection: main, query: 'whyline_cpu' } } }
  - { id: multi, layer: system, source: { prometheus: { connection: main, query: 'whyline_multi' } } }
  - { id: broken, layer: system, source: { prometheus: { connection: main, query: 'sum(' } } }
  - { id: absent, layer: system, source: { prometheus: { connection: main, query: 'whyline_absent' } } }
";

fn openmetrics() -> String {
    let mut text = String::from("# TYPE whyline_cpu gauge\n");
    for i in 0..POINTS {
        text.push_str(&format!("whyline_cpu {} {}\n", value(i), t0() + i * STEP_S));
    }
    text.push_str("# TYPE whyline_multi gauge\n");
    for i in 0..POINTS {
        text.push_str(&format!(
            "whyline_multi{{host=\"a\"}} 1 {}\n",
            t0() + i * STEP_S
        ));
        text.push_str(&format!(
            "whyline_multi{{host=\"b\"}} 2 {}\n",
            t0() + i * STEP_S
        ));
    }
    text.push_str("# EOF\n");
    text
}

fn exposition() -> String {
    let mut text = String::new();
    for i in 0..POINTS {
        let ms = (t0() + i * STEP_S) * 1000;
        text.push_str(&format!("whyline_cpu {} {ms}\n", value(i)));
        text.push_str(&format!(
            "whyline_multi{{host=\"a\"}} 1 {ms}\nwhyline_multi{{host=\"b\"}} 2 {ms}\n"
        ));
    }
    text
}

fn window() -> TimeRange {
    TimeRange {
        start: t0() * 1000,
        end: (t0() + POINTS * STEP_S) * 1000,
    }
}

/// The same assertions for every engine that speaks the API.
fn reads_back_what_was_written(url: &str) {
    let catalog = catalog(url, "", METRICS);
    let ids: Vec<String> = ["cpu", "multi", "broken", "absent"]
        .map(String::from)
        .to_vec();
    let options = Options {
        range: Some(window()),
        step_ms: Some(STEP_S * 1000),
        attempts: 1,
        ..Options::default()
    };
    let data = fetch(&catalog, &ids, &options, &Quiet);
    let cpu = data
        .get("cpu")
        .unwrap_or_else(|| panic!("cpu missing: {:?}", data.missing));
    assert_eq!(cpu.values.len(), POINTS as usize);
    for (i, v) in cpu.values.iter().enumerate() {
        assert_eq!(*v, value(i as i64), "point {i}");
    }
    let reasons: Vec<(String, String)> = data
        .missing
        .iter()
        .map(|m| (m.metric.clone(), m.to_string()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    let reason = |id: &str| {
        reasons
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("multi").contains("returned 2 series")
            && reason("multi").contains("host=\"a\"")
            && reason("multi").contains("host=\"b\""),
        "{}",
        reason("multi")
    );
    assert!(
        reason("multi").starts_with("`multi` from prometheus `main`"),
        "names metric and source: {}",
        reason("multi")
    );
    // Prometheus says 400 bad_data, VictoriaMetrics 422: either way the server's own words.
    assert!(
        reason("broken").contains("answered HTTP 4"),
        "{}",
        reason("broken")
    );
    assert!(
        reason("absent").contains("no data between"),
        "{}",
        reason("absent")
    );
}

#[test]
fn prometheus_reads_back_values_and_reports_bad_queries() {
    let Some(server) = support::prometheus(&openmetrics()) else {
        return;
    };
    reads_back_what_was_written(&server.url());
}

#[test]
fn victoria_metrics_gives_the_same_answers() {
    let Some(server) = support::victoria_metrics(&exposition()) else {
        return;
    };
    reads_back_what_was_written(&server.url());
}

#[test]
fn windows_over_the_points_limit_are_split() {
    let Some(server) = support::prometheus(&openmetrics()) else {
        return;
    };
    // 1 s steps over 4 hours: 14,400 points, over Prometheus' 11,000 limit.
    let range = window();
    let query = format!(
        "/api/v1/query_range?query=whyline_cpu&start={}&end={}&step=1",
        range.start / 1000,
        range.end / 1000 - 1
    );
    let (status, body) =
        support::http(server.port, "GET", &query, b"").expect("prometheus answers");
    assert_eq!(status, 400, "one request over the limit is refused: {body}");
    assert!(body.contains("11,000") || body.contains("11000"), "{body}");

    let catalog = catalog(&server.url(), "", METRICS);
    let options = Options {
        range: Some(range),
        step_ms: Some(1000),
        ..Options::default()
    };
    let data = fetch(&catalog, &["cpu".to_string()], &options, &Quiet);
    let cpu = data
        .get("cpu")
        .unwrap_or_else(|| panic!("{:?}", data.missing));
    assert_eq!(cpu.values.len(), 14_400);
    assert_eq!(cpu.missing(), 0);
    // At second s the latest sample is the one of minute s / 60.
    for (s, v) in cpu.values.iter().enumerate() {
        assert_eq!(*v, value(s as i64 / 60), "second {s}");
    }
}

/// A TCP server that plays one fault for every connection and counts them.
fn fault_server(
    respond: impl Fn(&mut std::net::TcpStream) + Send + Sync + 'static,
) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10) {
            let Ok(mut stream) = stream else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            let respond = Arc::clone(&respond);
            std::thread::spawn(move || respond(&mut stream));
        }
    });
    (port, count)
}

fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut buffer = [0u8; 8192];
    let n = stream.read(&mut buffer).unwrap_or(0);
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

fn fetch_cpu(url: &str, extra: &str, timeout: Duration, attempts: u32) -> Result<(), SourceError> {
    let catalog = catalog(url, extra, METRICS);
    let options = Options {
        range: Some(window()),
        step_ms: Some(60_000),
        timeout,
        attempts,
        backoff: Duration::from_millis(10),
        ..Options::default()
    };
    let data = fetch(&catalog, &["cpu".to_string()], &options, &Quiet);
    match data.missing.into_iter().next() {
        Some(m) => {
            assert_eq!(m.metric, "cpu");
            assert_eq!(m.source, "prometheus `main`");
            Err(m.error)
        }
        None => Ok(()),
    }
}

#[test]
fn a_dead_server_is_reported_after_retries() {
    let port = support::free_port();
    let error = fetch_cpu(
        &format!("http://127.0.0.1:{port}"),
        "",
        Duration::from_secs(2),
        2,
    )
    .unwrap_err();
    assert!(matches!(error, SourceError::Unreachable { .. }), "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot reach http://127.0.0.1:{port}/api/v1/query_range"
        )),
        "{error}"
    );
}

#[test]
fn a_slow_server_times_out() {
    let (port, count) = fault_server(|stream| {
        let _ = read_request(stream);
        std::thread::sleep(Duration::from_secs(3));
    });
    let started = std::time::Instant::now();
    let error = fetch_cpu(
        &format!("http://127.0.0.1:{port}"),
        "",
        Duration::from_millis(300),
        2,
    )
    .unwrap_err();
    assert!(
        matches!(error, SourceError::Timeout { attempts: 2, .. }),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "time-outs are enforced: {:?}",
        started.elapsed()
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn server_errors_are_retried_then_reported_with_the_prometheus_message() {
    let (port, count) = fault_server(|stream| {
        let _ = read_request(stream);
        let body =
            r#"{"status":"error","errorType":"unavailable","error":"too many concurrent queries"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let error = fetch_cpu(
        &format!("http://127.0.0.1:{port}"),
        "",
        Duration::from_secs(2),
        3,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "http://127.0.0.1:{port}/api/v1/query_range answered HTTP 503 (unavailable): too many concurrent queries"
        )
    );
    assert_eq!(count.load(Ordering::SeqCst), 3, "503 is retried");
}

#[test]
fn credentials_come_from_the_environment_and_tenant_and_prefix_are_sent() {
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let (port, _) = fault_server(move |stream| {
        let request = read_request(stream);
        seen.lock().expect("lock").push(request);
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let url = format!("http://127.0.0.1:{port}/prometheus");
    // SAFETY: tests in this binary do not read this variable concurrently.
    unsafe { std::env::set_var("WHYLINE_TEST_TOKEN", "s3cret") };
    let _ = fetch_cpu(
        &url,
        ", bearer_env: WHYLINE_TEST_TOKEN, tenant: team-a",
        Duration::from_secs(2),
        1,
    );
    let request = requests
        .lock()
        .expect("lock")
        .first()
        .cloned()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        request.starts_with("get /prometheus/api/v1/query_range?query=whyline_cpu"),
        "{request}"
    );
    assert!(
        request.contains("authorization: bearer s3cret"),
        "{request}"
    );
    assert!(request.contains("x-scope-orgid: team-a"), "{request}");

    let error = fetch_cpu(
        &url,
        ", bearer_env: WHYLINE_TEST_UNSET_TOKEN",
        Duration::from_secs(2),
        1,
    )
    .unwrap_err();
    assert_eq!(
        error,
        SourceError::MissingEnv("WHYLINE_TEST_UNSET_TOKEN".into())
    );
}

#[test]
fn a_network_source_without_a_window_says_so() {
    let catalog = catalog("http://127.0.0.1:9", "", METRICS);
    let data = fetch(&catalog, &["cpu".to_string()], &Options::default(), &Quiet);
    assert_eq!(data.missing[0].error, SourceError::NoWindow);
}
