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
