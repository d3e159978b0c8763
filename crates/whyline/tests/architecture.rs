//! The "Architecture invariant:" lines of ARCHITECTURE.md that a machine can
//! check: the core crates do no I/O and print nothing, and only the adapters
//! and the binary depend on I/O crates.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pure crates: catalog model, map, series, statistics, analysis, import,
/// alerts' rules and messages, the simulator.
const PURE: &[&str] = &[
    "map", "series", "import", "stats", "why", "edges", "audit", "alerts", "sim",
];

/// What a pure crate's code may not name: file, network, process and
/// environment access, printing, and the I/O stacks.
const IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "std::io::stdout",
    "std::io::stdin",
    "println!",
    "eprintln!",
    "print!",
    "eprint!",
    "dbg!",
    "tokio",
    "reqwest",
    "rusqlite",
];

/// Crates that do I/O; none may be a dependency of a pure crate.
const IO_CRATES: &[&str] = &[
    "tokio",
    "reqwest",
    "rusqlite",
    "axum",
    "parquet",
    "arrow",
    "postgres",
    "tokio-postgres",
    "ureq",
    "whyline-sources",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code outside comments and `#[cfg(test)]` modules (tests may read
/// fixtures and print).
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let test_module = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..test_module]
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with("//!") || t.starts_with("///"))
        })
        .map(|(i, l)| (i + 1, l))
        .collect()
}

/// The names in a manifest's `[dependencies]` table.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut inside = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == "[dependencies]";
            continue;
        }
        if inside && !t.is_empty() && !t.starts_with('#') {
            let name = t.split(['=', '.', ' ']).next().unwrap_or_default();
            names.push(name.to_string());
        }
    }
    names
}

/// Each line of code in `crate`'s sources (but files named in `except`) that
/// names one of [`IO`], as `path:line: word`.
fn io_in(krate: &str, except: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(
        &workspace().join("crates").join(krate).join("src"),
        &mut files,
    );
    assert!(!files.is_empty(), "crates/{krate}/src has no Rust file");
    let mut found = Vec::new();
    for file in files {
        if file
            .file_name()
            .is_some_and(|n| except.iter().any(|e| n == *e))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for (line, code) in code_lines(&text) {
            for word in IO {
                if code.contains(word) {
                    found.push(format!("{}:{line}: {word}", file.display()));
                }
            }
        }
    }
    found
}

#[test]
fn the_core_crates_do_no_io_and_print_nothing() {
    let found: Vec<String> = PURE.iter().flat_map(|k| io_in(k, &[])).collect();
    assert!(
        found.is_empty(),
        "I/O in a pure crate:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_catalog_loader_reads_files_in_the_catalog_crate() {
    let found = io_in("catalog", &["load.rs"]);
    assert!(
        found.is_empty(),
        "I/O outside load.rs:\n{}",
        found.join("\n")
    );
    assert!(
        !io_in("catalog", &[]).is_empty(),
        "load.rs reads no file: the check is blind"
    );
}

#[test]
fn no_pure_crate_depends_on_an_io_crate() {
    for krate in PURE.iter().chain(&["catalog"]) {
        let manifest =
            std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml"))
                .expect("manifest");
        let deps = dependencies(&manifest);
        assert!(
            !deps.is_empty() || *krate == "stats",
            "{krate}: no dependencies read"
        );
        for dep in &deps {
            assert!(
                !IO_CRATES.contains(&dep.as_str()),
                "crates/{krate} depends on {dep}, an I/O crate"
            );
        }
    }
}

/// The checker itself: a line that prints is found, a comment is not, and
/// test modules are left out.
#[test]
fn the_checker_sees_io_in_code_and_not_in_comments() {
    let text = "/// println! in a doc\nfn f() { println!(\"x\"); }\n#[cfg(test)]\nmod t { fn g() { std::fs::read(\"a\"); } }\n";
    let lines = code_lines(text);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].1.contains("println!"));
    assert_eq!(
        dependencies(
            "[package]\nname = \"x\"\n[dependencies]\nlibm.workspace = true\ntokio = { version = \"1\" }\n[dev-dependencies]\nureq = \"3\"\n"
        ),
        vec!["libm", "tokio"]
    );
}

/// Architecture invariant of the binary: every machine-readable output is
/// built from a type of `src/contract/` (whose schemas are published), never
/// by hand with `json!`. The one exception is the alert receiver's own
/// storage row, which is read back by the server alone.
#[test]
fn every_json_output_is_built_from_a_contract_type() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates/whyline/src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for (line, code) in code_lines(&text) {
            if code.contains("json!(") {
                found.push(format!("{}:{line}", file.display()));
            }
        }
    }
    let storage: Vec<&String> = found
        .iter()
        .filter(|f| f.contains("serve/alerts.rs"))
        .collect();
    assert!(storage.len() <= 1, "{storage:?}");
    let elsewhere: Vec<&String> = found
        .iter()
        .filter(|f| !f.contains("serve/alerts.rs"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "JSON built by hand instead of from a contract type: {elsewhere:?}"
    );
}

/// Architecture invariant of the binary: one clock. Every "now" (a window
/// that ends now, the server's staleness) comes from `clock.rs`.
#[test]
fn the_binary_reads_the_clock_in_one_place() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates/whyline/src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        if file.ends_with("clock.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for (line, code) in code_lines(&text) {
            if code.contains("SystemTime::now") || code.contains("UNIX_EPOCH") {
                found.push(format!("{}:{line}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "a clock outside clock.rs: {found:?}");
}
