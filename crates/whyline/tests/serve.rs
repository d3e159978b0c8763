//! `whyline serve` over HTTP: every route on the example, bad input, the
//! token, a broken catalog edit, and sources that are dead or slow.

mod serve_support;

#[path = "../../sources/tests/support/mod.rs"]
mod support;

use std::io::Read as _;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;
use serve_support::{
    Server, conforms, copy_example, get, get_with_headers, raw, shop_data, shop_server, violations,
    whyline,
};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The example shop with simulated data, served.
fn shop() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, data) = shop_server(dir.path(), &[], &[]);
    server.wait_ready();
    (dir, server, data.to_str().expect("utf-8").to_string())
}

#[test]
fn every_route_answers_on_the_example() {
    let (_dir, server, data) = shop();
    let base = &server.base;

    let (status, body) = get(base, "/healthz", None);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["status"], "ok");

    // /api/check is the CLI's JSON, byte for byte in meaning.
    let (status, body) = get(base, "/api/check", None);
    assert_eq!(status, 200);
    let cli = whyline(&[
        "check",
        "--catalog",
        "examples/shop/metrics",
        "--format",
        "json",
    ]);
    assert_eq!(json(&body), json(&String::from_utf8_lossy(&cli.stdout)));

    // /api/why/{metric}?at= is the CLI's JSON for the same question.
    let at = "2026-03-02T23:30:00Z";
    let (status, body) = get(base, &format!("/api/why/revenue?at={at}"), None);
    assert_eq!(status, 200, "{body}");
    let cli = whyline(&[
        "why",
        "revenue",
        "--catalog",
        "examples/shop/metrics",
        "--data",
        &data,
        "--at",
        at,
        "--format",
        "json",
    ]);
    assert!(cli.status.success());
    let api = json(&body);
    assert_eq!(api, json(&String::from_utf8_lossy(&cli.stdout)));
    assert_eq!(api["status"], "red");
    assert_eq!(api["causes"][0]["metric"], "checkout_cpu_utilization");
    assert_eq!(api["causes"][0]["path"][0], "revenue");

    // Without `at`: the latest point, also red.
    let (status, body) = get(base, "/api/why/revenue", None);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["at"], "2026-03-02T23:59:00Z");

    // A period-over-period question.
    let (status, body) = get(
        base,
        "/api/why/revenue?baseline=2026-03-02T18:00:00Z..2026-03-02T22:00:00Z&window=2026-03-02T23:00:00Z..2026-03-02T23:59:00Z",
        None,
    );
    assert_eq!(status, 200, "{body}");
    let periods = json(&body);
    assert_eq!(periods["causes"][0]["path"][0], "revenue");
    assert!(
        periods["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["metric"] == "checkout_cpu_utilization"),
        "{periods}"
    );

    let (status, body) = get(base, "/api/catalog", None);
    assert_eq!(status, 200);
    let catalog = json(&body);
    assert_eq!(catalog["metrics"].as_array().map(Vec::len), Some(35));
    let revenue = &catalog["metrics"][0];
    assert_eq!(revenue["id"], "revenue");
    assert_eq!(revenue["layer"], "business");
    assert_eq!(revenue["verdict"], "business");
    assert_eq!(revenue["thresholds"]["red"]["below"], 9000.0);
    assert!(catalog["catalog_error"].is_null());

    let (status, body) = get(base, "/api/status", None);
    assert_eq!(status, 200);
    let st = json(&body);
    assert_eq!(st["ready"], true);
    assert_eq!(st["stale"], false);
    assert_eq!(st["data"]["points"], 1440);
    let status_of = |id: &str| {
        st["metrics"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["id"] == id))
            .map(|m| m["status"].clone())
    };
    assert_eq!(status_of("revenue"), Some(Value::from("red")));
    assert_eq!(
        status_of("checkout_cpu_utilization"),
        Some(Value::from("red"))
    );
    assert_eq!(status_of("sessions"), Some(Value::from("green")));

    let (status, body) = get(
        base,
        "/api/series?metrics=revenue,checkout_cpu_utilization&from=2026-03-02T23:50:00Z",
        None,
    );
    assert_eq!(status, 200);
    let series = json(&body);
    assert_eq!(series["points"], 10);
    assert_eq!(series["step_ms"], 60_000);
    assert_eq!(
        series["series"]["revenue"].as_array().map(Vec::len),
        Some(10)
    );

    let (status, body) = get(base, "/api/audit", None);
    assert_eq!(status, 200, "{body}");
    let audit = json(&body);
    assert!(audit["coverage"].is_number());
    assert_eq!(audit["metrics"].as_array().map(Vec::len), Some(35));

    let (status, body) = get(base, "/api/review", None);
    assert_eq!(status, 200);
    let review = json(&body);
    assert!(
        review["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("revenue")),
        "{review}"
    );

    let (status, body) = get(base, "/api/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["openapi"], "3.1.0");

    // The page: no inline script, strict headers, assets served by the binary.
    let (status, headers, page) = get_with_headers(base, "/");
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("content-security-policy").contains("script-src 'self'"));
    assert!(!header("content-security-policy").contains("unsafe-inline"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(!page.contains("<script>"), "inline script in the page");
    for asset in [
        "app.js",
        "app.css",
        "cytoscape.min.js",
        "uPlot.iife.min.js",
        "uPlot.min.css",
    ] {
        assert!(
            page.contains(&format!("/assets/{asset}")),
            "{asset} not linked"
        );
        let (status, body) = get(base, &format!("/assets/{asset}"), None);
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 1000, "{asset} is only {} bytes", body.len());
    }
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page links elsewhere"
    );
}

