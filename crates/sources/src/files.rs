//! CSV and Parquet files, wide (`timestamp` + one column per metric) or long
//! (`timestamp, metric, value`). One pass reads every metric wanted from a file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;

use crate::checksum;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::SourceError;

/// Points of one metric as read from a file: `NaN` marks an empty cell.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    /// Unix ms; shared by every metric of a wide file.
    pub(crate) timestamps: Arc<Vec<i64>>,
    /// One value per timestamp.
    pub(crate) values: Vec<f64>,
    /// Cells that held NaN or ±Inf (dropped as missing, and reported).
    pub(crate) non_finite: usize,
    /// Cells that could not be read as numbers: holes, reported with the
    /// first one's place.
    pub(crate) unreadable: usize,
    /// Where the first unreadable cell is and what it held.
    pub(crate) first_unreadable: Option<SourceError>,
}

/// What a file gives for each wanted metric.
pub(crate) type FileResult = HashMap<String, Result<Raw, SourceError>>;

/// Reads `wanted` metrics from a CSV or Parquet file, by extension.
pub(crate) fn read(path: &Path, wanted: &[String]) -> FileResult {
    let is_parquet = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("parquet" | "pq")
    );
    let result = if is_parquet {
        read_parquet(path, wanted)
    } else {
        read_csv(path, wanted)
    };
    match result {
        Ok(map) => map,
        // A problem with the whole file makes every metric in it missing, for the same reason.
        Err(e) => wanted.iter().map(|w| (w.clone(), Err(e.clone()))).collect(),
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Parses a timestamp cell: integer Unix seconds (fast path) or RFC 3339.
fn parse_timestamp(bytes: &[u8]) -> Option<i64> {
    if !bytes.is_empty() && bytes.len() <= 12 && bytes.iter().all(u8::is_ascii_digit) {
        let mut seconds: i64 = 0;
        for b in bytes {
            seconds = seconds * 10 + i64::from(b - b'0');
        }
        return Some(seconds * 1000);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    whyline_series::parse_time(text).ok()
}

/// Result of parsing one value cell.
enum Cell {
    Value(f64),
    Empty,
    NonFinite,
    Bad(String),
}

fn parse_value(bytes: &[u8]) -> Cell {
    let text = bytes.trim_ascii();
    if text.is_empty() {
        return Cell::Empty;
    }
    // fast-float2 parses bytes directly (Eisel-Lemire), several times faster
    // than validating UTF-8 and then `str::parse`.
    match fast_float2::parse::<f64, _>(text) {
        Ok(v) if v.is_finite() => Cell::Value(v),
        Ok(_) => Cell::NonFinite,
        Err(_) => match std::str::from_utf8(text) {
            Err(_) => Cell::Bad("the cell is not UTF-8 text".to_string()),
            Ok(t) => Cell::Bad(format!(
                "`{}` is not a number",
                t.chars().take(40).collect::<String>()
            )),
        },
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> SourceError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => SourceError::Malformed {
            path: path.to_path_buf(),
            line: pos.as_ref().map_or(0, csv::Position::line),
            column: None,
            message: format!("the row has {len} fields but the header has {expected_len}"),
        },
        csv::ErrorKind::Io(io) => io_error(path, io),
        _ => SourceError::Malformed {
            path: path.to_path_buf(),
            line: e.position().map_or(0, csv::Position::line),
            column: None,
            message: e.to_string(),
        },
    }
}

/// One metric being filled while a CSV streams by.
struct Filling {
    values: Vec<f64>,
    non_finite: usize,
    /// The first cell that could not be read (the column keeps a hole there).
    error: Option<SourceError>,
    /// How many cells could not be read.
    unreadable: usize,
    /// A row that makes the whole column unusable (a bad timestamp in a long file).
    fatal: Option<SourceError>,
}

impl Filling {
    fn new() -> Self {
        Filling::with_capacity(0)
    }

    fn with_capacity(rows: usize) -> Self {
        Filling {
            values: Vec::with_capacity(rows),
            non_finite: 0,
            error: None,
            unreadable: 0,
            fatal: None,
        }
    }

    fn push(&mut self, cell: &[u8], path: &Path, line: u64, column: usize) {
        match parse_value(cell) {
            Cell::Value(v) => self.values.push(v),
            Cell::Empty => self.values.push(f64::NAN),
            Cell::NonFinite => {
                self.non_finite += 1;
                self.values.push(f64::NAN);
            }
            Cell::Bad(message) => {
                // One bad cell is a hole, not a lost column: the rest is read
                // and the first bad cell is reported with its place.
                self.unreadable += 1;
                self.values.push(f64::NAN);
                if self.error.is_none() {
                    self.error = Some(SourceError::Malformed {
                        path: path.to_path_buf(),
                        line,
                        column: Some(column),
                        message,
                    });
                }
            }
        }
    }
}

fn read_csv(path: &Path, wanted: &[String]) -> Result<FileResult, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(path, &e))?
        .clone();
    let mut names = Vec::with_capacity(header.len());
    for (i, field) in header.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| SourceError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            column: Some(i + 1),
            message: "the header is not UTF-8 text".to_string(),
        })?;
        names.push(name.trim().to_string());
    }
    if names.is_empty() {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            column: None,
            message: "the file is empty: it needs a header row starting with `timestamp`"
                .to_string(),
        });
    }
    // Two columns of one name: which one is the metric? Refuse rather than pick.
    for (j, name) in names.iter().enumerate().skip(1) {
        if let Some(first) = names[..j].iter().position(|n| n == name) {
            return Err(SourceError::Malformed {
                path: path.to_path_buf(),
                line: 1,
                column: Some(j + 1),
                message: format!(
                    "column `{name}` appears twice (columns {} and {}): keep one column per metric, or rename one",
                    first + 1,
                    j + 1
                ),
            });
        }
    }
    if !names[0].eq_ignore_ascii_case("timestamp") {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            column: Some(1),
            message: format!(
                "the first column is `{}`; write `timestamp` (RFC 3339 or Unix seconds) there",
                names[0]
            ),
        });
    }
    let long = names.len() == 3
        && names[1].eq_ignore_ascii_case("metric")
        && names[2].eq_ignore_ascii_case("value");
    if long {
        read_csv_long(path, reader, wanted)
    } else {
        read_csv_wide(path, reader, wanted, &names)
    }
}

