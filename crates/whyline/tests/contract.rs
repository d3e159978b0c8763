//! The typed output contract (issue #14, point 1), over the real binary:
//! the JSON Schemas published in `docs/schemas/` are exactly the ones the
//! contract's types generate (so renaming a field or an enum value breaks
//! this test until the published schema is regenerated and reviewed), every
//! command's JSON validates against its published schema, and each output is
//! kept as a snapshot.
//!
//! Regenerate the published schemas after a deliberate change with
//! `WHYLINE_BLESS=1 cargo nextest run -p whyline --test contract`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemas_dir() -> PathBuf {
    repo_root().join("docs/schemas")
}

fn whyline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(dir)
        .env_remove("WHYLINE_CATALOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("the whyline binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The names `whyline schema` lists.
fn names() -> Vec<String> {
    let out = whyline(&repo_root(), &["schema"]);
    assert_eq!(out.status.code(), Some(0));
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn published(name: &str) -> PathBuf {
    let file = if name == "openapi" {
        "openapi.json".to_string()
    } else {
        format!("{name}.schema.json")
    };
    schemas_dir().join(file)
}

#[test]
fn the_published_schemas_are_the_ones_the_types_generate() {
    let names = names();
    for expected in [
        "check", "why", "edges", "audit", "focus", "import", "pull", "truth", "openapi",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    let bless = std::env::var("WHYLINE_BLESS").as_deref() == Ok("1");
    for name in &names {
        let out = whyline(&repo_root(), &["schema", name]);
        assert_eq!(out.status.code(), Some(0), "schema {name}");
        let generated = stdout(&out);
        let path = published(name);
        if bless {
            std::fs::create_dir_all(schemas_dir()).expect("docs/schemas");
            std::fs::write(&path, &generated).expect("write the schema");
            continue;
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == generated,
            "{} differs from what the types generate: review the change, then run \
             WHYLINE_BLESS=1 cargo nextest run -p whyline --test contract",
            path.display()
        );
    }
    // Nothing stale is published.
    for entry in std::fs::read_dir(schemas_dir()).expect("docs/schemas") {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            names.iter().any(|n| published(n).ends_with(&file)),
            "docs/schemas/{file} is no output's schema"
        );
    }
}

#[test]
fn an_unknown_schema_name_is_refused_with_the_names() {
    let out = whyline(&repo_root(), &["schema", "whyy"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`whyy`") && err.contains("why, edges"),
        "{err}"
    );
}

/// Validates `document` against the published schema `name`; panics with
/// every violation and where it is.
fn validate(name: &str, document: &serde_json::Value) {
    let text = std::fs::read_to_string(published(name)).expect("the published schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {}", errors.join("\n"));
}

/// A command's JSON output: validated against `name`, and snapshotted with
/// the scratch folder's path replaced.
fn contract_output(dir: &Path, name: &str, snapshot: &str, args: &[&str], codes: &[i32]) {
    let out = whyline(dir, args);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{args:?} exits {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let document: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"));
    validate(name, &document);
    // Paths differ from checkout to checkout: the scratch folder and the
    // repository are named, not spelled.
    let text = text
        .replace(&dir.display().to_string(), "[dir]")
        .replace(&repo_root().display().to_string(), "[repo]");
    insta::assert_snapshot!(snapshot, text);
}

#[test]
fn every_json_output_validates_against_its_published_schema() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();
    let demo = whyline(dir, &["demo", "--output", "d"]);
    assert_eq!(demo.status.code(), Some(0));
    let examples = repo_root().join("examples");
    let shop = examples.join("shop").display().to_string();
    let imports = examples.join("import").display().to_string();
    std::fs::write(
        dir.join("broken.yaml"),
        "version: 1\nmetrics:\n  - id: revenue\n    layer: business\n    drivers: [{metric: nothing, effect: increases}]\n",
    )
    .expect("write");
    let data = ["--catalog", "d/shop/metrics", "--data", "d/data.csv"];
    let with_data = |command: &[&str]| -> Vec<String> {
        command
            .iter()
            .chain(data.iter())
            .chain(["--format", "json"].iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |name: &str, snapshot: &str, args: Vec<String>, codes: &[i32]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        contract_output(dir, name, snapshot, &args, codes);
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|s| s.to_string()).collect() };

    run(
        "check",
        "json_check",
        owned(&["check", "--catalog", &shop, "--format", "json"]),
        &[1],
    );
    run(
        "check",
        "json_check_invalid",
        owned(&["check", "--catalog", "broken.yaml", "--format", "json"]),
        &[2],
    );
    run("why", "json_why", with_data(&["why", "revenue"]), &[0]);
    run(
        "why",
        "json_why_calm",
        with_data(&["why", "revenue", "--at", "2026-03-02T12:00:00Z"]),
        &[0],
    );
    run("edges", "json_edges", with_data(&["edges"]), &[0, 1]);
    run("audit", "json_audit", with_data(&["audit"]), &[0, 1]);
    run("focus", "json_focus", with_data(&["focus"]), &[0]);
    run(
        "import",
        "json_import",
        owned(&["import", &imports, "-o", "imported", "--format", "json"]),
        &[0, 1],
    );
    run(
        "pull",
        "json_pull",
        owned(&[
            "pull",
            "--catalog",
            "d/shop/metrics",
            "--data",
            "d/data.csv",
            "--from",
            "2026-03-02T22:00:00Z",
            "--to",
            "2026-03-02T22:10:00Z",
            "-o",
            "incident.parquet",
            "--format",
            "json",
        ]),
        &[0],
    );
    let truth = std::fs::read_to_string(dir.join("d/truth.json")).expect("truth.json");
    let truth: serde_json::Value = serde_json::from_str(&truth).expect("truth JSON");
    validate("truth", &truth);
}

/// The check a renamed variant would fail: the published schemas spell the
/// enum values the contract promises (cli.md), so a variant renamed in code
/// changes them and `the_published_schemas_are_the_ones_the_types_generate`
/// fails; here the spellings themselves are pinned.
#[test]
fn the_published_enum_values_are_the_contract_s_spellings() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(published(name)).expect("schema"))
            .expect("JSON")
    };
    let values = |schema: &serde_json::Value, def: &str| -> Vec<String> {
        schema["$defs"][def]["enum"]
            .as_array()
            .or_else(|| schema["$defs"][def]["oneOf"].as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().or_else(|| v["const"].as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let why = read("why");
    assert_eq!(values(&why, "Status"), ["red", "amber", "green", "unknown"]);
    let check = read("check");
    assert_eq!(
        values(&check, "Verdict"),
        ["business", "operational", "unexplained", "discard"]
    );
    assert_eq!(
        values(&check, "BreakKind"),
        ["NewMetricFails", "LostDecision", "LostExplanation"]
    );
    let edges = read("edges");
    assert_eq!(
        values(&edges, "EdgeVerdict"),
        ["supported", "contradicted", "unsupported", "no-data"]
    );
    assert_eq!(values(&edges, "Effect"), ["increases", "decreases"]);
}
