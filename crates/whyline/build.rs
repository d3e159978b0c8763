//! Installs the page's JavaScript libraries from npm (pinned by
//! `web/package-lock.json`) into the build's own folder (`OUT_DIR`, never the
//! source tree) and tells the compiler where they are, so the binary embeds
//! them and serves every asset itself, offline.
//!
//! Third-party code is never committed: `npm ci` fetches it at build time
//! (from npm's cache when offline). Set `WHYLINE_WEB_MODULES` to a
//! `node_modules` folder installed elsewhere to skip npm entirely. Without
//! Node.js and npm the build still succeeds, with a warning: `serve` then
//! serves the API and a plain page that says how to get the full one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (environment variable, file inside node_modules) of every embedded library file.
const ASSETS: &[(&str, &str)] = &[
    ("WHYLINE_ASSET_CYTOSCAPE", "cytoscape/dist/cytoscape.min.js"),
    ("WHYLINE_ASSET_DAGRE", "@dagrejs/dagre/dist/dagre.min.js"),
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
    // Rebuilt when HEAD moves: the file HEAD and the branch it points to,
    // loose or packed. Only files that exist are named: cargo takes a missing
    // one as changed, and would rebuild the binary on every command.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        let mut watched = vec![dir.join("HEAD"), dir.join("packed-refs")];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(dir.join(branch));
        }
        for file in watched.iter().filter(|f| f.is_file()) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    commit(&manifest);
    println!("cargo::rustc-check-cfg=cfg(whyline_plain_page)");
    let web = manifest.join("../../web");
    println!("cargo:rerun-if-env-changed=WHYLINE_WEB_MODULES");
    for file in ["package-lock.json", "package.json"] {
        println!("cargo:rerun-if-changed={}", web.join(file).display());
    }
    let modules = match std::env::var_os("WHYLINE_WEB_MODULES") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("web");
            install(&web, &out).map(|()| out.join("node_modules"))
        }
    };
    let modules = modules.and_then(|m| {
        if installed(&m) {
            Ok(m)
        } else {
            Err(format!(
                "{} lacks the page's libraries (run `npm ci` there, or unset WHYLINE_WEB_MODULES)",
                m.display()
            ))
        }
    });
    match modules {
        Ok(modules) => {
            for (variable, file) in ASSETS {
                let path = modules.join(file);
                let path = path.canonicalize().unwrap_or(path);
                println!("cargo:rustc-env={variable}={}", path.display());
                println!("cargo:rerun-if-changed={}", path.display());
            }
            // The browser tests drive Chromium with playwright-core from here.
            println!("cargo:rustc-env=WHYLINE_NODE_MODULES={}", modules.display());
        }
        Err(why) => {
            println!(
                "cargo:warning=whyline builds without its interactive page: {why}. `whyline serve` serves the API and a plain page; install Node.js and npm and rebuild for the full page."
            );
            println!("cargo:rustc-cfg=whyline_plain_page");
            println!("cargo:rustc-env=WHYLINE_NODE_MODULES=");
        }
    }
}

/// `npm ci` of `web/`'s pins into `out`, unless already done for this lock file.
fn install(web: &Path, out: &Path) -> Result<(), String> {
    let lock = web.join("package-lock.json");
    let same = |a: &Path, b: &Path| match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if installed(&out.join("node_modules"))
        && same(&lock, &out.join("node_modules/.whyline-lock.json"))
    {
        return Ok(());
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(web.join(file), out.join(file))
            .map_err(|e| format!("cannot copy {file} into {}: {e}", out.display()))?;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(out)
        .status();
    match status {
        Ok(s) if s.success() => {
            let _ = std::fs::copy(&lock, out.join("node_modules/.whyline-lock.json"));
            Ok(())
        }
        Ok(s) => Err(format!("`npm ci` failed ({s})")),
        Err(e) => Err(format!("cannot run npm ({e})")),
    }
}

fn installed(modules: &Path) -> bool {
    ASSETS.iter().all(|(_, file)| modules.join(file).is_file())
}