fn bad_timestamp(path: &Path, line: u64, cell: &[u8]) -> SourceError {
    SourceError::Malformed {
        path: path.to_path_buf(),
        line,
        column: Some(1),
        message: format!(
            "`{}` is not a timestamp: write RFC 3339 (2026-03-02T20:57:00Z) or Unix seconds",
            String::from_utf8_lossy(cell)
                .chars()
                .take(40)
                .collect::<String>()
        ),
    }
}

/// Wraps a reader and notes whether a `"` went by: a quoted field may hold a
/// newline, which makes splitting the file at newlines unsafe.
struct QuoteWatch<R> {
    inner: R,
    saw_quote: bool,
}

impl<R: std::io::Read> std::io::Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.saw_quote && memchr::memchr(b'"', &buf[..n]).is_some() {
            self.saw_quote = true;
        }
        Ok(n)
    }
}

/// Rows of one byte range of a wide CSV.
struct Chunk {
    timestamps: Vec<i64>,
    filling: Vec<Filling>,
    /// A fatal error (bad row or timestamp), with its line relative to the chunk.
    fatal: Option<SourceError>,
    saw_quote: bool,
}

/// Parses rows from `reader` (positioned at a row start). Line numbers in
/// errors are relative to `first_line`.
fn parse_chunk<R: std::io::Read>(
    reader: R,
    path: &Path,
    columns: &[(usize, &String)],
    width: usize,
    first_line: u64,
    rows_hint: usize,
) -> Chunk {
    let mut watch = QuoteWatch {
        inner: reader,
        saw_quote: false,
    };
    let mut chunk = Chunk {
        timestamps: Vec::with_capacity(rows_hint),
        filling: columns
            .iter()
            .map(|_| Filling::with_capacity(rows_hint))
            .collect(),
        fatal: None,
        saw_quote: false,
    };
    {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .buffer_capacity(1 << 20)
            .from_reader(&mut watch);
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    chunk.fatal = Some(shift(csv_error(path, &e), first_line - 1));
                    break;
                }
            }
            let line = first_line - 1 + record.position().map_or(0, csv::Position::line);
            if record.len() != width {
                chunk.fatal = Some(SourceError::Malformed {
                    path: path.to_path_buf(),
                    line,
                    column: None,
                    message: format!(
                        "the row has {} fields but the header has {width}",
                        record.len()
                    ),
                });
                break;
            }
            let stamp = &record[0];
            match parse_timestamp(stamp) {
                Some(t) => chunk.timestamps.push(t),
                None => {
                    chunk.fatal = Some(bad_timestamp(path, line, stamp));
                    break;
                }
            }
            for ((index, _), fill) in columns.iter().zip(chunk.filling.iter_mut()) {
                fill.push(&record[*index], path, line, index + 1);
            }
        }
    }
    chunk.saw_quote = watch.saw_quote;
    chunk
}

/// Moves an error's line number by `delta` lines.
fn shift(error: SourceError, delta: u64) -> SourceError {
    match error {
        SourceError::Malformed {
            path,
            line,
            column,
            message,
        } => SourceError::Malformed {
            path,
            line: line + delta,
            column,
            message,
        },
        other => other,
    }
}

/// Byte offsets where the data rows start (after the header) and where each
/// of `parts` ranges begins, each at a row start.
fn split_points(path: &Path, parts: usize) -> std::io::Result<Option<(u64, Vec<u64>)>> {
    // The caller knows the header is shorter than the first megabyte.
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let mut head = vec![0u8; (1 << 20).min(length as usize)];
    file.read_exact(&mut head)?;
    let Some(header_end) = memchr::memchr(b'\n', &head).map(|i| i as u64 + 1) else {
        return Ok(None);
    };
    let mut starts = vec![header_end];
    let data = length - header_end;
    let mut probe = [0u8; 64 * 1024];
    for k in 1..parts {
        let guess = header_end + data * k as u64 / parts as u64;
        file.seek(SeekFrom::Start(guess))?;
        let n = file.read(&mut probe)?;
        let Some(newline) = memchr::memchr(b'\n', &probe[..n]) else {
            return Ok(None);
        };
        let start = guess + newline as u64 + 1;
        if start > *starts.last().unwrap_or(&0) && start < length {
            starts.push(start);
        }
    }
    Ok(Some((length, starts)))
}

