//! CSV and Parquet files, wide and long: values, repairs, gaps and the errors
//! a user meets (with line and column).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use whyline_catalog::{Catalog, SourceFile, parse};
use whyline_series::Repairs;
use whyline_sources::{DataSet, Options, Quiet, SourceError, fetch};

fn catalog(metrics: &str) -> Catalog {
    let checked = parse(vec![SourceFile {
        path: PathBuf::from("t.yaml"),
        text: format!("version: 1\nmetrics:\n{metrics}"),
    }]);
    assert!(checked.is_valid(), "{:#?}", checked.diagnostics);
    checked.catalog
}

const METRICS: &str = "  - { id: cpu, layer: system }\n  - { id: latency, layer: service }\n  - { id: deploys, layer: system, aggregate: sum }\n";

fn read(path: &Path, ids: &[&str]) -> DataSet {
    read_at(path, ids, None)
}

fn read_at(path: &Path, ids: &[&str], step_ms: Option<i64>) -> DataSet {
    let options = Options {
        data_file: Some(path.to_path_buf()),
        step_ms,
        ..Options::default()
    };
    fetch(
        &catalog(METRICS),
        &ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &options,
        &Quiet,
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn error_of(data: &DataSet, id: &str) -> SourceError {
    data.missing
        .iter()
        .find(|m| m.metric == id)
        .map(|m| m.error.clone())
        .unwrap_or_else(|| panic!("{id} is not missing"))
}

/// A warehouse's daily export writes bare dates: each is its day's midnight UTC
/// (issue #14: one grammar of times, the same as every flag's).
#[test]
fn a_daily_csv_with_bare_dates_reads_on_a_one_day_grid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "daily.csv",
        b"timestamp,cpu\n2026-03-01,0.5\n2026-03-02,0.6\n2026-03-03,0.7\n",
    );
    let data = read(&path, &["cpu"]);
    assert!(data.missing.is_empty(), "{:?}", data.missing);
    let grid = data.grid.expect("grid");
    assert_eq!((grid.step, grid.len), (86_400_000, 3));
    assert_eq!(grid.start, 1_772_323_200_000); // 2026-03-01T00:00:00Z
    assert_eq!(data.get("cpu").expect("cpu").values, vec![0.5, 0.6, 0.7]);
}

#[test]
fn wide_csv_with_rfc3339_and_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "shop.csv",
        b"timestamp,cpu,latency\n2026-03-02T20:00:00Z,0.5,100\n2026-03-02T20:01:00Z,,110\n2026-03-02T20:03:00Z,0.7,130\n",
    );
    let data = read(&path, &["cpu", "latency"]);
    assert!(data.missing.is_empty(), "{:?}", data.missing);
    let grid = data.grid.expect("grid");
    assert_eq!((grid.step, grid.len), (60_000, 4));
    let cpu = data.get("cpu").expect("cpu");
    assert_eq!(cpu.values[0], 0.5);
    assert!(
        cpu.values[1].is_nan() && cpu.values[2].is_nan(),
        "an empty cell and a missing row are gaps"
    );
    assert_eq!(cpu.values[3], 0.7);
    assert_eq!(
        data.get("latency").expect("latency").gaps(),
        vec![2..3_usize]
    );
}

#[test]
fn long_csv_with_unix_seconds_repairs_and_aggregation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "long.csv",
        b"timestamp,metric,value\n120,cpu,3\n0,cpu,1\n60,cpu,2\n60,cpu,2.5\n180,cpu,NaN\n0,deploys,1\n30,deploys,1\n0,other,9\n",
    );
    // Without a step the grid takes the finest step of the data (30 s here).
    assert_eq!(
        read(&path, &["cpu", "deploys"]).grid.map(|g| g.step),
        Some(30_000)
    );
    let data = read_at(&path, &["cpu", "deploys"], Some(60_000));
    assert!(data.missing.is_empty(), "{:?}", data.missing);
    let cpu = data.get("cpu").expect("cpu");
    assert_eq!(
        &cpu.values[..3],
        [1.0, 2.5, 3.0],
        "sorted; the last duplicate wins"
    );
    assert_eq!(
        data.repairs["cpu"],
        Repairs {
            out_of_order: 1,
            duplicates: 1,
            non_finite: 1,
            unreadable: 0,
            first_unreadable: None,
        }
    );
    assert_eq!(
        data.get("deploys").expect("deploys").values[0],
        2.0,
        "`aggregate: sum` adds the points of a bucket"
    );
}

