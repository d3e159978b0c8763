//! Starts the real `whyline serve` binary on a free loopback port and talks to it.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary to completion.
pub fn whyline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run whyline")
}

/// One day of simulated shop data with a CPU fault at 23:00 (as the demo), in `dir`.
pub fn shop_data(dir: &Path) -> PathBuf {
    let out = whyline(&[
        "simulate",
        "--catalog",
        "examples/shop/metrics",
        "--fault",
        "checkout_cpu_utilization:step:8",
        "--seed",
        "7",
        "-o",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("data.csv")
}

/// Serves the example shop over simulated data written to `dir`, with
/// `extra` flags and environment; returns the server and the data file.
pub fn shop_server(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Server, PathBuf) {
    let data = shop_data(dir);
    let mut args = vec![
        "--catalog",
        "examples/shop/metrics",
        "--data",
        data.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    (Server::start(&args, env), data)
}

/// Copies the example catalog into `dir`/metrics.
pub fn copy_example(dir: &Path) -> PathBuf {
    let to = dir.join("metrics");
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("examples/shop/metrics")).expect("example") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
}

/// A running server, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// host:port
    pub addr: String,
    /// What the server printed on stderr so far (lines arrive in the background).
    lines: mpsc::Receiver<String>,
    /// Lines already taken from `lines`.
    pub log: Vec<String>,
}

impl Server {
    /// Starts `whyline serve ARGS` (add `--listen` yourself to override loopback port 0).
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        // WHYLINE_SERVE_BIN measures another build (e.g. target/release/whyline).
        let binary = std::env::var("WHYLINE_SERVE_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_whyline").to_string());
        let mut command = Command::new(binary);
        command.arg("serve");
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        command
            .args(args)
            .current_dir(repo_root())
            .env_remove("WHYLINE_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start whyline serve");
        let stderr = child.stderr.take().expect("stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line
                        .split("serving http://")
                        .nth(1)
                        .and_then(|rest| rest.split('/').next())
                        .map(str::to_string);
                    log.push(line);
                    if let Some(addr) = found {
                        break addr;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("the server did not start:\n{}", log.join("\n"));
                }
            }
        };
        Server {
            child,
            base: format!("http://{addr}"),
            addr,
            lines,
            log,
        }
    }

    /// Everything printed on stderr up to now.
    pub fn stderr(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
        self.log.join("\n")
    }

    /// Waits until the first data refresh is done.
    pub fn wait_ready(&self) {
        self.wait_for("/api/status", None, |s, body| {
            s == 200 && body["ready"] == serde_json::Value::Bool(true)
        });
    }

    /// Polls `path` until `ok(status, json)` holds (30 s at most).
    pub fn wait_for(
        &self,
        path: &str,
        token: Option<&str>,
        ok: impl Fn(u16, &serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = get(&self.base, path, token);
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if ok(status, &json) {
                return json;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting on {path}: {status} {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that returns 4xx/5xx as answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// GET `base` + `path`: (status, body).
pub fn get(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = agent().get(format!("{base}{path}"));
    if let Some(t) = token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    let mut response = request.call().expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

/// GET with the response headers too.
pub fn get_with_headers(base: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
    let mut response = agent()
        .get(format!("{base}{path}"))
        .call()
        .expect("request");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

/// Sends raw bytes and returns the raw response (for requests a client library would not send).
pub fn raw(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // One response is enough: stop at the end of its body.
                let text = String::from_utf8_lossy(&out);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    });
                    if length.is_some_and(|n| body.len() >= n) {
                        break;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Where `body` breaks the `component` schema of the OpenAPI document the
/// server at `base` publishes (`/api/openapi.json`,
/// `#/components/schemas/COMPONENT`); empty when it conforms.
pub fn violations(base: &str, token: Option<&str>, component: &str, body: &str) -> Vec<String> {
    let (status, doc) = get(base, "/api/openapi.json", token);
    assert_eq!(status, 200, "{doc}");
    let mut doc: serde_json::Value = serde_json::from_str(&doc).expect("the OpenAPI JSON");
    assert!(
        doc["components"]["schemas"][component].is_object(),
        "the OpenAPI document has no schema {component}"
    );
    // The document is the schema's root, so its references resolve in place.
    doc["$ref"] = serde_json::Value::from(format!("#/components/schemas/{component}"));
    let validator = jsonschema::validator_for(&doc).expect("a valid schema");
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    validator
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts that `body` is a `component` of the server's OpenAPI document:
/// the typed contract, checked on real answers.
pub fn conforms(base: &str, token: Option<&str>, component: &str, body: &str) {
    let errors = violations(base, token, component, body);
    assert!(
        errors.is_empty(),
        "{component}: {}\n{body}",
        errors.join("\n")
    );
}