fn read_csv_wide(
    path: &Path,
    reader: csv::Reader<std::fs::File>,
    wanted: &[String],
    names: &[String],
) -> Result<FileResult, SourceError> {
    let mut out: FileResult = HashMap::new();
    // (column index, metric) for each wanted metric that exists.
    let mut columns: Vec<(usize, &String)> = Vec::new();
    for metric in wanted {
        match names.iter().skip(1).position(|n| n == metric) {
            Some(i) => columns.push((i + 1, metric)),
            None => {
                out.insert(
                    metric.clone(),
                    Err(SourceError::NoColumn {
                        path: path.to_path_buf(),
                        column: metric.clone(),
                        available: names[1..].to_vec(),
                    }),
                );
            }
        }
    }
    drop(reader);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let length = std::fs::metadata(path)
        .map_err(|e| io_error(path, e))?
        .len();
    let parts = if length > 8 << 20 { threads } else { 1 };
    let chunk = match split_points(path, parts).map_err(|e| io_error(path, e))? {
        Some((length, starts)) => read_exact_ranges(path, &columns, names.len(), &starts, length)?,
        None => None,
    };
    let chunk = match chunk {
        Some(chunk) => chunk,
        // Quoted fields or blank lines: only a plain pass from the top is exact.
        None => {
            let row_bytes = first_row_bytes(path).map_err(|e| io_error(path, e))?;
            read_sequential(path, &columns, names.len(), row_bytes)?
        }
    };
    merge_chunks(path, vec![chunk], &columns, &mut out)?;
    Ok(out)
}

/// Where one thread writes: its rows of the final vectors.
struct Target<'a> {
    timestamps: &'a mut [i64],
    columns: Vec<&'a mut [f64]>,
}

/// What one thread reports besides the values it wrote.
struct RangeReport {
    rows: usize,
    non_finite: Vec<usize>,
    errors: Vec<Option<SourceError>>,
    unreadable: Vec<usize>,
    fatal: Option<SourceError>,
    saw_quote: bool,
}

/// Parses the rows of one byte range straight into `target`.
fn parse_into<R: std::io::Read>(
    reader: R,
    path: &Path,
    columns: &[(usize, &String)],
    width: usize,
    first_line: u64,
    target: Target<'_>,
) -> RangeReport {
    let Target {
        timestamps,
        columns: mut slots,
    } = target;
    let mut watch = QuoteWatch {
        inner: reader,
        saw_quote: false,
    };
    let mut report = RangeReport {
        rows: 0,
        non_finite: vec![0; columns.len()],
        errors: columns.iter().map(|_| None).collect(),
        unreadable: vec![0; columns.len()],
        fatal: None,
        saw_quote: false,
    };
    {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(&mut watch);
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    report.fatal = Some(shift(csv_error(path, &e), first_line - 1));
                    break;
                }
            }
            let line = first_line - 1 + record.position().map_or(0, csv::Position::line);
            let row = report.rows;
            if row >= timestamps.len() {
                // More rows than lines: the counts were wrong; the caller falls back.
                report.rows += 1;
                break;
            }
            if record.len() != width {
                report.fatal = Some(SourceError::Malformed {
                    path: path.to_path_buf(),
                    line,
                    column: None,
                    message: format!(
                        "the row has {} fields but the header has {width}",
                        record.len()
                    ),
                });
                break;
            }
            let stamp = &record[0];
            match parse_timestamp(stamp) {
                Some(t) => timestamps[row] = t,
                None => {
                    report.fatal = Some(bad_timestamp(path, line, stamp));
                    break;
                }
            }
            for (k, (index, _)) in columns.iter().enumerate() {
                slots[k][row] = match parse_value(&record[*index]) {
                    Cell::Value(v) => v,
                    Cell::Empty => f64::NAN,
                    Cell::NonFinite => {
                        report.non_finite[k] += 1;
                        f64::NAN
                    }
                    Cell::Bad(message) => {
                        report.unreadable[k] += 1;
                        if report.errors[k].is_none() {
                            report.errors[k] = Some(SourceError::Malformed {
                                path: path.to_path_buf(),
                                line,
                                column: Some(index + 1),
                                message,
                            });
                        }
                        f64::NAN
                    }
                };
            }
            report.rows += 1;
        }
    }
    report.saw_quote = watch.saw_quote;
    report
}