/// (status, error message) of a GET that must fail.
/// Every route's answer, a success or an error, is the schema the OpenAPI
/// document names for it, generated from the type that builds it.
#[test]
fn every_api_answer_is_the_schema_its_openapi_document_names() {
    let (_dir, server, _) = shop();
    let base = &server.base;
    for (path, status, component) in [
        ("/healthz", 200, "Health"),
        ("/readyz", 200, "Readiness"),
        ("/api/check", 200, "CheckReport"),
        ("/api/catalog", 200, "CatalogView"),
        ("/api/status", 200, "StatusView"),
        ("/api/why/revenue", 200, "WhyAnswer"),
        ("/api/why/revenue?at=2026-03-02T12:00:00Z", 200, "WhyAnswer"),
        (
            "/api/why/revenue?baseline=2026-03-02T18:00:00Z..2026-03-02T22:00:00Z&window=2026-03-02T23:00:00Z..2026-03-02T23:59:00Z",
            200,
            "WhyAnswer",
        ),
        ("/api/series?metrics=revenue,sessions", 200, "SeriesView"),
        ("/api/audit", 200, "AuditReport"),
        ("/api/review", 200, "Review"),
        ("/api/why/no_such_metric", 404, "ApiError"),
        ("/api/series?metrics=", 400, "ApiError"),
        ("/api/nothing", 404, "ApiError"),
    ] {
        let (code, body) = get(base, path, None);
        assert_eq!(code, status, "{path}: {body}");
        conforms(base, None, component, &body);
    }
    // And the check decides: an error is no answer, and a status spelled
    // otherwise (a renamed variant) is refused.
    assert!(!violations(base, None, "WhyAnswer", r#"{"error": "no"}"#).is_empty());
    let (_, body) = get(base, "/api/status", None);
    assert!(body.contains(r#""status":"red""#), "{body}");
    let renamed = body.replace(r#""status":"red""#, r#""status":"Red""#);
    let refused = violations(base, None, "StatusView", &renamed);
    assert!(refused.iter().any(|e| e.contains("/status")), "{refused:?}");
}

fn refused(base: &str, path: &str) -> (u16, String) {
    let (status, body) = get(base, path, None);
    let error = json(&body)["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no `error` in {body}"))
        .to_string();
    (status, error)
}

#[test]
fn bad_input_gets_a_clear_4xx_json_error() {
    let (_dir, server, _) = shop();
    let base = &server.base;
    let cases: &[(&str, u16, &str)] = &[
        ("/api/why/revenu", 404, "did you mean `revenue`?"),
        (
            "/api/why/revenue?at=yesterday",
            400,
            "`at`: `yesterday` is not a time",
        ),
        (
            "/api/why/revenue?at=2020-01-01T00:00:00Z",
            400,
            "outside the data, which covers 2026-03-02T00:00:00Z",
        ),
        ("/api/why/revenue?when=now", 400, "unknown field `when`"),
        (
            "/api/why/revenue?baseline=2026-03-02T01:00:00Z..2026-03-02T02:00:00Z",
            400,
            "`baseline` and `window` go together",
        ),
        (
            "/api/why/revenue?baseline=x&window=y",
            400,
            "write FROM..TO",
        ),
        ("/api/series", 400, "missing field `metrics`"),
        ("/api/series?metrics=nope", 404, "no metric `nope`"),
        (
            "/api/series?metrics=revenue&from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z",
            400,
            "`from` must be before `to`",
        ),
        ("/api/nothing", 404, "no such route"),
        ("/assets/secret.txt", 404, "no asset `secret.txt`"),
    ];
    let mut wording = String::new();
    for (path, status, message) in cases {
        let (got, error) = refused(base, path);
        assert_eq!(got, *status, "{path}: {error}");
        assert!(
            error.contains(message),
            "{path}: `{error}` does not say `{message}`"
        );
        wording.push_str(&format!("GET {path}\n  {got} {error}\n"));
    }
    // The whole wording, reviewed as a snapshot.
    insta::assert_snapshot!("api_errors", wording);
    let many: Vec<String> = (0..65).map(|_| "revenue".to_string()).collect();
    let (got, error) = refused(base, &format!("/api/series?metrics={}", many.join(",")));
    assert_eq!(got, 400);
    assert!(error.contains("1 to 64"), "{error}");
    let (got, error) = refused(base, &format!("/api/why/revenue?at={}", "9".repeat(3000)));
    assert_eq!(got, 414);
    assert!(error.contains("at most 2048"), "{error}");

    // An oversized body is refused before it is read.
    let response = raw(
        &server.addr,
        b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{",
    );
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#"{"error":"request bodies over 1024 bytes are refused"#),
        "{response}"
    );
    let response = raw(
        &server.addr,
        b"GET /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // Writing is not possible.
    let response = raw(
        &server.addr,
        b"DELETE /api/why/revenue HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("allow: get, head"),
        "{response}"
    );
    assert!(response.contains("read-only"), "{response}");
}

#[test]
fn a_token_is_required_when_exposed_and_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let data = data.to_str().expect("utf-8");

    // Beyond loopback without a token: refuses to start.
    let out = whyline(&[
        "serve",
        "--catalog",
        "examples/shop/metrics",
        "--data",
        data,
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    insta::assert_snapshot!("refuses_to_expose_without_token", err);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without a token"),
        "{err}"
    );
    assert!(
        err.contains("WHYLINE_TOKEN") && err.contains("--token-file"),
        "{err}"
    );

    // An empty token file is refused too.
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").expect("write");
    let out = whyline(&[
        "serve",
        "--catalog",
        "examples/shop/metrics",
        "--data",
        data,
        "--listen",
        "0.0.0.0:0",
        "--token-file",
        empty.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the token is empty"));

    // Issue #15, item 9: a short token was accepted; it is refused, with how to make one.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args([
            "serve",
            "--catalog",
            "examples/shop/metrics",
            "--data",
            data,
            "--listen",
            "0.0.0.0:0",
        ])
        .current_dir(serve_support::repo_root())
        .env("WHYLINE_TOKEN", "short")
        .output()
        .expect("run whyline");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the token is 5 bytes long, under the 16") && err.contains("openssl rand"),
        "{err}"
    );

    let token = "3c1f0e9a7b5d4c2e8f6a1b3d5c7e9f0a";
    let check = |server: &Server| {
        let port = server.addr.rsplit(':').next().expect("port");
        let base = format!("http://127.0.0.1:{port}");
        let (status, body) = get(&base, "/api/check", None);
        assert_eq!(status, 401, "{body}");
        assert!(
            json(&body)["error"]
                .as_str()
                .is_some_and(|e| e.contains("Authorization: Bearer"))
        );
        let (status, body) = get(&base, "/api/why/revenue", Some("wrong-token"));
        assert_eq!(status, 401);
        assert!(body.contains("not the one this server was started with"));
        let (status, _) = get(&base, "/api/check", Some(token));
        assert_eq!(status, 200);
        // Health and the page itself carry no data and stay open.
        assert_eq!(get(&base, "/healthz", None).0, 200);
        assert_eq!(get(&base, "/", None).0, 200);
        let response = raw(
            &format!("127.0.0.1:{port}"),
            b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(
            response
                .to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{response}"
        );
    };
    // From the environment.
    let server = Server::start(
        &[
            "--catalog",
            "examples/shop/metrics",
            "--data",
            data,
            "--listen",
            "0.0.0.0:0",
        ],
        &[("WHYLINE_TOKEN", token)],
    );
    check(&server);
    drop(server);
    // From a file.
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{token}\n")).expect("write");
    let server = Server::start(
        &[
            "--catalog",
            "examples/shop/metrics",
            "--data",
            data,
            "--listen",
            "0.0.0.0:0",
            "--token-file",
            file.to_str().expect("utf-8"),
        ],
        &[],
    );
    check(&server);
}

#[test]
fn a_broken_catalog_edit_keeps_the_last_good_one_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = shop_data(dir.path());
    let catalog = copy_example(dir.path());
    let server = Server::start(
        &[
            "--catalog",
            catalog.to_str().expect("utf-8"),
            "--data",
            data.to_str().expect("utf-8"),
        ],
        &[],
    );
    server.wait_ready();
    let base = &server.base;
    let file = catalog.join("checkout.yaml");
    let good = std::fs::read_to_string(&file).expect("read");
    // Requests keep flowing during every edit and reload below; none may fail.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let asker = {
        let stop = std::sync::Arc::clone(&stop);
        let base = base.clone();
        std::thread::spawn(move || {
            let mut answered = 0usize;
            let mut failed = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for path in ["/api/why/revenue", "/api/status", "/api/catalog", "/"] {
                    let (code, body) = get(&base, path, None);
                    if code == 200 {
                        answered += 1;
                    } else {
                        failed.push(format!("{path}: {code} {body}"));
                    }
                }
            }
            (answered, failed)
        })
    };

    // Break it: a tab-indented mapping is not YAML.
    std::fs::write(&file, format!("{good}\n  broken: [\n")).expect("write");
    let status = server.wait_for("/api/status", None, |s, b| {
        s == 200 && !b["catalog_error"].is_null()
    });
    let text = status["catalog_error"]["text"].as_str().unwrap_or_default();
    assert!(text.contains("checkout.yaml"), "{text}");
    // The error-carrying answers are the documented ones too.
    for (path, component) in [("/api/status", "StatusView"), ("/api/check", "CheckReport")] {
        let (code, body) = get(base, path, None);
        assert_eq!(code, 200, "{path}: {body}");
        conforms(base, None, component, &body);
    }
    // Still answering from the last good catalog.
    let (code, body) = get(base, "/api/why/revenue", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        json(&body)["causes"][0]["metric"],
        "checkout_cpu_utilization"
    );
    let (_, body) = get(base, "/api/catalog", None);
    assert_eq!(json(&body)["metrics"].as_array().map(Vec::len), Some(35));
    // /api/check tells the truth about the files as they are, with where.
    let (code, body) = get(base, "/api/check", None);
    assert_eq!(code, 200);
    let check = json(&body);
    let error = check["errors"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["code"] == "yaml::syntax"))
        .unwrap_or_else(|| panic!("no syntax error in {check}"));
    assert!(
        error["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("checkout.yaml")),
        "{check}"
    );
    assert!(error["line"].as_u64().is_some_and(|l| l > 1), "{check}");

    // Fix it and add a metric: the new catalog serves.
    let added = good.replacen(
        "metrics:\n",
        "metrics:\n  - id: checkout_queue_depth\n    layer: system\n    owner: team-checkout\n    description: Orders waiting to be processed\n    decision: Whether to add checkout workers\n    audience: [team-checkout]\n",
        1,
    );
    assert_ne!(
        added, good,
        "the example file changed shape: update this test"
    );
    std::fs::write(&file, added).expect("write");
    let catalog = server.wait_for("/api/catalog", None, |s, b| {
        s == 200
            && b["catalog_error"].is_null()
            && b["metrics"].as_array().map(Vec::len) == Some(36)
    });
    assert_eq!(catalog["version"], 2);
    let (code, _) = get(base, "/api/why/revenue", None);
    assert_eq!(code, 200);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, failed) = asker.join().expect("asker");
    assert!(
        failed.is_empty(),
        "{} requests failed during reloads: {:?}",
        failed.len(),
        failed.first()
    );
    // Requests kept flowing through both edits (at least two full rounds of
    // the four routes); this is not a throughput figure: under CI's parallel
    // browser tests a debug build answers a round in about 200 ms.
    assert!(
        answered >= 8,
        "only {answered} requests were answered during the edits"
    );
}

#[test]
fn a_source_that_stops_answering_leaves_its_metrics_stale_not_blank() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, data) = shop_server(dir.path(), &["--refresh", "300ms"], &[]);
    server.wait_ready();
    // The file goes away: the next refresh reads nothing.
    std::fs::rename(&data, dir.path().join("moved.csv")).expect("rename");
    let status = server.wait_for("/api/status", None, |s, b| {
        s == 200 && b["metrics"][0]["stale"] == true
    });
    let revenue = &status["metrics"][0];
    assert_eq!(revenue["id"], "revenue");
    // The last known status is kept and marked, with the reason.
    assert_eq!(revenue["status"], "red");
    assert!(
        revenue["missing"]
            .as_str()
            .is_some_and(|m| m.contains("moved") || m.contains("data.csv")),
        "{revenue}"
    );
    // The file comes back: fresh again.
    std::fs::rename(dir.path().join("moved.csv"), &data).expect("rename back");
    server.wait_for("/api/status", None, |s, b| {
        s == 200 && b["metrics"][0]["stale"] == false
    });
}

