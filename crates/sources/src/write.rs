//! Writing a data set as one wide Parquet file (`whyline pull`), atomically.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::DataSet;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Nothing to write.
    #[error("no metric could be read, so there is nothing to write")]
    Empty,
    /// File system trouble.
    #[error("cannot write `{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        message: String,
    },
}

/// Writes `data` to `path` as `timestamp` (UTC ms) + one Float64 column per
/// metric, with `metadata` as Parquet key-value pairs. The file appears whole
/// or not at all: it is written beside the target and renamed over it.
pub fn write_parquet(
    path: &Path,
    data: &DataSet,
    metadata: &[(&str, String)],
) -> Result<(), WriteError> {
    let io = |e: &dyn std::fmt::Display| WriteError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let Some(grid) = data.grid else {
        return Err(WriteError::Empty);
    };
    if data.series.is_empty() {
        return Err(WriteError::Empty);
    }
    let mut fields = vec![Field::new(
        "timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        false,
    )];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from((0..grid.len).map(|i| grid.time(i)).collect::<Vec<_>>())
            .with_timezone("UTC"),
    )];
    for (id, series) in &data.series {
        fields.push(Field::new(id, DataType::Float64, true));
        columns.push(Arc::new(
            series
                .values
                .iter()
                .map(|v| (!v.is_nan()).then_some(*v))
                .collect::<Float64Array>(),
        ));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| io(&e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_key_value_metadata(Some(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new((*k).to_string(), v.clone()))
                .collect(),
        ))
        .build();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data.parquet".into());
    let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        // Read as well as written: the checksums are taken from the bytes on disk.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| io(&e))?;
        let written = file.try_clone().map_err(|e| io(&e))?;
        let mut writer =
            ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| io(&e))?;
        writer.write(&batch).map_err(|e| io(&e))?;
        // The row groups are on disk before the footer is written, so their
        // column chunks can be checksummed and the sums put in that footer.
        writer.flush().map_err(|e| io(&e))?;
        writer.sync().map_err(|e| io(&e))?;
        let sums = crate::checksum::column_chunk_sums(&written, writer.flushed_row_groups())
            .map_err(|e| io(&e))?;
        writer.append_key_value_metadata(KeyValue::new(
            crate::checksum::KEY.to_string(),
            sums.to_metadata(),
        ));
        let file = writer.into_inner().map_err(|e| io(&e))?;
        file.sync_all().map_err(|e| io(&e))?;
        std::fs::rename(&temp, path).map_err(|e| io(&e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