/// Reads a wide CSV whose data rows start at `starts[0]`, splitting it at
/// `starts` into ranges parsed on separate threads straight into vectors of
/// the exact final size (a first pass counts the lines), so memory stays at
/// the size of the data. `None` when the file needs a plain pass instead.
fn read_exact_ranges(
    path: &Path,
    columns: &[(usize, &String)],
    width: usize,
    starts: &[u64],
    length: u64,
) -> Result<Option<Chunk>, SourceError> {
    use std::io::{Read, Seek, SeekFrom};
    let ranges: Vec<(u64, u64)> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, starts.get(i + 1).copied().unwrap_or(length)))
        .collect();
    let counted: Vec<std::io::Result<(u64, bool)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(a, b)| scope.spawn(move || count_lines(path, a, b)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut lines = Vec::with_capacity(ranges.len());
    let mut rows = Vec::with_capacity(ranges.len());
    for result in counted {
        let (newlines, unterminated) = result.map_err(|e| io_error(path, e))?;
        lines.push(newlines);
        rows.push((newlines + u64::from(unterminated)) as usize);
    }
    let total: usize = rows.iter().sum();
    let mut timestamps = vec![0i64; total];
    let mut values: Vec<Vec<f64>> = columns.iter().map(|_| vec![f64::NAN; total]).collect();
    // Cut every vector into one slice per range.
    let mut targets: Vec<Target<'_>> = Vec::with_capacity(ranges.len());
    {
        let mut time_rest: &mut [i64] = &mut timestamps;
        let mut column_rests: Vec<&mut [f64]> =
            values.iter_mut().map(|v| v.as_mut_slice()).collect();
        for &n in &rows {
            let (head, tail) = std::mem::take(&mut time_rest).split_at_mut(n);
            time_rest = tail;
            let mut slots = Vec::with_capacity(column_rests.len());
            for rest in column_rests.iter_mut() {
                let (h, t) = std::mem::take(rest).split_at_mut(n);
                *rest = t;
                slots.push(h);
            }
            targets.push(Target {
                timestamps: head,
                columns: slots,
            });
        }
    }
    let mut first_lines = Vec::with_capacity(ranges.len());
    let mut line = 2u64;
    for n in &lines {
        first_lines.push(line);
        line += n;
    }
    let reports: Vec<Result<RangeReport, SourceError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .into_iter()
            .zip(ranges.iter().zip(&first_lines))
            .map(|(target, (&(start, end), &first_line))| {
                scope.spawn(move || {
                    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
                    file.seek(SeekFrom::Start(start))
                        .map_err(|e| io_error(path, e))?;
                    let reader = std::io::BufReader::with_capacity(1 << 20, file.take(end - start));
                    Ok(parse_into(reader, path, columns, width, first_line, target))
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
    let mut non_finite = vec![0usize; columns.len()];
    let mut unreadable = vec![0usize; columns.len()];
    let mut errors: Vec<Option<SourceError>> = columns.iter().map(|_| None).collect();
    for (report, expected) in reports.into_iter().zip(&rows) {
        let report = report?;
        if report.saw_quote || report.rows != *expected {
            return Ok(None);
        }
        if let Some(fatal) = report.fatal {
            return Err(fatal);
        }
        for (k, e) in report.errors.into_iter().enumerate() {
            if errors[k].is_none() {
                errors[k] = e;
            }
            non_finite[k] += report.non_finite[k];
            unreadable[k] += report.unreadable[k];
        }
    }
    Ok(Some(Chunk {
        timestamps,
        filling: values
            .into_iter()
            .zip(non_finite)
            .zip(errors)
            .zip(unreadable)
            .map(|(((values, non_finite), error), unreadable)| Filling {
                values,
                non_finite,
                error,
                unreadable,
                fatal: None,
            })
            .collect(),
        fatal: None,
        saw_quote: false,
    }))
}

/// Newlines in `[start, end)`, and whether the range ends without one.
fn count_lines(path: &Path, start: u64, end: u64) -> std::io::Result<(u64, bool)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = file.take(end - start);
    let mut buffer = vec![0u8; 1 << 20];
    let mut count = 0u64;
    let mut last = b'\n';
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok((count, last != b'\n' && end > start));
        }
        count += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64;
        last = buffer[n - 1];
    }
}

/// Rows expected in `bytes` of data: sizing vectors up front keeps them from
/// doubling past the data (peak memory), and 5% slack covers longer rows.
fn rows_hint(bytes: u64, row_bytes: u64) -> usize {
    (bytes / row_bytes.max(2) * 105 / 100) as usize + 64
}

/// Length of the first data row, from the first megabyte of the file.
fn first_row_bytes(path: &Path) -> std::io::Result<u64> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1 << 20);
    std::fs::File::open(path)?
        .take(1 << 20)
        .read_to_end(&mut head)?;
    let Some(header_end) = memchr::memchr(b'\n', &head) else {
        return Ok(64);
    };
    let rest = &head[header_end + 1..];
    Ok(memchr::memchr(b'\n', rest).map_or(rest.len().max(2), |n| n + 1) as u64)
}