/// A port on 127.0.0.1 that accepts connections and never answers.
fn silent_listener() -> u16 {
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn a_dead_or_silent_source_degrades_the_page_instead_of_hanging_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A port nobody listens on, and a listener that accepts but never answers.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = dead.local_addr().expect("addr").port();
    drop(dead);
    let silent_port = silent_listener();
    let catalog = dir.path().join("whyline.yaml");
    std::fs::write(
        &catalog,
        format!(
            r#"version: 1
connections:
  dead: {{ kind: prometheus, url: "http://127.0.0.1:{dead_port}" }}
  silent: {{ kind: prometheus, url: "http://127.0.0.1:{silent_port}" }}
metrics:
  - id: orders
    layer: business
    owner: team-shop
    decision: Whether the shop keeps its current checkout
    audience: [leadership]
    source: {{ prometheus: {{ connection: dead, query: "sum(rate(orders_total[5m]))" }} }}
    drivers:
      - {{ metric: cpu, effect: decreases, lag: 1m }}
  - id: cpu
    layer: system
    owner: team-shop
    decision: Whether to add hosts
    audience: [team-shop]
    source: {{ prometheus: {{ connection: silent, query: "avg(cpu)" }} }}
"#
        ),
    )
    .expect("write");
    let started = Instant::now();
    let mut server = Server::start(
        &[
            "--catalog",
            catalog.to_str().expect("utf-8"),
            "--source-timeout",
            "2s",
            "--refresh",
            "1s",
            "--request-timeout",
            "1s",
        ],
        &[],
    );
    // While the silent source holds the refresh, the API still answers at once.
    let asked = Instant::now();
    let (code, body) = get(&server.base, "/api/status", None);
    assert_eq!(code, 200, "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "status took {:?}",
        asked.elapsed()
    );
    let (code, _) = get(&server.base, "/", None);
    assert_eq!(code, 200);
    let (code, body) = get(&server.base, "/api/why/orders", None);
    assert!(code == 503 || code == 422, "{code} {body}");
    assert!(json(&body)["error"].is_string());
    // After the time-outs, both metrics are reported missing with the reason.
    let status = server.wait_for("/api/status", None, |s, b| s == 200 && b["ready"] == true);
    let missing: Vec<String> = status["metrics"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["missing"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(missing.len(), 2, "{status}");
    assert!(missing.iter().any(|m| m.contains("dead")), "{missing:?}");
    assert!(
        missing
            .iter()
            .any(|m| m.contains("silent") && m.contains("did not answer")),
        "{missing:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(25));
    // Nothing could be read: a why says so at once, with the reason.
    let (code, body) = get(&server.base, "/api/why/orders", None);
    assert_eq!(code, 422, "{body}");
    assert!(
        body.contains("no data for `orders`") && body.contains("dead"),
        "{body}"
    );
    // A why for yesterday reads that window from the sources itself; the silent
    // one would hold it for seconds, and the request time-out answers first.
    let yesterday = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 86_400;
    let asked = Instant::now();
    let (code, body) = get(
        &server.base,
        &format!("/api/why/orders?at={yesterday}"),
        None,
    );
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("took longer than 1 s"), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    let _ = server.stderr();
}

#[test]
fn a_page_request_never_names_a_url_to_fetch() {
    // No route takes a URL: sources come only from the catalog.
    let doc: Value = serde_json::from_str(&{
        let mut text = String::new();
        std::fs::File::open(
            serve_support::repo_root().join("crates/whyline/src/serve/openapi.json"),
        )
        .expect("openapi")
        .read_to_string(&mut text)
        .expect("read");
        text
    })
    .expect("json");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for p in item["get"]["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            assert!(
                !["url", "source", "endpoint", "host", "query"].contains(&name),
                "{path} takes `{name}`"
            );
        }
    }
}

/// A transparent TCP proxy in front of a real Prometheus that holds each
/// chunk of an answer for 150 ms (so requests overlap), and records the most
/// connections the client had open at once. A connection carries one request
/// at a time, so that is the most requests the client had in flight.
fn slow_proxy(upstream: u16) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&most);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let (mut client_in, mut server_out) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let open = Arc::clone(&open);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut client_in, &mut server_out);
                let _ = server_out.shutdown(std::net::Shutdown::Both);
                open.fetch_sub(1, Ordering::SeqCst);
            });
            let (mut server_in, mut client_out) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match server_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            std::thread::sleep(Duration::from_millis(150));
                            if client_out.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = client_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (port, seen)
}

