//! The docs cannot drift from the tool (issue #15, items 11, 13 and 14): every
//! link in the README, ARCHITECTURE and docs/ resolves inside the repository,
//! the README starts with its two commands (the first showing cargo's
//! progress), and every catalog written in docs/catalog.md passes `whyline check`
//! as valid.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn documents() -> Vec<PathBuf> {
    let mut out = vec![repo().join("README.md"), repo().join("ARCHITECTURE.md")];
    for entry in std::fs::read_dir(repo().join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

/// `](target)` links of a Markdown text.
fn links(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &text[i + 2..];
            rest.find(')').map(|end| rest[..end].to_string())
        })
        .collect()
}

#[test]
fn every_link_in_the_docs_resolves_inside_the_repository() {
    let root = std::fs::canonicalize(repo()).expect("repo");
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read");
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") || link.starts_with('#')
            {
                continue;
            }
            let path = link.split('#').next().unwrap_or("");
            let target = doc.parent().expect("folder").join(path);
            let resolved = std::fs::canonicalize(&target)
                .unwrap_or_else(|_| panic!("{}: `{link}` does not exist", doc.display()));
            assert!(
                resolved.starts_with(&root),
                "{}: `{link}` points outside the repository, dead in a clone",
                doc.display()
            );
        }
    }
}

#[test]
fn the_readme_starts_with_its_two_commands_and_the_first_shows_progress() {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let block = text
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a first sh block");
    let commands: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands[0].starts_with("cargo run --release -- demo"),
        "{}",
        commands[0]
    );
    assert!(
        !commands[0].contains(" -q"),
        "the first build must show its progress"
    );
    assert!(
        commands[1].starts_with("cargo nextest run --workspace"),
        "{}",
        commands[1]
    );
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("cargo nextest run --workspace --locked"),
        "CI runs the README's test command"
    );
}

#[test]
fn every_catalog_in_the_format_docs_is_valid() {
    let text = std::fs::read_to_string(repo().join("docs/catalog.md")).expect("docs/catalog.md");
    let catalogs: Vec<&str> = text
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.starts_with("version: 1"))
        .collect();
    assert!(!catalogs.is_empty());
    for (i, catalog) in catalogs.iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("whyline.yaml");
        std::fs::write(&path, catalog).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_whyline"))
            .args(["check", "--catalog"])
            .arg(&path)
            .output()
            .expect("whyline runs");
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "catalog {i} of docs/catalog.md is invalid:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every `whyline ...` line of the README's `sh` blocks, without its trailing comment.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let mut commands = Vec::new();
    for block in text.split("```sh\n").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        for line in block.lines() {
            let command = line.split("  #").next().unwrap_or("").trim();
            if runs_whyline(command) {
                commands.push(command.to_string());
            }
        }
    }
    commands
}

/// Whether a shell line runs `whyline`, after any `NAME=value` (or `NAME=$(...)`) assignments.
fn runs_whyline(line: &str) -> bool {
    let mut rest = line;
    loop {
        if rest.starts_with("whyline ") {
            return true;
        }
        let Some((name, value)) = rest.split_once('=') else {
            return false;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            return false;
        }
        let end = if value.starts_with("$(") {
            value.find(") ").map(|i| i + 2)
        } else {
            value.find(' ').map(|i| i + 1)
        };
        match end {
            Some(end) => rest = &value[end..],
            None => return false,
        }
    }
}

/// A working folder as the README assumes one: `metrics/` (the example shop,
/// each metric reading its column of the demo's data file), the demo's
/// `target/demo/data.csv`, `examples/shop`, the data files the commands name,
/// and a git history with `origin/main`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("folder") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