fn read_sequential(
    path: &Path,
    columns: &[(usize, &String)],
    width: usize,
    row_bytes: u64,
) -> Result<Chunk, SourceError> {
    use std::io::{BufRead, BufReader};
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let length = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut header = Vec::new();
    reader
        .read_until(b'\n', &mut header)
        .map_err(|e| io_error(path, e))?;
    Ok(parse_chunk(
        reader,
        path,
        columns,
        width,
        2,
        rows_hint(length, row_bytes),
    ))
}

/// The file line where data row `row` (0-based) starts: read again, as this is
/// only asked on the way to an error and rows may span lines (quoted newlines).
fn line_of_row(path: &Path, row: usize) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    for _ in 0..=row {
        if !reader.read_byte_record(&mut record).ok()? {
            return None;
        }
    }
    record.position().map(csv::Position::line)
}

/// The first two data rows (0-based, in file order) that share a timestamp but
/// not their values; rows repeated exactly say nothing new and are kept.
fn conflicting_rows(
    timestamps: &[i64],
    chunks: &[Chunk],
    columns: usize,
) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..timestamps.len()).collect();
    order.sort_by_key(|&i| (timestamps[i], i));
    let value = |row: usize, k: usize| -> f64 {
        let mut row = row;
        for c in chunks {
            let len = c.filling[k].values.len();
            if row < len {
                return c.filling[k].values[row];
            }
            row -= len;
        }
        f64::NAN
    };
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    order.windows(2).find_map(|pair| {
        let (a, b) = (pair[0], pair[1]);
        let differ =
            timestamps[a] == timestamps[b] && (0..columns).any(|k| !same(value(a, k), value(b, k)));
        differ.then_some((a, b))
    })
}

/// Concatenates the chunks column by column, freeing each part as it goes so
/// the peak stays near the size of the data.
fn merge_chunks(
    path: &Path,
    mut chunks: Vec<Chunk>,
    columns: &[(usize, &String)],
    out: &mut FileResult,
) -> Result<(), SourceError> {
    if let Some(fatal) = chunks.iter_mut().find_map(|c| c.fatal.take()) {
        return Err(fatal);
    }
    let rows: usize = chunks.iter().map(|c| c.timestamps.len()).sum();
    if rows == 0 {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: 2,
            column: None,
            message: "the header is followed by no rows: the file holds no data".to_string(),
        });
    }
    let mut timestamps = Vec::with_capacity(rows);
    for c in &mut chunks {
        timestamps.append(&mut c.timestamps);
        c.timestamps = Vec::new();
    }
    if let Some((first, second)) = conflicting_rows(&timestamps, &chunks, columns.len()) {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: line_of_row(path, second).unwrap_or(second as u64 + 2),
            column: Some(1),
            message: format!(
                "data rows {} and {} have the same timestamp ({}) but different values: keep one row per time",
                first + 1,
                second + 1,
                whyline_series::format_time(timestamps[first])
            ),
        });
    }
    let timestamps = Arc::new(timestamps);
    for (k, (_, metric)) in columns.iter().enumerate() {
        let first_unreadable = chunks.iter_mut().find_map(|c| c.filling[k].error.take());
        let unreadable: usize = chunks.iter().map(|c| c.filling[k].unreadable).sum();
        let (values, non_finite) = if chunks.len() == 1 {
            let f = &mut chunks[0].filling[k];
            let mut v = std::mem::take(&mut f.values);
            v.shrink_to_fit();
            (v, f.non_finite)
        } else {
            let mut values = Vec::with_capacity(rows);
            let mut non_finite = 0;
            for c in &mut chunks {
                values.append(&mut c.filling[k].values);
                c.filling[k].values = Vec::new();
                non_finite += c.filling[k].non_finite;
            }
            (values, non_finite)
        };
        // Nothing readable at all: the first bad cell is the error.
        if unreadable > 0 && values.iter().all(|v| v.is_nan()) {
            if let Some(e) = first_unreadable {
                out.insert((*metric).clone(), Err(e));
                continue;
            }
        }
        out.insert(
            (*metric).clone(),
            Ok(Raw {
                timestamps: Arc::clone(&timestamps),
                values,
                non_finite,
                unreadable,
                first_unreadable,
            }),
        );
    }
    Ok(())
}

fn read_csv_long(
    path: &Path,
    mut reader: csv::Reader<std::fs::File>,
    wanted: &[String],
) -> Result<FileResult, SourceError> {
    let index: HashMap<&[u8], usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_bytes(), i))
        .collect();
    let mut stamps: Vec<Vec<i64>> = wanted.iter().map(|_| Vec::new()).collect();
    let mut filling: Vec<Filling> = wanted.iter().map(|_| Filling::new()).collect();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let Some(&i) = index.get(record[1].trim_ascii()) else {
            continue;
        };
        let line = record.position().map_or(0, csv::Position::line);
        let stamp = &record[0];
        match parse_timestamp(stamp) {
            Some(t) => stamps[i].push(t),
            None => {
                if filling[i].fatal.is_none() {
                    filling[i].fatal = Some(bad_timestamp(path, line, stamp));
                }
                continue;
            }
        }
        filling[i].push(&record[2], path, line, 3);
    }
    Ok(wanted
        .iter()
        .zip(stamps.into_iter().zip(filling))
        .map(|(metric, (timestamps, fill))| {
            let unusable = fill.unreadable > 0 && fill.values.iter().all(|v| v.is_nan());
            let result = match fill
                .fatal
                .or(if unusable { fill.error.clone() } else { None })
            {
                Some(e) => Err(e),
                None if timestamps.is_empty() => Err(SourceError::NoColumn {
                    path: path.to_path_buf(),
                    column: metric.clone(),
                    available: Vec::new(),
                }),
                None => Ok(Raw {
                    timestamps: Arc::new(timestamps),
                    values: fill.values,
                    non_finite: fill.non_finite,
                    unreadable: fill.unreadable,
                    first_unreadable: fill.error,
                }),
            };
            (metric.clone(), result)
        })
        .collect())
}

