//! The bad-input sweep (issue #15): malformed inputs of every kind — catalog
//! YAML, wide and long CSV, Parquet, Prometheus answers, SQL results, flags
//! and API requests — each refused with exit 2 (or a 4xx) and a message that
//! names where and what. None may panic, hang past its timeout, or exit 0.
//!
//! The Prometheus answers come from a local listener that answers every
//! request with one fixed response: the broken proxy or the wrong port a
//! catalog can point at, which a real Prometheus cannot be made to send.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serve_support::{Server, agent};

/// One malformed input: the command that reads it and what its message must say.
struct Case {
    kind: &'static str,
    what: String,
    args: Vec<String>,
    /// Every one of these must appear in stderr (where and what).
    says: Vec<String>,
}

fn case(kind: &'static str, what: &str, args: &[&str], says: &[&str]) -> Case {
    Case {
        kind,
        what: what.to_string(),
        args: args.iter().map(|s| (*s).to_string()).collect(),
        says: says.iter().map(|s| (*s).to_string()).collect(),
    }
}

const CATALOG: &str = "version: 1
defaults: { owner: team-a }
metrics:
  - id: latency
    layer: service
    good: lower
    decision: Whether to roll back
    audience: [on-call]
    drivers: [{ metric: cpu, effect: increases }]
  - id: cpu
    layer: system
";

/// 200 minutes of `timestamp,latency,cpu`, the CPU stepping up at minute 180.
fn good_rows() -> Vec<String> {
    (0..200)
        .map(|i: i64| {
            let cpu = 0.4 + if i >= 180 { 0.4 } else { 0.0 } + 0.01 * ((i * 7) % 5) as f64;
            format!("{},{},{cpu}", 1_767_225_600 + i * 60, 100.0 + 300.0 * cpu)
        })
        .collect()
}

fn wide(rows: &[String]) -> String {
    let mut text = String::from("timestamp,latency,cpu\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// A listener on loopback answering every request with `status` and `body`.
fn answering(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

fn prometheus_catalog(dir: &Path, name: &str, url: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "version: 1\ndefaults: {{ owner: team-a }}\nconnections:\n  main: {{ kind: prometheus, url: \"{url}\" }}\nmetrics:\n  - id: latency\n    layer: service\n    good: lower\n    decision: Whether to roll back\n    audience: [on-call]\n    source: {{ prometheus: {{ connection: main, query: 'up' }} }}\n"
        ),
    )
    .expect("write");
    path.display().to_string()
}

fn sqlite_catalog(dir: &Path, name: &str, db: &str, query: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "version: 1\ndefaults: {{ owner: team-a }}\nconnections:\n  lite: {{ kind: sqlite, path: {db} }}\nmetrics:\n  - id: latency\n    layer: service\n    good: lower\n    decision: Whether to roll back\n    audience: [on-call]\n    source: {{ sql: {{ connection: lite, query: \"{query}\" }} }}\n"
        ),
    )
    .expect("write");
    path.display().to_string()
}

