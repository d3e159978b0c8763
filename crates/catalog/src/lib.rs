//! The metric catalog ("the map" as code): YAML files -> a typed, validated model.
//!
//! Entry points: [`load`] reads a file or folder; [`parse`] does the same work
//! on text already in memory (tests, `git show`, fuzzing). Both return the
//! catalog *and* every problem found, never stopping at the first one.
//!
//! Architecture invariant: nothing here knows about metric data, statistics or
//! output formats; the only I/O is reading catalog files in [`load`].

pub mod diagnostic;
pub mod duration;
pub mod load;
pub mod model;
mod schema;
mod validate;
pub mod yaml;

use std::path::Path;

pub use diagnostic::{Code, Diagnostic, FileId, Location, Related, SourceFile};
pub use duration::{Duration, DurationError};
pub use load::LoadError;
pub use model::{
    Aggregate, Bound, Catalog, Connection, ConnectionKind, Driver, Effect, Good, Layer, Metric,
    SourceSpec, Thresholds,
};

/// A catalog plus every problem that makes it invalid (empty when valid).
#[derive(Debug)]
pub struct Checked {
    /// What could be understood; complete only when `diagnostics` is empty.
    pub catalog: Catalog,
    /// Every problem, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// True when the catalog has no problems.
    pub fn is_valid(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// Reads and checks the catalog at `path` (a file or a folder).
pub fn load(path: &Path) -> Result<Checked, LoadError> {
    let paths = load::discover(path)?;
    let (files, mut read_problems) = load::read_files(&paths);
    let mut checked = parse(files);
    read_problems.append(&mut checked.diagnostics);
    checked.diagnostics = read_problems;
    Ok(checked)
}

/// Parses and checks catalog files already in memory.
pub fn parse(files: Vec<SourceFile>) -> Checked {
    let parts = parse_files(&files);
    let mut diagnostics = Vec::new();
    let mut metrics = Vec::new();
    let mut connections = Vec::new();
    for (mut part, mut problems) in parts {
        diagnostics.append(&mut problems);
        metrics.append(&mut part.metrics);
        connections.append(&mut part.connections);
    }
    validate::duplicates(&metrics, &connections, &mut diagnostics);
    let catalog = Catalog::new(files, metrics, connections);
    let index = |id: &str| catalog.index_of(id);
    validate::references(
        &catalog.metrics,
        &catalog.connections,
        &index,
        &mut diagnostics,
    );
    validate::cycles(&catalog.metrics, &index, &mut diagnostics);
    // Read top to bottom, file by file, like a compiler's output.
    diagnostics.sort_by_key(|d| d.location.map_or((0, 0, 0), |l| (1, l.file, l.offset)));
    Checked {
        catalog,
        diagnostics,
    }
}

/// What one file yields: its metrics and connections, and its problems.
type FileResult = (schema::FilePart, Vec<Diagnostic>);

/// Parses every file, on all cores; results come back in file order.
fn parse_files(files: &[SourceFile]) -> Vec<FileResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    if workers <= 1 {
        return files
            .iter()
            .enumerate()
            .map(|(id, f)| parse_file(id, f))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<FileResult>> = (0..files.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, FileResult)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        done.push((i, parse_file(i, file)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for (i, result) in chunks.into_iter().flatten() {
        results[i] = Some(result);
    }
    results.into_iter().flatten().collect()
}

fn parse_file(id: FileId, file: &SourceFile) -> FileResult {
    let mut problems = Vec::new();
    let dir = file.path.parent().unwrap_or(Path::new("."));
    let part = match yaml::parse(id, &file.text) {
        Err(problem) => {
            problems.push(problem);
            schema::FilePart::default()
        }
        Ok(None) => {
            problems.push(
                Diagnostic::new(
                    Code::MissingField,
                    Location {
                        file: id,
                        line: 1,
                        column: 1,
                        ..Default::default()
                    },
                    "the file is empty",
                )
                .with_help("start it with `version: 1` and a `metrics:` list, or delete it"),
            );
            schema::FilePart::default()
        }
        Ok(Some(root)) => schema::convert(&root, dir, &mut problems),
    };
    (part, problems)
}