/// A file whose integrity data itself is broken: no column can be trusted.
fn damaged_file(path: &Path, damage: &checksum::Damage) -> SourceError {
    SourceError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        column: None,
        message: damage.to_string(),
    }
}

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        column: None,
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// Converts a timestamp column to Unix ms.
fn timestamps_of(path: &Path, column: &dyn Array, out: &mut Vec<i64>) -> Result<(), SourceError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    let wrong = |found: &DataType| SourceError::WrongType {
        place: format!("`{}`", path.display()),
        column: "timestamp".to_string(),
        found: found.to_string(),
        expected: "a timestamp".to_string(),
        hint: Some("use a Parquet TIMESTAMP, Int64 Unix seconds, or RFC 3339 strings".to_string()),
    };
    if column.null_count() > 0 {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: (column
                .nulls()
                .and_then(|n| n.iter().position(|valid| !valid))
                .unwrap_or(0)
                + 1) as u64,
            column: None,
            message: "a row has no timestamp".to_string(),
        });
    }
    match column.data_type() {
        DataType::Timestamp(unit, _) => {
            let (values, factor_num, factor_den): (&[i64], i64, i64) = match unit {
                TimeUnit::Second => (
                    column.as_primitive::<TimestampSecondType>().values(),
                    1000,
                    1,
                ),
                TimeUnit::Millisecond => (
                    column.as_primitive::<TimestampMillisecondType>().values(),
                    1,
                    1,
                ),
                TimeUnit::Microsecond => (
                    column.as_primitive::<TimestampMicrosecondType>().values(),
                    1,
                    1000,
                ),
                TimeUnit::Nanosecond => (
                    column.as_primitive::<TimestampNanosecondType>().values(),
                    1,
                    1_000_000,
                ),
            };
            out.extend(values.iter().map(|v| v * factor_num / factor_den));
        }
        DataType::Int64 => out.extend(
            column
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|s| s * 1000),
        ),
        DataType::Float64 => out.extend(
            column
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .map(|s| (s * 1000.0).round() as i64),
        ),
        DataType::Utf8 => {
            for (i, text) in column.as_string::<i32>().iter().enumerate() {
                let text = text.unwrap_or("");
                out.push(parse_timestamp(text.as_bytes()).ok_or_else(|| {
                    bad_timestamp(path, (out.len() + i + 1) as u64, text.as_bytes())
                })?);
            }
        }
        other => return Err(wrong(other)),
    }
    Ok(())
}

/// Appends a value column, nulls and non-finite values as `NaN`; returns the non-finite count.
fn values_of(column: &dyn Array, out: &mut Vec<f64>) -> Result<usize, DataType> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    let start = out.len();
    match column.data_type() {
        DataType::Float64 => out.extend_from_slice(column.as_primitive::<Float64Type>().values()),
        DataType::Float32 => out.extend(
            column
                .as_primitive::<Float32Type>()
                .values()
                .iter()
                .map(|v| f64::from(*v)),
        ),
        DataType::Int64 => out.extend(
            column
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|v| *v as f64),
        ),
        DataType::Int32 => out.extend(
            column
                .as_primitive::<Int32Type>()
                .values()
                .iter()
                .map(|v| f64::from(*v)),
        ),
        DataType::UInt64 => out.extend(
            column
                .as_primitive::<UInt64Type>()
                .values()
                .iter()
                .map(|v| *v as f64),
        ),
        DataType::UInt32 => out.extend(
            column
                .as_primitive::<UInt32Type>()
                .values()
                .iter()
                .map(|v| f64::from(*v)),
        ),
        DataType::Null => out.extend(std::iter::repeat_n(f64::NAN, column.len())),
        other => return Err(other.clone()),
    }
    let nulls = column.nulls();
    let mut non_finite = 0;
    for (i, v) in out[start..].iter_mut().enumerate() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            *v = f64::NAN;
        } else if !v.is_finite() {
            non_finite += 1;
            *v = f64::NAN;
        }
    }
    Ok(non_finite)
}