#[test]
fn malformed_csv_errors_name_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "bad.csv",
        b"timestamp,cpu,latency\n0,0.5,100\n60,high,110\n120,0.6\n",
    );
    let data = read(&path, &["cpu"]);
    assert_eq!(
        error_of(&data, "cpu").to_string(),
        format!(
            "{}:4: the row has 2 fields but the header has 3",
            path.display()
        )
    );

    let path = write(
        dir.path(),
        "cell.csv",
        b"timestamp,cpu,latency\n0,0.5,100\n60,high,110\n",
    );
    let data = read(&path, &["cpu", "latency"]);
    // A bad cell is a hole, named at its place; the rest of the column is read.
    assert_eq!(data.repairs["cpu"].unreadable, 1);
    assert_eq!(
        data.repairs["cpu"].first_unreadable.as_deref(),
        Some(format!("{}:3:2: `high` is not a number", path.display()).as_str())
    );
    let cpu = data.get("cpu").expect("the column is read");
    assert_eq!(cpu.values[0], 0.5);
    assert!(cpu.values[1].is_nan(), "the bad cell is a hole");
    assert!(
        data.get("latency").is_some(),
        "a bad cell in one column leaves the others readable"
    );

    let path = write(dir.path(), "time.csv", b"timestamp,cpu\nyesterday,1\n");
    assert_eq!(
        error_of(&read(&path, &["cpu"]), "cpu").to_string(),
        format!(
            "{}:2:1: `yesterday` is not a timestamp: write RFC 3339 (2026-03-02T20:57:00Z) or Unix seconds",
            path.display()
        )
    );

    let path = write(dir.path(), "header.csv", b"time,cpu\n0,1\n");
    assert!(
        error_of(&read(&path, &["cpu"]), "cpu")
            .to_string()
            .contains(":1:1: the first column is `time`; write `timestamp`")
    );
}

#[test]
fn non_utf8_empty_and_missing_inputs_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "latin1.csv", b"timestamp,cpu\n0,0\xe9\n");
    assert_eq!(
        error_of(&read(&path, &["cpu"]), "cpu").to_string(),
        format!("{}:2:2: the cell is not UTF-8 text", path.display())
    );

    let path = write(dir.path(), "empty.csv", b"");
    assert!(
        error_of(&read(&path, &["cpu"]), "cpu")
            .to_string()
            .contains("the file is empty")
    );

    let path = write(dir.path(), "only_header.csv", b"timestamp,cpu\n");
    let data = read(&path, &["cpu"]);
    assert!(data.grid.is_none() && data.series.is_empty());
    // Said, not silent: `why` once printed an empty reason for such a file.
    assert_eq!(
        error_of(&data, "cpu").to_string(),
        format!(
            "{}:2: the header is followed by no rows: the file holds no data",
            path.display()
        )
    );

    let path = write(dir.path(), "cols.csv", b"timestamp,cpu\n0,1\n");
    assert_eq!(
        error_of(&read(&path, &["latency"]), "latency").to_string(),
        format!("`{}` has no column `latency` (it has: cpu)", path.display())
    );
    let data = read(&dir.path().join("nowhere.csv"), &["cpu"]);
    assert!(matches!(error_of(&data, "cpu"), SourceError::Io { .. }));
}

fn write_parquet(path: &Path, batch: RecordBatch) {
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

#[test]
fn wide_parquet_reads_timestamps_nulls_and_integer_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wide.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("cpu", DataType::Float64, true),
        Field::new("latency", DataType::Int64, true),
        Field::new("deploys", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from(vec![0, 60_000, 120_000]).with_timezone("UTC")),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            None,
            Some(f64::INFINITY),
        ])),
        Arc::new(Int64Array::from(vec![100, 110, 120])),
        Arc::new(StringArray::from(vec!["a", "b", "c"])),
    ];
    write_parquet(&path, RecordBatch::try_new(schema, columns).expect("batch"));
    let data = read(&path, &["cpu", "latency", "deploys"]);
    let cpu = data.get("cpu").expect("cpu");
    assert_eq!(cpu.values[0], 0.5);
    assert!(cpu.values[1].is_nan() && cpu.values[2].is_nan());
    assert_eq!(
        data.repairs["cpu"].non_finite, 1,
        "a null is a gap, +Inf is a repair"
    );
    assert_eq!(
        data.get("latency").expect("latency").values,
        [100.0, 110.0, 120.0]
    );
    assert!(
        error_of(&data, "deploys")
            .to_string()
            .contains("holds Utf8, not numbers"),
        "{}",
        error_of(&data, "deploys")
    );
}