fn readme_sandbox(bin: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .current_dir(root)
            .env_remove("WHYLINE_CATALOG")
            .output()
            .expect("whyline runs");
        assert!(
            out.status.success(),
            "whyline {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["demo"]);
    let data = root.join("target/demo/data.csv");
    assert!(data.is_file(), "the demo writes target/demo/data.csv");
    // The import walkthrough's team files, as the README names them.
    copy_tree(
        &repo().join("examples/import"),
        &root.join("examples/import"),
    );
    let example = repo().join("examples/shop/metrics");
    std::fs::create_dir_all(root.join("examples/shop/metrics")).expect("mkdir");
    std::fs::create_dir_all(root.join("metrics")).expect("mkdir");
    let mut sourced = 0;
    for entry in std::fs::read_dir(&example).expect("examples/shop/metrics") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(root.join("examples/shop/metrics").join(&name), &text).expect("copy");
        let mut with_sources = String::new();
        for line in text.lines() {
            with_sources.push_str(line);
            with_sources.push('\n');
            if let Some(id) = line.strip_prefix("  - id: ") {
                with_sources.push_str(&format!(
                    "    source: {{ csv: {{ path: ../target/demo/data.csv, column: {id} }} }}\n"
                ));
                sourced += 1;
            }
        }
        std::fs::write(root.join("metrics").join(&name), with_sources).expect("write");
    }
    assert!(
        sourced >= 30,
        "every example metric got a source: {sourced}"
    );
    std::fs::copy(&data, root.join("shop.csv")).expect("copy");
    std::fs::copy(&data, root.join("d.csv")).expect("copy");
    run(&[
        "pull",
        "--catalog",
        "metrics/",
        "--data",
        "shop.csv",
        "-o",
        "last30d.parquet",
    ]);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "docs")
            .env("GIT_AUTHOR_EMAIL", "docs@example.com")
            .env("GIT_COMMITTER_NAME", "docs")
            .env("GIT_COMMITTER_EMAIL", "docs@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}");
    };
    git(&["init", "-q", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "the catalog"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    dir
}

/// Whether a program is on PATH.
fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts a `serve` line from the README, waits for its first answer over HTTP, and stops it.
fn serve_readme_line(command: &str, root: &Path, path: &std::ffi::OsStr) {
    use std::io::BufRead;
    let command = if command.contains("--listen") {
        command.to_string()
    } else {
        format!("{command} --listen 127.0.0.1:0")
    };
    let mut child = Command::new("bash")
        // `exec` so that killing the child stops the server, assignments before it kept.
        .args([
            "-c",
            &command.replacen("whyline serve", "exec whyline serve", 1),
        ])
        .current_dir(root)
        .env("PATH", path)
        .env_remove("WHYLINE_CATALOG")
        .env("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never-called")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bash runs");
    let stderr = child.stderr.take().expect("stderr");
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = send.send(line);
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        match lines.recv_timeout(std::time::Duration::from_secs(30)) {
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
                panic!("`{command}` did not start:\n{}", log.join("\n"));
            }
        }
    };
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .new_agent();
    let status = agent
        .get(format!("http://{addr}/healthz"))
        .call()
        .map(|r| r.status().as_u16());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status.ok(), Some(200), "`{command}`: /healthz");
}

#[test]
fn every_whyline_command_in_the_readme_runs() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_whyline"));
    let sandbox = readme_sandbox(&bin);
    let root = sandbox.path();
    let required = std::env::var("WHYLINE_REQUIRE_SERVICES").as_deref() == Ok("1");
    let mut path = std::ffi::OsString::from(bin.parent().expect("bin folder"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    // Where the README names something a test cannot use as written, the
    // substitution and its reason; each must still match a README line.
    let mut substitutions: Vec<(&str, String, &str)> = vec![
        (
            "WHYLINE_TOKEN=... ",
            "WHYLINE_TOKEN=0123456789abcdef0123456789abcdef ".to_string(),
            "`...` stands for the reader's token",
        ),
        (
            "--state /var/lib/whyline",
            "--state state".to_string(),
            "a system folder the test may not write",
        ),
        (
            "--listen 0.0.0.0:8080",
            "--listen 127.0.0.1:0".to_string(),
            "tests listen on loopback, on a free port",
        ),
    ];
    for (program, line, stand_in) in [
        ("dot", "| dot -Tsvg > map.svg", "> map.svg"),
        (
            "openssl",
            "$(openssl rand -hex 32)",
            "0123456789abcdef0123456789abcdef",
        ),
    ] {
        if !installed(program) {
            assert!(!required, "{program} is not installed but CI needs it");
            eprintln!("skipping `{program}` in the README's commands: not installed");
            substitutions.push((line, stand_in.to_string(), "not installed here"));
        }
    }
    let mut commands = readme_commands();
    assert!(commands.len() >= 20, "{commands:?}");
    for (from, _, why) in &substitutions {
        assert!(
            commands.iter().any(|c| c.contains(from)),
            "the README no longer says `{from}` ({why}): drop the substitution"
        );
    }
    // Files are made by the commands that write them before those that read them.
    commands.sort_by_key(|c| !c.starts_with("whyline pull"));
    for written in &commands {
        let mut command = written.clone();
        for (from, to, _) in &substitutions {
            command = command.replace(from, to);
        }
        if command.contains("whyline serve") {
            serve_readme_line(&command, root, &path);
            continue;
        }
        let out = Command::new("timeout")
            .args(["120", "bash", "-o", "pipefail", "-c", &command])
            .current_dir(root)
            .env("PATH", &path)
            .env_remove("WHYLINE_CATALOG")
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // 0: done; 1: a documented finding (a metric fails a test, an edge is contradicted).
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "README: `{written}` exits {:?}:\n{stdout}{stderr}",
            out.status.code()
        );
        assert!(!stderr.contains("panicked"), "`{written}`: {stderr}");
        let said = match command.rsplit_once(" > ") {
            Some((_, file)) => std::fs::metadata(root.join(file.trim())).is_ok_and(|m| m.len() > 0),
            None => !stdout.trim().is_empty() || !stderr.trim().is_empty(),
        };
        assert!(said, "`{written}` said nothing");
    }
    for written in [
        "incident.parquet",
        "review.md",
        "report.html",
        "map.svg",
        "whyline.rules.yaml",
        "gameday/data.csv",
        "sim/metrics",
        "draft/metrics/checkout-sloth.yaml",
        "gameday-draft/data.csv",
        "draft-review.md",
    ] {
        assert!(
            root.join(written).exists(),
            "the README's commands write {written}"
        );
    }
}
