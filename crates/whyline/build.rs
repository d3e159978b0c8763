//! Installs the page's JavaScript libraries from npm (pinned by
//! `web/package-lock.json`) and tells the compiler where they are, so the
//! binary embeds them and serves every asset itself, offline.
//!
//! Third-party code is never committed: `npm ci` fetches it at build time
//! (from npm's cache when offline). Set `WHYLINE_WEB_MODULES` to a
//! `node_modules` folder installed elsewhere to skip npm entirely.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (environment variable, file inside node_modules) of every embedded library file.
const ASSETS: &[(&str, &str)] = &[
    ("WHYLINE_ASSET_CYTOSCAPE", "cytoscape/dist/cytoscape.min.js"),
    ("WHYLINE_ASSET_UPLOT_JS", "uplot/dist/uPlot.iife.min.js"),
    ("WHYLINE_ASSET_UPLOT_CSS", "uplot/dist/uPlot.min.css"),
];

/// The commit the binary is built from, for `--version`: `git rev-parse`
/// when the source is a git checkout and git is installed, else `unknown`.
fn commit(manifest: &Path) {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WHYLINE_COMMIT={commit}");
    // Rebuilt when HEAD moves: the file HEAD and the branch it points to.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(branch).display());
        }
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("packed-refs").display()
        );
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    commit(&manifest);
    let web = manifest.join("../../web");
    println!("cargo:rerun-if-env-changed=WHYLINE_WEB_MODULES");
    println!(
        "cargo:rerun-if-changed={}",
        web.join("package-lock.json").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        web.join("package.json").display()
    );
    let modules = match std::env::var_os("WHYLINE_WEB_MODULES") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let modules = web.join("node_modules");
            if !installed(&modules) || stale(&web) {
                npm_ci(&web);
            }
            modules
        }
    };
    for (variable, file) in ASSETS {
        let path = modules.join(file);
        if !path.is_file() {
            panic!(
                "the page's library file {} is missing: run `npm ci` in {} (needs Node.js and npm), or set WHYLINE_WEB_MODULES to a node_modules folder that has it",
                path.display(),
                web.display()
            );
        }
        let path = path.canonicalize().unwrap_or(path);
        println!("cargo:rustc-env={variable}={}", path.display());
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn installed(modules: &Path) -> bool {
    ASSETS.iter().all(|(_, file)| modules.join(file).is_file())
}

/// npm records what it installed; a newer lock file means the pins changed.
fn stale(web: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(&web.join("package-lock.json")),
        modified(&web.join("node_modules/.package-lock.json")),
    ) {
        (Some(lock), Some(done)) => lock > done,
        _ => true,
    }
}

fn npm_ci(web: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(web)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`npm ci` in {} failed ({s}); the page's libraries could not be installed",
            web.display()
        ),
        Err(e) => panic!(
            "cannot run npm ({e}): the page's libraries come from npm at build time; install Node.js and npm, or set WHYLINE_WEB_MODULES"
        ),
    }
}