#[test]
fn long_parquet_with_unix_seconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![0, 0, 60, 60])),
        Arc::new(StringArray::from(vec!["cpu", "latency", "cpu", "latency"])),
        Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(10.0),
            Some(f64::NAN),
            None,
        ])),
    ];
    write_parquet(&path, RecordBatch::try_new(schema, columns).expect("batch"));
    let data = read(&path, &["cpu", "latency"]);
    assert_eq!(data.get("cpu").expect("cpu").values[0], 1.0);
    assert_eq!(data.repairs["cpu"].non_finite, 1);
    assert!(
        !data.repairs.contains_key("latency"),
        "a null value is a gap, not a repair"
    );
}

#[test]
fn pulled_parquet_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write(
        dir.path(),
        "shop.csv",
        b"timestamp,cpu,latency\n0,0.5,100\n60,0.25,\n120,0.125,120\n",
    );
    let data = read(&csv, &["cpu", "latency"]);
    let out = dir.path().join("frozen.parquet");
    whyline_sources::write::write_parquet(&out, &data, &[("whyline.step", "60s".to_string())])
        .expect("write");
    let again = read(&out, &["cpu", "latency"]);
    assert_eq!(again.get("cpu"), data.get("cpu"));
    let latency = again.get("latency").expect("latency");
    assert!(latency.values[1].is_nan());
    assert_eq!(latency.values[2], 120.0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind");
}

/// Files over 8 MiB are read in parallel byte ranges: values, line numbers in
/// errors and quoted fields must come out as if read from the top.
#[test]
fn large_csv_read_in_parallel_keeps_order_and_line_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = 500_000;
    let mut text = String::with_capacity(rows * 30);
    text.push_str("timestamp,cpu,latency\n");
    for r in 0..rows {
        text.push_str(&format!("{},{},{}\n", r * 60, r as f64 * 0.5, r % 1000));
    }
    assert!(
        text.len() > 8 << 20,
        "big enough to be split: {}",
        text.len()
    );
    let path = write(dir.path(), "big.csv", text.as_bytes());
    let data = read(&path, &["cpu", "latency"]);
    assert!(data.missing.is_empty(), "{:?}", data.missing);
    let cpu = data.get("cpu").expect("cpu");
    assert_eq!(cpu.values.len(), rows);
    assert!(
        cpu.values
            .iter()
            .enumerate()
            .all(|(r, v)| *v == r as f64 * 0.5),
        "rows stay in order"
    );

    // A bad cell in the last quarter: its line number counts every earlier line.
    let bad_row = rows * 7 / 8;
    let broken = text.replacen(
        &format!("\n{},{},", bad_row * 60, bad_row as f64 * 0.5),
        &format!("\n{},oops,", bad_row * 60),
        1,
    );
    let path = write(dir.path(), "broken.csv", broken.as_bytes());
    let data = read(&path, &["cpu", "latency"]);
    assert_eq!(
        data.repairs["cpu"].first_unreadable.as_deref(),
        Some(
            format!(
                "{}:{}:2: `oops` is not a number",
                path.display(),
                bad_row + 2
            )
            .as_str()
        )
    );
    assert_eq!(data.repairs["cpu"].unreadable, 1);
    assert_eq!(data.get("latency").map(|s| s.values.len()), Some(rows));

    // A quoted field anywhere makes the reader fall back to one pass.
    let quoted = text.replacen("\n0,0,0\n", "\n0,\"0\",0\n", 1);
    let path = write(dir.path(), "quoted.csv", quoted.as_bytes());
    let data = read(&path, &["cpu"]);
    assert_eq!(
        data.get("cpu").map(|s| s.values.len()),
        Some(rows),
        "{:?}",
        data.missing
    );
}

