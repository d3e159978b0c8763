//! Finding and reading catalog files: the one place this crate touches the disk.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, SourceFile};

/// Hand-written catalogs are small; a larger file is almost surely a mistake
/// (a data file given as the catalog) and would only waste memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Errors that stop loading before any file can be parsed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The catalog path does not exist.
    #[error("catalog `{path}` does not exist: give a YAML file or a folder of them with --catalog")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A folder with no YAML in it.
    #[error("no `*.yaml` or `*.yml` files under `{path}`")]
    Empty {
        /// The folder given.
        path: PathBuf,
    },
    /// The folder could not be listed.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Lists the catalog files at `path`: the file itself, or every `*.yaml` /
/// `*.yml` below the folder (sorted, hidden entries skipped, links followed
/// only to files).
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => LoadError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| LoadError::Io {
            path: dir.clone(),
            source: e,
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| LoadError::Io {
                path: dir.clone(),
                source: e,
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let child = entry.path();
            let file_type = entry.file_type().map_err(|e| LoadError::Io {
                path: child.clone(),
                source: e,
            })?;
            if file_type.is_dir() {
                pending.push(child);
            } else if is_yaml(&child) {
                found.push(child);
            }
        }
    }
    if found.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    found.sort();
    Ok(found)
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Reads each file; unreadable, oversized or non-UTF-8 files become diagnostics
/// and the rest are still returned.
pub fn read_files(paths: &[PathBuf]) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut files = Vec::with_capacity(paths.len());
    let mut problems = Vec::new();
    for path in paths {
        match read_one(path) {
            Ok(text) => files.push(SourceFile {
                path: path.clone(),
                text,
            }),
            Err(problem) => problems.push(problem),
        }
    }
    (files, problems)
}

fn read_one(path: &Path) -> Result<String, Diagnostic> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| Diagnostic::global(Code::Io, format!("cannot read `{shown}`: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(Diagnostic::global(
            Code::TooLarge,
            format!("`{shown}` is {} MiB; a catalog file may be at most {} MiB", size >> 20, MAX_FILE_BYTES >> 20),
        )
        .with_help("split the catalog into one file per team or service, or check that this is not a data file"));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::global(Code::Io, format!("cannot read `{shown}`: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        Diagnostic::global(
            Code::Syntax,
            format!("`{shown}` is not UTF-8 text (invalid byte at offset {offset})"),
        )
        .with_help("save the file as UTF-8")
    })
}