/// Writes the malformed inputs into `dir` and lists the commands that read them.
fn cases(dir: &Path) -> Vec<Case> {
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("write");
    write("whyline.yaml", CATALOG.as_bytes());
    let rows = good_rows();
    write("good.csv", wide(&rows).as_bytes());
    let mut out = Vec::new();

    // Catalog YAML: the fixtures of every error kind, and a few beyond them.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/errors");
    for (fixture, says) in [
        ("syntax", "shop.yaml:6:7"),
        ("duplicate_id", "duplicate"),
        ("duplicate_key", "duplicate"),
        ("unknown_driver", "unknown"),
        ("unknown_field", "unknown field"),
        ("unknown_connection", "connection"),
        ("bad_duration", "duration"),
        ("bad_layer", "layer"),
        ("bad_effect", "effect"),
        ("wrong_type", "must be"),
        ("version", "version"),
        ("cycle", "cycle"),
        ("thresholds", "threshold"),
        ("missing_field", "missing"),
        ("alias", "alias"),
    ] {
        let path = fixtures.join(fixture);
        out.push(case(
            "catalog",
            fixture,
            &["check", "--catalog", path.to_str().expect("utf-8")],
            &[says],
        ));
    }
    write("binary.yaml", &[0xff, 0xfe, 0x00, 0x12, 0x80, 0x81]);
    out.push(case(
        "catalog",
        "bytes that are not UTF-8",
        &["check", "--catalog", "binary.yaml"],
        &["binary.yaml", "not UTF-8"],
    ));
    write(
        "deep.yaml",
        format!(
            "version: 1\nmetrics: {}{}\n",
            "[".repeat(50_000),
            "]".repeat(50_000)
        )
        .as_bytes(),
    );
    out.push(case(
        "catalog",
        "50,000 nested lists",
        &["check", "--catalog", "deep.yaml"],
        &["deep.yaml:2:", "recursion limit"],
    ));
    write(
        "nan_threshold.yaml",
        b"version: 1\nmetrics:\n  - id: a\n    layer: service\n    thresholds: { red: { above: .nan } }\n",
    );
    out.push(case(
        "catalog",
        "a NaN threshold",
        &["check", "--catalog", "nan_threshold.yaml"],
        &["nan_threshold.yaml:5:33", "finite number"],
    ));
    write("tabs.yaml", b"version: 1\nmetrics:\n\t- id: a\n");
    out.push(case(
        "catalog",
        "a tab as indentation",
        &["check", "--catalog", "tabs.yaml"],
        &["tabs.yaml:3:", "tabs"],
    ));
    out.push(case(
        "catalog",
        "a catalog that does not exist",
        &["check", "--catalog", "nowhere/"],
        &["nowhere/", "does not exist"],
    ));

    // Wide CSV.
    let why = |data: &str| -> Vec<String> {
        ["why", "latency", "--data", data]
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    };
    let csv_case = |what: &str, name: &str, text: &[u8], says: &[&str]| {
        write(name, text);
        Case {
            kind: "csv",
            what: what.to_string(),
            args: why(name),
            says: says.iter().map(|s| (*s).to_string()).collect(),
        }
    };
    out.push(csv_case(
        "an empty file",
        "empty.csv",
        b"",
        &["empty.csv:1", "empty"],
    ));
    out.push(csv_case(
        "a header and no rows",
        "header.csv",
        b"timestamp,latency,cpu\n",
        &["header.csv:2", "no rows"],
    ));
    out.push(csv_case(
        "no timestamp column",
        "no_time.csv",
        b"latency,cpu\n1,2\n",
        &["no_time.csv:1:1", "write `timestamp`"],
    ));
    let mut bad_time = rows.clone();
    bad_time.insert(100, "yesterday,1,2".to_string());
    out.push(csv_case(
        "a timestamp that is not a time",
        "bad_time.csv",
        wide(&bad_time).as_bytes(),
        &["bad_time.csv:102:1", "`yesterday` is not a timestamp"],
    ));
    let mut ragged = rows.clone();
    ragged[100] = format!("{},1,2,3", 1_767_225_600 + 100 * 60);
    out.push(csv_case(
        "a row with a field too many",
        "ragged.csv",
        wide(&ragged).as_bytes(),
        &["ragged.csv:102", "4 fields but the header has 3"],
    ));
    out.push(csv_case(
        "a column named twice",
        "twice.csv",
        wide(&rows).replacen("cpu", "latency", 1).as_bytes(),
        &["twice.csv:1:3", "`latency` appears twice"],
    ));
    let mut conflicting = rows.clone();
    let stamp = 1_767_225_600 + 100 * 60;
    conflicting.insert(101, format!("{stamp},229,0.9"));
    out.push(csv_case(
        "two rows of one time with different values",
        "conflict.csv",
        wide(&conflicting).as_bytes(),
        &["conflict.csv:103:1", "same timestamp", "different values"],
    ));
    let nan_rows: Vec<String> = rows
        .iter()
        .map(|r| {
            let mut parts: Vec<&str> = r.split(',').collect();
            parts[1] = "NaN";
            parts.join(",")
        })
        .collect();
    out.push(csv_case(
        "the asked metric NaN in every row",
        "all_nan.csv",
        wide(&nan_rows).as_bytes(),
        &["all_nan.csv", "no finite number", "200 values are NaN"],
    ));
    out.push(csv_case(
        "bytes that are not UTF-8 in the header",
        "binary.csv",
        &[0xff, 0xfe, 0x00, b'x', b'\n'],
        &["binary.csv:1:1", "not UTF-8"],
    ));
    out.push(csv_case(
        "a data file that does not exist",
        "present.csv",
        b"timestamp,latency\n",
        &[],
    ));
    out.last_mut().expect("case").args = why("absent.csv");
    out.last_mut().expect("case").says = vec!["absent.csv".into(), "No such file".into()];
    std::fs::create_dir_all(dir.join("a_folder")).expect("mkdir");
    out.push(case(
        "csv",
        "a folder as --data",
        &["why", "latency", "--data", "a_folder"],
        &["a_folder", "directory"],
    ));

    // Long CSV.
    let long = |name: &str, body: &str| {
        write(name, format!("timestamp,metric,value\n{body}").as_bytes());
    };
    long(
        "long_bad_time.csv",
        "1767225600,latency,1\nsoon,latency,2\n1767225720,latency,3\n",
    );
    out.push(case(
        "csv",
        "a long file with a bad timestamp",
        &["why", "latency", "--data", "long_bad_time.csv"],
        &["long_bad_time.csv:3:1", "`soon` is not a timestamp"],
    ));
    long(
        "long_other.csv",
        "1767225600,checkout,1\n1767225660,checkout,2\n",
    );
    out.push(case(
        "csv",
        "a long file without the asked metric",
        &["why", "latency", "--data", "long_other.csv"],
        &["long_other.csv", "latency"],
    ));
    long(
        "long_ragged.csv",
        "1767225600,latency,1\n1767225660,latency\n",
    );
    out.push(case(
        "csv",
        "a long file with a short row",
        &["why", "latency", "--data", "long_ragged.csv"],
        &["long_ragged.csv:3", "fields"],
    ));

    // Parquet (a good file is written by `pull` first, then damaged).
    let good_parquet = dir.join("good.parquet");
    let pulled = Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(["pull", "--data", "good.csv", "-o", "good.parquet"])
        .current_dir(dir)
        .output()
        .expect("pull runs");
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let bytes = std::fs::read(&good_parquet).expect("parquet");
    let parquet_case = |what: &str, name: &str, data: &[u8], says: &[&str]| {
        write(name, data);
        Case {
            kind: "parquet",
            what: what.to_string(),
            args: why(name),
            says: says.iter().map(|s| (*s).to_string()).collect(),
        }
    };
    out.push(parquet_case(
        "an empty Parquet file",
        "empty.parquet",
        b"",
        &["empty.parquet", "not a readable Parquet file"],
    ));
    out.push(parquet_case(
        "a Parquet file cut in half",
        "half.parquet",
        &bytes[..bytes.len() / 2],
        &["half.parquet", "not a readable Parquet file"],
    ));
    let mut footer = bytes.clone();
    let n = footer.len();
    footer[n - 5] ^= 0xff;
    out.push(parquet_case(
        "a Parquet file whose footer length is damaged",
        "footer.parquet",
        &footer,
        &["footer.parquet", "not a readable Parquet file"],
    ));
    let mut metadata = bytes.clone();
    for b in &mut metadata[n - 208..n - 108] {
        *b = 0;
    }
    out.push(parquet_case(
        "a Parquet file whose metadata is zeroed",
        "metadata.parquet",
        &metadata,
        &["metadata.parquet", "not a readable Parquet file"],
    ));
    let mut data_page = bytes.clone();
    for b in &mut data_page[200..260] {
        *b ^= 0x5a;
    }
    out.push(parquet_case(
        "a Parquet file with its data pages damaged",
        "pages.parquet",
        &data_page,
        &[
            "pages.parquet",
            "column `timestamp`, row group 0",
            "checksum",
        ],
    ));

    // Prometheus answers.
    for (what, status, body, says) in [
        (
            "an answer that is not JSON",
            200,
            "not json at all",
            "not a Prometheus query_range result",
        ),
        (
            "an answer cut short",
            200,
            "{\"status\":\"succ",
            "invalid JSON",
        ),
        (
            "an error status",
            200,
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 3\"}",
            "parse error at char 3",
        ),
        (
            "two series for one metric",
            200,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\"},\"values\":[[1767225600,\"1\"]]},{\"metric\":{\"a\":\"2\"},\"values\":[[1767225600,\"2\"]]}]}}",
            "2 series",
        ),
        (
            "a vector where a matrix belongs",
            200,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
            "`resultType` is not `matrix`",
        ),
        (
            "a sample value that is not a number",
            200,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1767225600,\"abc\"]]}]}}",
            "`abc` is not a number",
        ),
        (
            "a sample without a time",
            200,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[\"x\",\"1\"]]}]}}",
            "no time",
        ),
        (
            "NaN in every sample",
            200,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1767225600,\"NaN\"],[1767225660,\"NaN\"]]}]}}",
            "no finite number",
        ),
        ("an HTTP 500 page", 500, "<html>oops</html>", "HTTP 500"),
        ("an HTTP 401", 401, "Unauthorized", "HTTP 401"),
    ] {
        let url = answering(status, body);
        let name = format!("prom_{}.yaml", out.len());
        let catalog = prometheus_catalog(dir, &name, &url);
        out.push(Case {
            kind: "prometheus",
            what: what.to_string(),
            args: [
                "why",
                "latency",
                "--catalog",
                &catalog,
                "--at",
                "2026-01-01T01:39:00Z",
                "--lookback",
                "2h",
                "--timeout",
                "10s",
            ]
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
            says: vec![url.clone(), says.to_string()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
        });
        // The URL appears in HTTP errors; a decoded answer names the connection instead.
        if !matches!(status, 401 | 500)
            && !says.contains("not a Prometheus")
            && !says.contains("JSON")
        {
            out.last_mut().expect("case").says = vec!["prometheus `main`".into(), says.into()];
        }
    }

    // SQL results (SQLite).
    let db = dir.join("shop.sqlite");
    {
        let connection = rusqlite::Connection::open(&db).expect("sqlite");
        connection
            .execute_batch(
                "CREATE TABLE m (ts, v); CREATE TABLE t (ts, v);
                 INSERT INTO t VALUES ('yesterday', 1.0);",
            )
            .expect("tables");
        for i in 0..100_i64 {
            connection
                .execute(
                    "INSERT INTO m VALUES (?1, ?2)",
                    (1_767_225_600 + i * 60, 100.0 + (i % 3) as f64),
                )
                .expect("row");
        }
        connection
            .execute("INSERT INTO t VALUES (1767225660, 'abc')", ())
            .expect("row");
    }
    let db_path = db.display().to_string();
    for (what, query, says) in [
        (
            "a query that does not parse",
            "SELEC ts FROM m",
            "syntax error",
        ),
        ("one column", "SELECT ts FROM m", "returns 1 column(s)"),
        (
            "three columns",
            "SELECT ts, v, v FROM m",
            "returns 3 column(s) (ts, v, v)",
        ),
        (
            "a text timestamp that is not a time",
            "SELECT ts, v FROM t",
            "`yesterday`, not a timestamp",
        ),
        (
            "a text value",
            "SELECT ts, v FROM t WHERE ts <> 'yesterday'",
            "`abc`",
        ),
        ("no rows", "SELECT ts, v FROM m WHERE 0", "no data between"),
        (
            "NULL in every row",
            "SELECT ts, NULL FROM m",
            "no data between",
        ),
        (
            "a table that does not exist",
            "SELECT ts, v FROM nothere",
            "no such table",
        ),
    ] {
        let name = format!("sql_{}.yaml", out.len());
        let catalog = sqlite_catalog(dir, &name, &db_path, query);
        out.push(Case {
            kind: "sql",
            what: what.to_string(),
            args: [
                "why",
                "latency",
                "--catalog",
                &catalog,
                "--at",
                "2026-01-01T01:39:00Z",
                "--lookback",
                "2h",
            ]
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
            says: vec!["sqlite `lite`".into(), says.into()],
        });
    }
    let not_a_db = sqlite_catalog(
        dir,
        "sql_not_a_db.yaml",
        &dir.join("good.csv").display().to_string(),
        "SELECT ts, v FROM m",
    );
    out.push(case(
        "sql",
        "a file that is not a database",
        &[
            "why",
            "latency",
            "--catalog",
            &not_a_db,
            "--at",
            "2026-01-01T01:39:00Z",
        ],
        &["sqlite `lite`", "not a database"],
    ));

    // Flags.
    for (what, args, says) in [
        (
            "--at not a time",
            &["why", "latency", "--data", "good.csv", "--at", "yesterday"][..],
            &["--at", "`yesterday` is not a time"][..],
        ),
        (
            "--at outside the data",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--at",
                "2030-01-01T00:00:00Z",
            ],
            &[
                "--at 2030-01-01T00:00:00Z is outside the data",
                "2026-01-01T00:00:00Z to",
            ],
        ),
        (
            "--lookback not a duration",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--lookback",
                "5parsecs",
            ],
            &["--lookback", "`5parsecs` is not a duration"],
        ),
        (
            "--lookback with a space",
            &["why", "latency", "--data", "good.csv", "--lookback", "5 m"],
            &["--lookback", "without spaces"],
        ),
        (
            "--tz as a zone name",
            &[
                "report",
                "--data",
                "good.csv",
                "--tz",
                "Europe/Berlin",
                "-o",
                "-",
            ],
            &["--tz", "`Europe/Berlin` is not a time zone", "+01:00"],
        ),
        (
            "--step of zero",
            &["why", "latency", "--data", "good.csv", "--step", "0s"],
            &["--step", "is zero"],
        ),
        (
            "--step too long",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--step",
                "999999999999999w",
            ],
            &["--step", "too long"],
        ),
        (
            "--timeout of zero",
            &["why", "latency", "--data", "good.csv", "--timeout", "0s"],
            &["--timeout", "is zero"],
        ),
        (
            "--baseline reversed",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--baseline",
                "2026-01-01T02:00:00Z..2026-01-01T01:00:00Z",
                "--window",
                "2026-01-01T03:00:00Z..2026-01-01T03:10:00Z",
            ],
            &["--baseline", "is not before"],
        ),
        (
            "--baseline overlapping --window",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--baseline",
                "2026-01-01T00:00:00Z..2026-01-01T03:05:00Z",
                "--window",
                "2026-01-01T03:00:00Z..2026-01-01T03:10:00Z",
            ],
            &[
                "overlaps --window",
                "--baseline 2026-01-01T00:00:00Z..2026-01-01T03:00:00Z",
            ],
        ),
        (
            "--baseline without --window",
            &[
                "why",
                "latency",
                "--data",
                "good.csv",
                "--baseline",
                "2026-01-01T00:00:00Z..2026-01-01T01:00:00Z",
            ],
            &["--window"],
        ),
        (
            "an unknown metric",
            &["why", "latenci", "--data", "good.csv"],
            &["no metric `latenci`", "did you mean `latency`"],
        ),
        (
            "an unknown format",
            &["why", "latency", "--data", "good.csv", "--format", "yaml"],
            &["--format", "possible values"],
        ),
        (
            "--to not a time",
            &[
                "audit", "--data", "good.csv", "--since", "1h", "--to", "notatime",
            ],
            &["--to", "`notatime` is not a time"],
        ),
        (
            "--from after --to",
            &[
                "edges",
                "--data",
                "good.csv",
                "--from",
                "2026-01-01T03:00:00Z",
                "--to",
                "2026-01-01T01:00:00Z",
            ],
            &["the window is empty", "is not before --to"],
        ),
        (
            "a window outside the data",
            &[
                "audit",
                "--data",
                "good.csv",
                "--from",
                "2020-01-01T00:00:00Z",
                "--to",
                "2020-01-02T00:00:00Z",
            ],
            &["no metric could be read", "no data between 2020-01-01"],
        ),
        (
            "--random with an empty layer",
            &["simulate", "--random", "0,0,0", "-o", "sim_empty"],
            &["--random 0,0,0", "at least one metric"],
        ),
        (
            "--fault of an unknown kind",
            &[
                "simulate",
                "--catalog",
                "whyline.yaml",
                "--fault",
                "cpu:wobble",
                "-o",
                "sim_wobble",
            ],
            &["`wobble` is not a fault kind", "step, ramp or spike"],
        ),
        (
            "--fault on an unknown metric",
            &[
                "simulate",
                "--catalog",
                "whyline.yaml",
                "--fault",
                "cpux:step",
                "-o",
                "sim_cpux",
            ],
            &["no metric `cpux`"],
        ),
        (
            "pull -o a folder",
            &["pull", "--data", "good.csv", "-o", "a_folder"],
            &["`a_folder` is a folder"],
        ),
        (
            "pull -o a folder with --force",
            &["pull", "--data", "good.csv", "-o", "a_folder", "--force"],
            &["`a_folder` is a folder"],
        ),
        (
            "pull --metrics naming an unknown metric",
            &[
                "pull",
                "--data",
                "good.csv",
                "-o",
                "x.parquet",
                "--metrics",
                "cpu,gpu",
            ],
            &["no metric `gpu`"],
        ),
    ] {
        out.push(case("flags", what, args, says));
    }
    out
}