/// The most requests in flight towards Prometheus during the first refresh of 12 metrics.
fn most_in_flight(prometheus: u16, concurrency: &str) -> usize {
    let (port, most) = slow_proxy(prometheus);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = format!(
        "version: 1\ndefaults: {{ owner: team-shop }}\nconnections:\n  main: {{ kind: prometheus, url: \"http://127.0.0.1:{port}\" }}\nmetrics:\n  - id: orders\n    layer: business\n    decision: Whether to keep the shop open\n    audience: [leadership]\n    source: {{ prometheus: {{ connection: main, query: 'shop_orders' }} }}\n    drivers:\n"
    );
    for i in 0..11 {
        yaml.push_str(&format!(
            "      - {{ metric: cpu_{i}, effect: decreases }}\n"
        ));
    }
    for i in 0..11 {
        yaml.push_str(&format!(
            "  - id: cpu_{i}\n    layer: system\n    source: {{ prometheus: {{ connection: main, query: 'shop_cpu_{i}' }} }}\n"
        ));
    }
    let catalog = dir.path().join("whyline.yaml");
    std::fs::write(&catalog, yaml).expect("write");
    let server = Server::start(
        &[
            "--catalog",
            catalog.to_str().expect("utf-8"),
            "--concurrency",
            concurrency,
            "--lookback",
            "3d",
        ],
        &[],
    );
    let status = server.wait_for("/api/status", None, |s, b| s == 200 && b["ready"] == true);
    let read = status["metrics"]
        .as_array()
        .map_or(0, |ms| ms.iter().filter(|m| m["missing"].is_null()).count());
    assert_eq!(read, 12, "{status}");
    most.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn the_background_refresh_keeps_its_bound_towards_prometheus() {
    // Two hours of minute data, two days ago, for 12 metrics.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let t0 = (now - 2 * 86_400) / 3600 * 3600;
    let mut text = String::new();
    let names: Vec<String> = std::iter::once("shop_orders".to_string())
        .chain((0..11).map(|i| format!("shop_cpu_{i}")))
        .collect();
    for (k, name) in names.iter().enumerate() {
        text.push_str(&format!("# TYPE {name} gauge\n"));
        for i in 0..120 {
            let v = 0.5 + ((i * 31 + k as i64 * 7) % 13) as f64 / 100.0;
            text.push_str(&format!("{name} {v} {}\n", t0 + i * 60));
        }
    }
    text.push_str("# EOF\n");
    let Some(prometheus) = support::prometheus(&text) else {
        return;
    };
    let bounded = most_in_flight(prometheus.port, "2");
    assert!(
        (1..=2).contains(&bounded),
        "{bounded} requests in flight with --concurrency 2"
    );
    // The bound is what limits it: a wider one is used.
    let wider = most_in_flight(prometheus.port, "6");
    eprintln!("requests in flight at most: {bounded} with --concurrency 2, {wider} with 6");
    assert!(wider > 2, "only {wider} in flight with --concurrency 6");
}

/// Issue #14, point 8: while the first refresh is held by a silent source,
/// `/readyz` says 503 (and `/healthz` 200), an unknown metric is a 404 at
/// once, and a question with an explicit time over a file source is
/// answered from the file; once the refresh ends, `/readyz` is 200.
#[test]
fn during_warm_up_readiness_is_503_unknown_metrics_404_and_timed_questions_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let silent_port = silent_listener();
    // An hour of minutes: orders fall when the CPU climbs at 00:40.
    let mut csv = String::from("timestamp,orders,cpu\n");
    for i in 0..60 {
        let cpu = if i >= 40 { 95.0 } else { 40.0 + (i % 3) as f64 };
        let orders = if i >= 40 {
            20.0
        } else {
            100.0 + (i % 4) as f64
        };
        csv.push_str(&format!("2026-03-02T00:{i:02}:00Z,{orders},{cpu}\n"));
    }
    std::fs::write(dir.path().join("shop.csv"), csv).expect("data");
    let catalog = dir.path().join("whyline.yaml");
    std::fs::write(
        &catalog,
        format!(
            r#"version: 1
connections:
  silent: {{ kind: prometheus, url: "http://127.0.0.1:{silent_port}" }}
defaults:
  owner: team-shop
metrics:
  - id: orders
    layer: business
    decision: Whether the shop keeps its current checkout
    audience: [leadership]
    good: higher
    thresholds: {{ red: {{ below: 50 }} }}
    source: {{ csv: {{ path: shop.csv, column: orders }} }}
    drivers:
      - {{ metric: cpu, effect: decreases }}
  - id: cpu
    layer: system
    decision: Whether to add hosts
    audience: [team-shop]
    source: {{ csv: {{ path: shop.csv, column: cpu }} }}
  - id: queue_depth
    layer: system
    decision: Whether to add workers
    audience: [team-shop]
    source: {{ prometheus: {{ connection: silent, query: "sum(queue_depth)" }} }}
"#
        ),
    )
    .expect("write");
    let server = Server::start(
        &[
            "--catalog",
            catalog.to_str().expect("utf-8"),
            "--source-timeout",
            "6s",
            "--request-timeout",
            "5s",
        ],
        &[],
    );
    let warm = Instant::now();
    let (code, body) = get(&server.base, "/readyz", None);
    assert_eq!(code, 503, "{body}");
    assert_eq!(json(&body)["ready"], false);
    conforms(&server.base, None, "Readiness", &body);
    let (code, body) = get(&server.base, "/api/status", None);
    assert_eq!(code, 200, "{body}");
    conforms(&server.base, None, "StatusView", &body);
    assert_eq!(get(&server.base, "/healthz", None).0, 200);
    let (code, body) = get(&server.base, "/api/why/ordrs", None);
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("orders"), "{body}");
    // No time given: nothing to answer from yet.
    assert_eq!(get(&server.base, "/api/why/orders", None).0, 503);
    let (code, body) = get(
        &server.base,
        "/api/why/orders?at=2026-03-02T00:59:00Z",
        None,
    );
    assert_eq!(code, 200, "{body}");
    let answer = json(&body);
    assert_eq!(answer["status"], "red", "{answer}");
    assert_eq!(answer["causes"][0]["metric"], "cpu", "{answer}");
    // All of that happened while the refresh was still held.
    assert!(
        warm.elapsed() < Duration::from_secs(5),
        "{:?}",
        warm.elapsed()
    );
    assert_eq!(get(&server.base, "/readyz", None).0, 503);
    let ready = server.wait_for("/readyz", None, |s, _| s == 200);
    assert_eq!(ready["ready"], true);
    assert!(ready["refreshed_at"].is_string());
}
