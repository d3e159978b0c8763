//! Read throughput of the file sources (issue "real data in"): a wide CSV of
//! 1,000 metrics x 100,000 rows, and the same data as Parquet, read through
//! the real `fetch` path (parse + align onto the grid).
//!
//! Each read runs in a child process so its peak RSS is its own. Prints MB/s
//! of file bytes (CSV), GB/s of decoded values (both), and peak memory against
//! the size of the decoded data. Size: WHYLINE_BENCH_METRICS, WHYLINE_BENCH_ROWS.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use whyline_catalog::{Catalog, SourceFile};
use whyline_sources::{Options, Quiet, fetch};

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn value(row: usize, col: usize) -> f64 {
    // Six decimals, like exported monitoring data; exact to print and parse.
    ((row * 7919 + col * 104_729) % 1_000_000) as f64 / 1000.0 + col as f64
}

fn write_csv(path: &Path, metrics: usize, rows: usize) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
    let mut line = String::from("timestamp");
    for c in 0..metrics {
        let _ = write!(line, ",m{c}");
    }
    line.push('\n');
    out.write_all(line.as_bytes())?;
    for r in 0..rows {
        line.clear();
        let _ = write!(line, "{}", 1_700_000_000 + r * 60);
        for c in 0..metrics {
            let _ = write!(line, ",{}", value(r, c));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    // Flush to disk now so write-back does not compete with the timed read.
    out.get_ref().sync_all()?;
    Ok(std::fs::metadata(path)?.len())
}

fn write_parquet(path: &Path, metrics: usize, rows: usize) -> u64 {
    let mut fields = vec![Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, None),
        false,
    )];
    fields.extend((0..metrics).map(|c| Field::new(format!("m{c}"), DataType::Float64, true)));
    let schema = Arc::new(Schema::new(fields));
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(rows.div_ceil(4).max(1)))
        .build();
    let file = std::fs::File::create(path).expect("create parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
            .expect("writer");
    let chunk = 25_000;
    for start in (0..rows).step_by(chunk) {
        let end = (start + chunk).min(rows);
        let mut columns: Vec<ArrayRef> = vec![Arc::new(TimestampMillisecondArray::from(
            (start..end)
                .map(|r| (1_700_000_000 + r as i64 * 60) * 1000)
                .collect::<Vec<_>>(),
        ))];
        for c in 0..metrics {
            columns.push(Arc::new(Float64Array::from(
                (start..end).map(|r| value(r, c)).collect::<Vec<_>>(),
            )));
        }
        writer
            .write(&RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch"))
            .expect("write");
    }
    writer.close().expect("close");
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .expect("sync");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn catalog(metrics: usize) -> Catalog {
    let mut text = String::from("version: 1\nmetrics:\n");
    for c in 0..metrics {
        let _ = writeln!(text, "  - {{ id: m{c}, layer: system }}");
    }
    whyline_catalog::parse(vec![SourceFile {
        path: PathBuf::from("bench.yaml"),
        text,
    }])
    .catalog
}

/// Child mode: read the file, check a few values, print "seconds points".
fn child(path: &Path, metrics: usize, rows: usize) {
    let catalog = catalog(metrics);
    let ids: Vec<String> = (0..metrics).map(|c| format!("m{c}")).collect();
    let options = Options {
        data_file: Some(path.to_path_buf()),
        ..Options::default()
    };
    let started = Instant::now();
    let data = fetch(&catalog, &ids, &options, &Quiet);
    let seconds = started.elapsed().as_secs_f64();
    assert!(data.missing.is_empty(), "{:?}", data.missing.first());
    for c in [0, metrics / 2, metrics - 1] {
        let series = data.get(&format!("m{c}")).expect("series");
        assert_eq!(series.values.len(), rows);
        for r in [0, rows / 3, rows - 1] {
            assert_eq!(series.values[r], value(r, c), "m{c} row {r}");
        }
    }
    println!("{seconds} {}", metrics * rows);
}

/// Median time and largest peak RSS over three runs.
fn measure(kind: &str, path: &Path, metrics: usize, rows: usize) -> (f64, f64) {
    let mut runs: Vec<(f64, f64)> = (0..3)
        .map(|_| measure_once(kind, path, metrics, rows))
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let peak = runs.iter().map(|r| r.1).fold(0.0, f64::max);
    println!(
        "    runs: {}",
        runs.iter()
            .map(|r| format!("{:.2} s", r.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    (runs[1].0, peak)
}

// The child is reaped with wait4 (to read its own rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn measure_once(kind: &str, path: &Path, metrics: usize, rows: usize) -> (f64, f64) {
    let child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--child",
            &path.display().to_string(),
            &metrics.to_string(),
            &rows.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).expect("read child output");
    // wait4 gives this child's own peak RSS, unlike RUSAGE_CHILDREN.
    // SAFETY: wait4 only writes into the status and rusage we pass.
    let (status, peak_kib) = unsafe {
        let mut status = 0;
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::wait4(pid, &mut status, 0, &mut usage);
        (status, usage.ru_maxrss)
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{kind} child failed"
    );
    let seconds: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("seconds");
    (seconds, peak_kib as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "--write-parquet" {
        write_parquet(
            Path::new(&args[2]),
            args[3].parse().expect("metrics"),
            args[4].parse().expect("rows"),
        );
        return;
    }
    if args.len() == 5 && args[1] == "--child" {
        child(
            Path::new(&args[2]),
            args[3].parse().expect("metrics"),
            args[4].parse().expect("rows"),
        );
        return;
    }
    let metrics = size("WHYLINE_BENCH_METRICS", 1_000);
    let rows = size("WHYLINE_BENCH_ROWS", 100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let decoded_mb = (metrics * rows * 8) as f64 / 1e6;

    let csv = dir.path().join("wide.csv");
    let t = Instant::now();
    let csv_bytes = write_csv(&csv, metrics, rows).expect("write csv");
    println!("read_files: {metrics} metrics x {rows} rows; decoded values {decoded_mb:.0} MB");
    println!(
        "  wide CSV: {:.0} MB on disk (written in {:.1?})",
        csv_bytes as f64 / 1e6,
        t.elapsed()
    );
    let (seconds, peak) = measure("csv", &csv, metrics, rows);
    println!(
        "  CSV read:     median {seconds:.2} s, {:.0} MB/s of file, {:.2} GB/s of values, peak RSS {peak:.0} MiB ({:.2}x the decoded data) [target >= 200 MB/s, <= 2x]",
        csv_bytes as f64 / 1e6 / seconds,
        decoded_mb / 1e3 / seconds,
        peak * 1.048576 / decoded_mb
    );
    std::fs::remove_file(&csv).ok();

    let parquet = dir.path().join("wide.parquet");
    let t = Instant::now();
    let parquet_bytes = write_parquet(&parquet, metrics, rows);
    println!(
        "  Parquet (snappy): {:.0} MB on disk (written in {:.1?})",
        parquet_bytes as f64 / 1e6,
        t.elapsed()
    );
    let (seconds, peak) = measure("parquet", &parquet, metrics, rows);
    println!(
        "  Parquet read: median {seconds:.2} s, {:.2} GB/s of decoded values, peak RSS {peak:.0} MiB ({:.2}x the decoded data) [target >= 1 GB/s, <= 2x]",
        decoded_mb / 1e3 / seconds,
        peak * 1.048576 / decoded_mb
    );
}
