//! Writing files for the user: atomically, and never over their work without a backup.

use std::path::Path;

/// Whether an existing `path` may be replaced: only a file, and only with `force`
/// (a folder is never replaced, so `--force` is not suggested for one).
pub(crate) fn may_replace(path: &Path, force: bool) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "`{}` is a folder: name a file to write inside it, not the folder itself",
            path.display()
        ));
    }
    if !force {
        return Err(format!(
            "`{}` exists: pass --force to replace it (the old file is then kept as `{}.bak`)",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file renamed into place. An
/// existing file is refused unless `force`, and then kept as `FILE.bak`.
pub(crate) fn write_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), String> {
    if path.exists() {
        may_replace(path, force)?;
        let backup = format!("{}.bak", path.display());
        std::fs::copy(path, &backup)
            .map_err(|e| format!("cannot keep a backup of `{}`: {e}", path.display()))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let result = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write `{}`: {e}", path.display()));
    }
    Ok(())
}
