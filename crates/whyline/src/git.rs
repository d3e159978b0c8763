//! Reading a catalog as it was at a git revision, for `check --base`.

use std::path::Path;
use std::process::Command;

use whyline_catalog::SourceFile;

/// Why the base catalog could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    /// git is not installed or could not start.
    #[error("could not run git: {0}")]
    Spawn(std::io::Error),
    /// git said no (unknown revision, not a repository...).
    #[error("`git {args}` failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// What git printed.
        stderr: String,
    },
}

fn git(args: &[&str]) -> Result<Vec<u8>, GitError> {
    let output = Command::new("git")
        .args(args)
        .output()
        .map_err(GitError::Spawn)?;
    if !output.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(output.stdout)
}

/// The catalog files under `path` as they were at `revision`, with paths shown
/// as `REV:path`. A path that did not exist at the revision gives no files.
pub(crate) fn catalog_at(revision: &str, path: &Path) -> Result<Vec<SourceFile>, GitError> {
    // Resolve first so a typo in the revision is an error, not an empty base.
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{revision}^{{commit}}"),
    ])
    .map_err(|_| GitError::Failed {
        args: format!("rev-parse {revision}"),
        stderr: format!("`{revision}` is not a commit in this repository"),
    })?;
    let shown = path.to_string_lossy();
    let listing = git(&["ls-tree", "-r", "--name-only", revision, "--", &shown])?;
    let mut files = Vec::new();
    for name in String::from_utf8_lossy(&listing).lines() {
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if Path::new(name)
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let bytes = git(&["show", &format!("{revision}:./{name}")])?;
        files.push(SourceFile {
            path: format!("{revision}:{name}").into(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(files)
}