#[test]
fn every_malformed_input_is_refused_with_where_and_what() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = cases(dir.path());
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeMap::new();
    for case in &cases {
        *kinds.entry(case.kind).or_insert(0) += 1;
        let started = Instant::now();
        let out = Command::new("timeout")
            .arg("60")
            .arg(env!("CARGO_BIN_EXE_whyline"))
            .args(&case.args)
            .current_dir(dir.path())
            .env_remove("WHYLINE_CATALOG")
            .env("NO_COLOR", "1")
            .output()
            .expect("whyline runs");
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if out.status.code() != Some(2) {
            wrong.push(format!("exit {:?}, not 2", out.status.code()));
        }
        if stderr.contains("panicked") {
            wrong.push("panicked".to_string());
        }
        if took > Duration::from_secs(30) {
            wrong.push(format!("took {took:?}"));
        }
        for says in &case.says {
            if !stderr.contains(says.as_str()) {
                wrong.push(format!("does not say `{says}`"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "[{}] {} (whyline {}): {}\n{stderr}",
                case.kind,
                case.what,
                case.args.join(" "),
                wrong.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{} malformed inputs refused: {kinds:?}", cases.len());
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for kind in ["catalog", "csv", "parquet", "prometheus", "sql", "flags"] {
        assert!(
            kinds.get(kind).is_some_and(|&n| n >= 3),
            "{kind}: {kinds:?}"
        );
    }
}

/// What, method, path, token, body, the status expected and what its body must say.
type ApiCase<'a> = (
    &'a str,
    &'a str,
    String,
    Option<&'a str>,
    Option<&'a [u8]>,
    u16,
    &'a str,
);

#[test]
fn every_malformed_api_request_gets_a_4xx_that_says_what_to_send() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("whyline.yaml"), CATALOG).expect("catalog");
    std::fs::write(dir.path().join("good.csv"), wide(&good_rows())).expect("data");
    let catalog = dir.path().join("whyline.yaml").display().to_string();
    let data = dir.path().join("good.csv").display().to_string();
    let token = "sweep-test-token-0123456789abcdef";
    let state = dir.path().join("state").display().to_string();
    let server = Server::start(
        &[
            "--catalog",
            &catalog,
            "--data",
            &data,
            "--state",
            &state,
            // Nothing listens there: no alert below is valid enough to be sent.
            "--notify",
            "webhook=http://127.0.0.1:9/hook",
        ],
        &[("WHYLINE_TOKEN", token)],
    );
    server.wait_for("/api/status", Some(token), |s, body| {
        s == 200 && body["ready"] == serde_json::Value::Bool(true)
    });
    let at = "2026-01-01T03:19:00Z";
    let cases: Vec<ApiCase> = vec![
        ("no token", "GET", "/api/catalog".into(), None, None, 401, "token"),
        ("a wrong token", "GET", "/api/catalog".into(), Some("not-the-token-at-all-000"), None, 401, "token"),
        ("an unknown metric", "GET", "/api/why/latenci".into(), Some(token), None, 404, "latenci"),
        ("an unknown route", "GET", "/api/nothing".into(), Some(token), None, 404, "openapi.json"),
        ("?at not a time", "GET", "/api/why/latency?at=yesterday".into(), Some(token), None, 400, "yesterday"),
        ("?baseline without ?window", "GET", format!("/api/why/latency?baseline=2026-01-01T00:00:00Z..{at}"), Some(token), None, 400, "go together"),
        ("?baseline overlapping ?window", "GET", "/api/why/latency?baseline=2026-01-01T00:00:00Z..2026-01-01T03:05:00Z&window=2026-01-01T03:00:00Z..2026-01-01T03:10:00Z".into(), Some(token), None, 400, "overlaps"),
        ("?metrics naming an unknown metric", "GET", "/api/series?metrics=latency,gpu".into(), Some(token), None, 404, "gpu"),
        ("POST where only GET is served", "POST", "/api/catalog".into(), Some(token), Some(b"{}"), 405, ""),
        ("an alert that is not JSON", "POST", "/api/alerts/alertmanager".into(), Some(token), Some(b"not json"), 400, "not an Alertmanager webhook"),
        ("an alert of the wrong shape", "POST", "/api/alerts/alertmanager".into(), Some(token), Some(b"{\"alerts\": 5}"), 400, "no `version` field"),
        ("an alert with alerts not a list", "POST", "/api/alerts/alertmanager".into(), Some(token), Some(b"{\"version\": \"4\", \"status\": \"firing\", \"alerts\": 5}"), 400, "not an Alertmanager webhook"),
    ];
    let agent = agent();
    let mut failures = Vec::new();
    for (what, method, path, auth, body, expected, says) in &cases {
        let url = format!("{}{path}", server.base);
        let response = match (*method, body) {
            ("POST", Some(body)) => {
                let mut request = agent.post(&url).header("Content-Type", "application/json");
                if let Some(t) = auth {
                    request = request.header("Authorization", format!("Bearer {t}"));
                }
                request.send(*body)
            }
            _ => {
                let mut request = agent.get(&url);
                if let Some(t) = auth {
                    request = request.header("Authorization", format!("Bearer {t}"));
                }
                request.call()
            }
        };
        let mut response = response.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if status != *expected || !text.contains(says) {
            failures.push(format!(
                "{what} ({method} {path}): {status}, wanted {expected} saying `{says}`: {text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
