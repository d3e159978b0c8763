//! Real servers for integration tests: Prometheus, VictoriaMetrics and
//! PostgreSQL, each started on 127.0.0.1 in a scratch folder and stopped on drop.
//!
//! A server whose binary is not installed makes its test skip with a message,
//! unless `WHYLINE_REQUIRE_SERVICES=1` (set by `.ci/run`), where it fails.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Says whether a missing server binary must fail the test.
pub fn services_required() -> bool {
    std::env::var("WHYLINE_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`) or panics when `binary` is absent.
pub fn find(binary: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(binary))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !services_required(),
            "`{binary}` is not installed but WHYLINE_REQUIRE_SERVICES=1"
        );
        eprintln!(
            "skipped: `{binary}` is not installed (run .ci/run, or apt-get install the package)"
        );
    }
    found
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Minimal HTTP/1.0 request; returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

fn wait_for(port: u16, path: &str, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = http(port, "GET", path, b"") {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not become ready on port {port}");
}

/// A child process killed on drop, with its scratch folder.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its scratch folder.
    pub dir: tempfile::TempDir,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prometheus with `openmetrics` (text ending in `# EOF`) backfilled by promtool.
pub fn prometheus(openmetrics: &str) -> Option<Server> {
    prometheus_with_rules(openmetrics, None)
}

/// [`prometheus`], also loading a rule file (`rules` is its text).
pub fn prometheus_with_rules(openmetrics: &str, rules: Option<&str>) -> Option<Server> {
    let prometheus = find("prometheus")?;
    let promtool = find("promtool")?;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.om");
    std::fs::write(&data, openmetrics).expect("write openmetrics");
    let tsdb = dir.path().join("tsdb");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&data)
        .arg(&tsdb)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("prometheus.yml");
    let rule_files = match rules {
        Some(text) => {
            std::fs::write(dir.path().join("rules.yaml"), text).expect("rules");
            "rule_files: [rules.yaml]\n"
        }
        None => "",
    };
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1h\n{rule_files}scrape_configs: []\n"),
    )
    .expect("config");
    let port = free_port();
    let mut child = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    wait_for(port, "/-/ready", &mut child, "prometheus");
    Some(Server { child, port, dir })
}

/// VictoriaMetrics (single node) with `exposition` lines (ms timestamps) imported.
pub fn victoria_metrics(exposition: &str) -> Option<Server> {
    let binary = find("victoria-metrics")?;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(binary)
        .arg(format!(
            "-storageDataPath={}",
            dir.path().join("vm").display()
        ))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.disableCache")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("victoria-metrics starts");
    wait_for(port, "/health", &mut child, "victoria-metrics");
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/import/prometheus",
        exposition.as_bytes(),
    )
    .expect("import");
    assert!(status / 100 == 2, "import: {status} {body}");
    let _ = http(port, "GET", "/internal/force_flush", b"");
    Some(Server { child, port, dir })
}

/// A PostgreSQL server with trust auth; `url()` gives a connection URL.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The port.
    pub port: u16,
}

impl Postgres {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = postgres_tool(&self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user.
fn postgres_tool(program: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn postgres_bin() -> Option<PathBuf> {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

/// Starts a fresh PostgreSQL cluster.
pub fn postgres() -> Option<Postgres> {
    let Some(bin) = postgres_bin() else {
        assert!(
            !services_required(),
            "PostgreSQL is not installed but WHYLINE_REQUIRE_SERVICES=1"
        );
        eprintln!(
            "skipped: PostgreSQL is not installed (run .ci/run, or apt-get install postgresql)"
        );
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let run = |program: &Path, args: &[&str]| {
        let out = postgres_tool(program)
            .args(args)
            .output()
            .expect("postgres tool runs");
        assert!(
            out.status.success(),
            "{}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success());
    }
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    run(
        &bin.join("initdb"),
        &[
            "-D",
            &data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    );
    let port = free_port();
    let socket = dir.path().display().to_string();
    let options = format!("-p {port} -c listen_addresses=127.0.0.1 -k {socket} -c fsync=off");
    let log = dir.path().join("log").display().to_string();
    run(
        &bin.join("pg_ctl"),
        &["-D", &data_arg, "-o", &options, "-l", &log, "-w", "start"],
    );
    Some(Postgres { dir, bin, port })
}