fn read_parquet(path: &Path, wanted: &[String]) -> Result<FileResult, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    let schema = Arc::clone(builder.schema());
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let Some(time_index) = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case("timestamp"))
    else {
        return Err(SourceError::Malformed {
            path: path.to_path_buf(),
            line: 0,
            column: None,
            message: format!("no `timestamp` column (columns: {})", names.join(", ")),
        });
    };
    let metric_index = names.iter().position(|n| n == "metric");
    let value_index = names.iter().position(|n| n == "value");
    if let (Some(m), Some(v), 3) = (metric_index, value_index, names.len()) {
        if matches!(
            schema.field(m).data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            return read_parquet_long(path, builder, wanted, time_index, m, v);
        }
    }
    let mut out: FileResult = HashMap::new();
    let mut columns: Vec<(usize, &String)> = Vec::new();
    for metric in wanted {
        match names.iter().position(|n| n == metric) {
            Some(i) if i != time_index => columns.push((i, metric)),
            _ => {
                out.insert(
                    metric.clone(),
                    Err(SourceError::NoColumn {
                        path: path.to_path_buf(),
                        column: metric.clone(),
                        available: names
                            .iter()
                            .filter(|n| !n.eq_ignore_ascii_case("timestamp"))
                            .cloned()
                            .collect(),
                    }),
                );
            }
        }
    }
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    drop(builder);
    // Column groups are decoded on separate threads, each with its own reader;
    // the first group also decodes the timestamps.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(columns.len().max(1));
    let groups: Vec<Vec<(usize, usize, &String)>> = (0..threads)
        .map(|t| {
            columns
                .iter()
                .enumerate()
                .filter(|(k, _)| k % threads == t)
                .map(|(k, (i, m))| (k, *i, *m))
                .collect()
        })
        .collect();
    let decoded: Vec<Result<Decoded, SourceError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .enumerate()
            .map(|(t, group)| {
                scope.spawn(move || decode_group(path, group, (t == 0).then_some(time_index), rows))
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
    let mut timestamps = Vec::new();
    let mut values: Vec<Vec<f64>> = columns.iter().map(|_| Vec::new()).collect();
    let mut non_finite = vec![0usize; columns.len()];
    let mut errors: Vec<Option<SourceError>> = columns.iter().map(|_| None).collect();
    for group in decoded {
        let group = group?;
        if let Some(t) = group.timestamps {
            timestamps = t;
        }
        for (k, result) in group.columns {
            match result {
                Ok((v, n)) => {
                    values[k] = v;
                    non_finite[k] = n;
                }
                Err(e) => errors[k] = Some(e),
            }
        }
    }
    let timestamps = Arc::new(timestamps);
    for (k, (_, metric)) in columns.into_iter().enumerate() {
        let result = match errors[k].take() {
            Some(e) => Err(e),
            None => Ok(Raw {
                timestamps: Arc::clone(&timestamps),
                values: std::mem::take(&mut values[k]),
                non_finite: non_finite[k],
                unreadable: 0,
                first_unreadable: None,
            }),
        };
        out.insert(metric.clone(), result);
    }
    Ok(out)
}

/// Rows per decoded batch: each thread holds one batch of its columns, so
/// smaller batches bound the memory above the data itself.
const PARQUET_BATCH_ROWS: usize = 8 * 1024;

/// One decoded column: its values and non-finite count, or why it failed.
type ColumnResult = Result<(Vec<f64>, usize), SourceError>;

/// What one thread decoded: maybe the timestamps, and its columns by position.
struct Decoded {
    timestamps: Option<Vec<i64>>,
    columns: Vec<(usize, ColumnResult)>,
}

/// Decodes one group of value columns (and the timestamps when asked).
fn decode_group(
    path: &Path,
    group: &[(usize, usize, &String)],
    time_index: Option<usize>,
    rows: usize,
) -> Result<Decoded, SourceError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let bytes = file.try_clone().map_err(|e| io_error(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    let metadata = Arc::clone(builder.metadata());
    let sums = checksum::sums_of(&metadata).map_err(|damage| damaged_file(path, &damage))?;
    let mut errors: Vec<Option<SourceError>> = group.iter().map(|_| None).collect();
    if let Some(sums) = &sums {
        if let Some(t) = time_index {
            let name = builder.schema().field(t).name().clone();
            checksum::verify_column(&bytes, &metadata, sums, &name).map_err(|damage| {
                SourceError::Damaged {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    damage,
                }
            })?;
        }
        for (g, (_, _, metric)) in group.iter().enumerate() {
            if let Err(damage) = checksum::verify_column(&bytes, &metadata, sums, metric) {
                errors[g] = Some(SourceError::Damaged {
                    path: path.to_path_buf(),
                    column: (*metric).clone(),
                    damage,
                });
            }
        }
    }
    let mut roots: Vec<usize> = group
        .iter()
        .zip(&errors)
        .filter(|(_, e)| e.is_none())
        .map(|((_, i, _), _)| *i)
        .collect();
    roots.extend(time_index);
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(PARQUET_BATCH_ROWS)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let mut timestamps = time_index.map(|_| Vec::with_capacity(rows));
    let mut values: Vec<Vec<f64>> = group.iter().map(|_| Vec::with_capacity(rows)).collect();
    let mut non_finite = vec![0usize; group.len()];
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| parquet_error(path, e))?;
        let schema = batch.schema();
        if let Some(timestamps) = timestamps.as_mut() {
            let column = schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case("timestamp"))
                .map(|i| batch.column(i))
                .ok_or_else(|| {
                    parquet_error(path, "the timestamp column is missing from a batch")
                })?;
            timestamps_of(path, column.as_ref(), timestamps)?;
        }
        for (g, (_, _, metric)) in group.iter().enumerate() {
            if errors[g].is_some() {
                continue;
            }
            let Some(column) = schema.index_of(metric).ok().map(|i| batch.column(i)) else {
                continue;
            };
            match values_of(column.as_ref(), &mut values[g]) {
                Ok(n) => non_finite[g] += n,
                Err(found) => {
                    values[g] = Vec::new();
                    errors[g] = Some(SourceError::WrongType {
                        place: format!("`{}`", path.display()),
                        column: (*metric).clone(),
                        found: found.to_string(),
                        expected: "numbers".to_string(),
                        hint: Some(
                            "store metric values as floating-point or integer columns".to_string(),
                        ),
                    });
                }
            }
        }
    }
    for (g, (_, _, metric)) in group.iter().enumerate() {
        if errors[g].is_some() {
            continue;
        }
        if let Err(damage) = checksum::StatedBounds::of(&metadata, metric).check(0, &values[g]) {
            values[g] = Vec::new();
            errors[g] = Some(SourceError::Damaged {
                path: path.to_path_buf(),
                column: (*metric).clone(),
                damage,
            });
        }
    }
    Ok(Decoded {
        timestamps,
        columns: group
            .iter()
            .zip(values.into_iter().zip(non_finite).zip(errors))
            .map(|((k, _, _), ((v, n), e))| (*k, e.map_or(Ok((v, n)), Err)))
            .collect(),
    })
}