#[test]
fn a_stray_timestamp_does_not_allocate_gigabytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "stray.csv",
        b"timestamp,cpu\n1970-01-01T00:00:00Z,1\n2026-03-02T20:00:00Z,2\n2026-03-02T20:00:01Z,3\n",
    );
    let data = read(&path, &["cpu"]);
    let error = error_of(&data, "cpu");
    assert!(
        matches!(error, SourceError::TooManyPoints { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the data spans 1970-01-01T00:00:00Z to 2026-03-02T20:00:01.001Z"),
        "{error}"
    );
}

/// Overwrites `len` bytes in the middle of `column`'s chunk in row group 0
/// with a fixed pattern; returns where the chunk is.
fn damage_chunk(path: &Path, column: &str, len: usize) {
    use parquet::file::reader::FileReader;
    use std::os::unix::fs::FileExt;
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(path).expect("open"))
            .expect("parquet");
    let group = reader.metadata().row_group(0);
    let chunk = (0..group.num_columns())
        .map(|c| group.column(c))
        .find(|c| c.column_path().string() == column)
        .expect("column");
    let (start, size) = chunk.byte_range();
    let len = len.min(size as usize / 2);
    let at = start + size / 2 - len as u64 / 2;
    let pattern: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for writing")
        .write_all_at(&pattern, at)
        .expect("damage");
}

/// `rows` minutes of two metrics, as a pulled file holds them.
fn minutes(rows: usize) -> String {
    let mut csv = String::from("timestamp,cpu,latency\n");
    for i in 0..rows {
        let cpu = 0.4 + 0.3 * ((i as f64) / 17.0).sin();
        let latency = 150.0 + 40.0 * ((i as f64) / 23.0).cos();
        csv.push_str(&format!("{},{cpu:.6},{latency:.3}\n", i * 60));
    }
    csv
}

#[test]
fn pulled_parquet_with_a_damaged_chunk_is_refused_by_its_checksum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write(dir.path(), "shop.csv", minutes(2000).as_bytes());
    let data = read(&csv, &["cpu", "latency"]);
    let out = dir.path().join("frozen.parquet");
    whyline_sources::write::write_parquet(&out, &data, &[]).expect("write");
    assert_eq!(read(&out, &["cpu", "latency"]).get("cpu"), data.get("cpu"));
    damage_chunk(&out, "cpu", 400);
    let again = read(&out, &["cpu", "latency"]);
    let error = error_of(&again, "cpu");
    assert!(
        matches!(
            &error,
            SourceError::Damaged { column, damage: whyline_sources::checksum::Damage::Checksum { row_group: 0 }, .. } if column == "cpu"
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("frozen.parquet`, column `cpu`, row group 0:"),
        "{error}"
    );
    assert_eq!(
        again.get("latency"),
        data.get("latency"),
        "an intact column of the same file is still read"
    );
}

#[test]
fn a_foreign_file_whose_values_leave_its_statistics_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("foreign.parquet");
    let rows = 2000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("cpu", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(
            (0..rows).map(|i| i * 60).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            (0..rows)
                .map(|i| 100.0 + (i % 100) as f64)
                .collect::<Vec<_>>(),
        )),
    ];
    // Plain and uncompressed, as some writers leave it: damaged bytes then
    // decode to numbers instead of failing to decompress.
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .build();
    let file = std::fs::File::create(&path).expect("create");
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).expect("batch");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, schema, Some(properties)).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    assert!(
        read(&path, &["cpu"]).get("cpu").is_some(),
        "the intact file reads"
    );
    damage_chunk(&path, "cpu", 400);
    let error = error_of(&read(&path, &["cpu"]), "cpu");
    match &error {
        SourceError::Damaged {
            damage:
                whyline_sources::checksum::Damage::OutsideStatistics {
                    row_group: 0,
                    count,
                    range: (min, max),
                    ..
                },
            ..
        } => {
            assert!(
                *count > 0 && *count <= 50,
                "400 bytes are at most 50 values: {count}"
            );
            assert_eq!((*min, *max), (100.0, 199.0));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().contains("column `cpu`, row group 0:"),
        "{error}"
    );
}
