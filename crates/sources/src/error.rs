//! Everything that can go wrong while reading one metric, worded for the user.

use std::path::PathBuf;

/// Why a metric's data could not be read. Each message says what was wrong
/// and, where there is one, what to do instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("cannot read `{path}`: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// A CSV or Parquet file is malformed at a known place.
    #[error(
        "{path}{place}: {message}",
        path = path.display(),
        place = match (line, column) {
            // Line 0: the file as a whole (a Parquet footer), no place inside it.
            (0, _) => String::new(),
            (line, Some(c)) => format!(":{line}:{c}"),
            (line, None) => format!(":{line}"),
        }
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (CSV) or row (Parquet); 0 for the file as a whole.
        line: u64,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong there.
        message: String,
    },
    /// The file has no column (wide) or no rows (long) for the metric.
    #[error("`{path}` has no column `{column}`{hint}", hint = hint_columns(available))]
    NoColumn {
        /// The file.
        path: PathBuf,
        /// The column looked for.
        column: String,
        /// Some of the columns that do exist.
        available: Vec<String>,
    },
    /// A Parquet column's data fails the file's own integrity check.
    #[error("`{path}`, column `{column}`, {damage}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What failed, and in which row group.
        damage: crate::checksum::Damage,
    },
    /// A column exists but holds values of the wrong type.
    #[error("column `{column}` of {place} holds {found}, not {expected}{hint}", hint = hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    WrongType {
        /// File or query.
        place: String,
        /// The column.
        column: String,
        /// What was found.
        found: String,
        /// What whyline reads there.
        expected: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// The source answered, but with no points in the window.
    #[error("no data between {from} and {to}")]
    Empty {
        /// Window start, RFC 3339.
        from: String,
        /// Window end, RFC 3339.
        to: String,
    },
    /// Every value read in the window is NaN, infinite or unreadable.
    #[error(
        "no finite number between {from} and {to}: {non_finite} values are NaN or infinite and {unreadable} are not numbers; whyline judges finite numbers (a gap is a missing point: an empty CSV cell, a SQL NULL)"
    )]
    NoNumbers {
        /// Window start, RFC 3339.
        from: String,
        /// Window end, RFC 3339.
        to: String,
        /// Values that were NaN or infinite.
        non_finite: usize,
        /// Cells that were not numbers at all.
        unreadable: usize,
    },
    /// A network source needs a time window and none was given.
    #[error("a network source needs a time window: give --from and --to (or --at)")]
    NoWindow,
    /// An environment variable named in the catalog is not set.
    #[error("environment variable `{0}` is not set (the catalog reads a secret from it)")]
    MissingEnv(String),
    /// Could not connect, after retries.
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// Where.
        url: String,
        /// The last transport error.
        message: String,
    },
    /// No answer in time, after retries.
    #[error("{url} did not answer within {seconds} s ({attempts} attempts)")]
    Timeout {
        /// Where.
        url: String,
        /// The per-request time-out.
        seconds: f64,
        /// How many tries were made.
        attempts: u32,
    },
    /// The read's whole budget (`--timeout`) ran out before this source answered.
    #[error(
        "no answer within {seconds} s, the most whyline waits for its sources in all: raise --timeout (e.g. --timeout 2m) or find out why the source is slow"
    )]
    GaveUp {
        /// The budget.
        seconds: f64,
    },
    /// The server answered with an error.
    #[error("{url} answered HTTP {status}{kind}: {message}", kind = error_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Http {
        /// Where.
        url: String,
        /// HTTP status.
        status: u16,
        /// Prometheus `errorType`, if the body had one.
        error_type: Option<String>,
        /// Prometheus `error`, or the start of the body.
        message: String,
    },
    /// The answer was not the JSON the API promises.
    #[error("{url} answered something that is not a Prometheus query_range result: {message}")]
    Protocol {
        /// Where.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// A query that must return one series returned several.
    #[error("the query returned {count} series, whyline needs exactly one: {shown}{more}; aggregate it, e.g. `sum(...)` or `avg by () (...)`", shown = labels.join(", "), more = if *count > labels.len() { ", ..." } else { "" })]
    SeveralSeries {
        /// How many series.
        count: usize,
        /// The label sets of the first few.
        labels: Vec<String>,
    },
    /// A database error.
    #[error("{connection}: {message}")]
    Database {
        /// The connection name.
        connection: String,
        /// The database's message.
        message: String,
    },
    /// The window and step would make an absurdly long series.
    #[error(
        "the data spans {from} to {to}; at a {step_ms} ms step that is {points} points per metric, more than whyline aligns: give --from/--to (or --at) to narrow the window, or a larger --step; a stray timestamp far from the others also causes this"
    )]
    TooManyPoints {
        /// Window start.
        from: String,
        /// Window end.
        to: String,
        /// The step.
        step_ms: i64,
        /// Points it would take.
        points: usize,
    },
    /// The metric has no source and no --data file was given.
    #[error("no `source:` in the catalog and no --data file: add a `source:` or pass --data FILE")]
    NoSource,
}

fn hint_columns(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!(
            " (it has: {}{})",
            available
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if available.len() > 8 { ", ..." } else { "" }
        )
    }
}