fn read_parquet_long(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<std::fs::File>,
    wanted: &[String],
    time_index: usize,
    metric_index: usize,
    value_index: usize,
) -> Result<FileResult, SourceError> {
    let index: HashMap<&str, usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_str(), i))
        .collect();
    let mut stamps: Vec<Vec<i64>> = wanted.iter().map(|_| Vec::new()).collect();
    let mut values: Vec<Vec<f64>> = wanted.iter().map(|_| Vec::new()).collect();
    let mut non_finite = vec![0usize; wanted.len()];
    let metadata = Arc::clone(builder.metadata());
    if let Some(sums) =
        checksum::sums_of(&metadata).map_err(|damage| damaged_file(path, &damage))?
    {
        let bytes = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        for field in builder.schema().fields() {
            checksum::verify_column(&bytes, &metadata, &sums, field.name()).map_err(|damage| {
                SourceError::Damaged {
                    path: path.to_path_buf(),
                    column: field.name().clone(),
                    damage,
                }
            })?;
        }
    }
    let value_name = builder.schema().field(value_index).name().clone();
    let value_bounds = checksum::StatedBounds::of(&metadata, &value_name);
    let mut rows_read = 0u64;
    let reader = builder
        .with_batch_size(64 * 1024)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(path, e))?;
        let mut times = Vec::with_capacity(batch.num_rows());
        timestamps_of(path, batch.column(time_index).as_ref(), &mut times)?;
        let mut vals = Vec::with_capacity(batch.num_rows());
        values_of(batch.column(value_index).as_ref(), &mut vals).map_err(|found| {
            SourceError::WrongType {
                place: format!("`{}`", path.display()),
                column: "value".to_string(),
                found: found.to_string(),
                expected: "numbers".to_string(),
                hint: None,
            }
        })?;
        value_bounds
            .check(rows_read, &vals)
            .map_err(|damage| SourceError::Damaged {
                path: path.to_path_buf(),
                column: value_name.clone(),
                damage,
            })?;
        rows_read += vals.len() as u64;
        let value_nulls = batch.column(value_index).nulls().cloned();
        let metric_column = strings_of(batch.column(metric_index).as_ref());
        for (row, name) in metric_column.iter().enumerate() {
            let Some(&i) = name.as_deref().and_then(|n| index.get(n)) else {
                continue;
            };
            stamps[i].push(times[row]);
            values[i].push(vals[row]);
            if vals[row].is_nan() && !value_nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                non_finite[i] += 1;
            }
        }
    }
    Ok(wanted
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            let result = if stamps[i].is_empty() {
                Err(SourceError::NoColumn {
                    path: path.to_path_buf(),
                    column: metric.clone(),
                    available: Vec::new(),
                })
            } else {
                Ok(Raw {
                    timestamps: Arc::new(std::mem::take(&mut stamps[i])),
                    values: std::mem::take(&mut values[i]),
                    non_finite: non_finite[i],
                    unreadable: 0,
                    first_unreadable: None,
                })
            };
            (metric.clone(), result)
        })
        .collect())
}

/// The strings of a Utf8, LargeUtf8 or Utf8View column.
fn strings_of(column: &dyn Array) -> Vec<Option<String>> {
    use arrow_array::cast::AsArray;
    match column.data_type() {
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        DataType::Utf8View => column
            .as_string_view()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        _ => vec![None; column.len()],
    }
}
