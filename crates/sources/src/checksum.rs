//! Integrity of Parquet files: column-chunk checksums in what whyline writes,
//! and the footer's own min/max statistics for files from elsewhere.
//!
//! The Parquet format has an optional CRC-32 per page (`PageHeader.crc`), but
//! the `parquet` crate cannot write it yet (it verifies it when present, with
//! the `crc` feature, which is on). So `pull` stores a CRC-32 (IEEE, the one
//! the format uses) of every column chunk's bytes in the footer's key-value
//! metadata, and the reader checks the chunks it decodes against it. For a
//! file without those sums, only what the format itself states is used: a
//! decoded value outside its column chunk's `min_value`/`max_value` cannot
//! be right, so the column is refused; nothing else is guessed.

use std::fs::File;
use std::os::unix::fs::FileExt;

use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::statistics::Statistics;

/// The footer key holding whyline's column-chunk checksums.
pub const KEY: &str = "whyline.column_chunk_crc32";

/// The CRC-32 of each column chunk, by row group and column path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSums {
    sums: Vec<(usize, String, u32)>,
}

impl ChunkSums {
    /// The sums as the footer stores them: JSON `[[row_group, "column", crc32], ...]`.
    pub fn to_metadata(&self) -> String {
        serde_json::Value::Array(
            self.sums
                .iter()
                .map(|(group, column, crc)| serde_json::json!([group, column, crc]))
                .collect(),
        )
        .to_string()
    }

    /// Reads the footer's value back; `None` when it is not what `to_metadata` writes.
    pub fn from_metadata(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let sums = value
            .as_array()?
            .iter()
            .map(|entry| {
                let group = usize::try_from(entry.get(0)?.as_u64()?).ok()?;
                let column = entry.get(1)?.as_str()?.to_string();
                let crc = u32::try_from(entry.get(2)?.as_u64()?).ok()?;
                Some((group, column, crc))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { sums })
    }

    fn expected(&self, group: usize, column: &str) -> Option<u32> {
        self.sums
            .iter()
            .find(|(g, c, _)| *g == group && c == column)
            .map(|(_, _, crc)| *crc)
    }
}

/// Where a column chunk lies in the file, checked (the crate's own accessor
/// panics on the negative offsets a damaged footer can hold).
fn chunk_range(group: &RowGroupMetaData, column: usize) -> Option<(u64, usize)> {
    let chunk = group.column(column);
    let start = chunk
        .dictionary_page_offset()
        .unwrap_or_else(|| chunk.data_page_offset());
    let start = u64::try_from(start).ok()?;
    let len = usize::try_from(chunk.compressed_size()).ok()?;
    Some((start, len))
}

fn crc_of(file: &File, start: u64, len: usize) -> std::io::Result<u32> {
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, start)?;
    Ok(crc32fast::hash(&bytes))
}

/// Checksums every column chunk of `groups`, read back from `file`.
pub fn column_chunk_sums(file: &File, groups: &[RowGroupMetaData]) -> std::io::Result<ChunkSums> {
    let mut sums = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for c in 0..group.num_columns() {
            let (start, len) = chunk_range(group, c).ok_or_else(|| {
                std::io::Error::other("a column chunk has a negative offset or size")
            })?;
            sums.push((
                g,
                group.column(c).column_path().string(),
                crc_of(file, start, len)?,
            ));
        }
    }
    Ok(ChunkSums { sums })
}

/// Why a column of a Parquet file is not to be trusted.
#[derive(Debug, Clone, PartialEq)]
pub enum Damage {
    /// The chunk's bytes do not match the checksum written with them.
    Checksum {
        /// 0-based row group.
        row_group: usize,
    },
    /// The footer says the file has checksums but they cannot be read.
    UnreadableSums,
    /// The file has checksums, but none for this chunk.
    MissingSum {
        /// 0-based row group.
        row_group: usize,
    },
    /// Decoded values lie outside the chunk's own min/max statistics.
    OutsideStatistics {
        /// 0-based row group.
        row_group: usize,
        /// How many values.
        count: usize,
        /// The first of them, and its 1-based row in the file.
        first: (f64, u64),
        /// The chunk's minimum and maximum.
        range: (f64, f64),
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Checksum { row_group } => write!(
                f,
                "row group {row_group}: the bytes do not match the checksum written with them (the file is damaged: pull it again)"
            ),
            Damage::UnreadableSums => write!(
                f,
                "the file's `{KEY}` footer entry is unreadable, so its data cannot be checked (pull it again)"
            ),
            Damage::MissingSum { row_group } => write!(
                f,
                "row group {row_group} has no checksum although the file carries checksums (the file was altered: pull it again)"
            ),
            Damage::OutsideStatistics {
                row_group,
                count,
                first: (value, row),
                range: (min, max),
            } => write!(
                f,
                "row group {row_group}: {count} decoded value(s) lie outside the range {min} to {max} that the file's own statistics give (first: {value} at row {row}); the file is damaged"
            ),
        }
    }
}

/// The checksums a file carries, if any: `Err` when the entry is there but unreadable.
pub fn sums_of(metadata: &ParquetMetaData) -> Result<Option<ChunkSums>, Damage> {
    let Some(entry) = metadata
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == KEY))
    else {
        return Ok(None);
    };
    entry
        .value
        .as_deref()
        .and_then(ChunkSums::from_metadata)
        .map(Some)
        .ok_or(Damage::UnreadableSums)
}

/// Checks every row group's chunk of the leaf column `column` against `sums`.
pub fn verify_column(
    file: &File,
    metadata: &ParquetMetaData,
    sums: &ChunkSums,
    column: &str,
) -> Result<(), Damage> {
    for (g, group) in metadata.row_groups().iter().enumerate() {
        let Some(c) =
            (0..group.num_columns()).find(|&c| group.column(c).column_path().string() == column)
        else {
            continue;
        };
        let expected = sums
            .expected(g, column)
            .ok_or(Damage::MissingSum { row_group: g })?;
        let actual = chunk_range(group, c).and_then(|(start, len)| crc_of(file, start, len).ok());
        if actual != Some(expected) {
            return Err(Damage::Checksum { row_group: g });
        }
    }
    Ok(())
}

/// The per-row-group bounds the footer states for a leaf column: the first
/// row of each group (0-based) and its chunk's (min, max) when known.
#[derive(Debug, Clone, Default)]
pub struct StatedBounds {
    groups: Vec<GroupBounds>,
}

/// A row group's rows `[start, end)` and its chunk's (min, max) when stated.
type GroupBounds = (u64, u64, Option<(f64, f64)>);

impl StatedBounds {
    /// Reads the bounds of `column` from the footer. Only `min_value`/`max_value`
    /// (typed order) are used, never the deprecated signed `min`/`max`.
    pub fn of(metadata: &ParquetMetaData, column: &str) -> Self {
        let mut start = 0u64;
        let mut groups = Vec::new();
        for group in metadata.row_groups() {
            let rows = u64::try_from(group.num_rows()).unwrap_or(0);
            let bounds = (0..group.num_columns())
                .find(|&c| group.column(c).column_path().string() == column)
                .and_then(|c| group.column(c).statistics())
                .filter(|s| !s.is_min_max_deprecated())
                .and_then(numeric_bounds);
            groups.push((start, start + rows, bounds));
            start += rows;
        }
        Self { groups }
    }

    /// Checks values decoded from row `first_row` (0-based) on; NaN (nulls,
    /// non-finite values) is not compared, as statistics leave it out.
    pub fn check(&self, first_row: u64, values: &[f64]) -> Result<(), Damage> {
        for (g, (start, end, bounds)) in self.groups.iter().enumerate() {
            let Some((min, max)) = *bounds else { continue };
            let from = start.saturating_sub(first_row);
            let to = end.saturating_sub(first_row).min(values.len() as u64);
            if *end <= first_row || from >= to {
                continue;
            }
            let slice = &values[from as usize..to as usize];
            let mut outside = slice
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_nan() && (**v < min || **v > max));
            if let Some((i, v)) = outside.next() {
                return Err(Damage::OutsideStatistics {
                    row_group: g,
                    count: 1 + outside.count(),
                    first: (*v, first_row + from + i as u64 + 1),
                    range: (min, max),
                });
            }
        }
        Ok(())
    }
}

/// A numeric chunk's (min, max) as f64; casting keeps order, so a value
/// within the integer bounds stays within the cast ones.
fn numeric_bounds(stats: &Statistics) -> Option<(f64, f64)> {
    match stats {
        Statistics::Double(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        Statistics::Float(s) => Some((f64::from(*s.min_opt()?), f64::from(*s.max_opt()?))),
        #[allow(clippy::cast_precision_loss)]
        Statistics::Int64(s) => Some((*s.min_opt()? as f64, *s.max_opt()? as f64)),
        Statistics::Int32(s) => Some((f64::from(*s.min_opt()?), f64::from(*s.max_opt()?))),
        _ => None,
    }
    .filter(|(min, max)| min <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_survive_the_footer_and_garbage_does_not_parse() {
        let sums = ChunkSums {
            sums: vec![
                (0, "timestamp".into(), 7),
                (0, "cpu \"x\"".into(), u32::MAX),
            ],
        };
        assert_eq!(ChunkSums::from_metadata(&sums.to_metadata()), Some(sums));
        assert_eq!(ChunkSums::from_metadata("[[0, \"a\"]]"), None);
        assert_eq!(ChunkSums::from_metadata("[[0, \"a\", 4294967296]]"), None);
        assert_eq!(ChunkSums::from_metadata("not json"), None);
    }

    #[test]
    fn values_outside_a_groups_statistics_are_found_with_their_row() {
        let bounds = StatedBounds {
            groups: vec![
                (0, 3, Some((0.0, 1.0))),
                (3, 6, None),
                (6, 9, Some((-1.0, 2.0))),
            ],
        };
        assert_eq!(
            bounds.check(0, &[0.0, f64::NAN, 1.0, 99.0, 5.0, 7.0, 2.0]),
            Ok(())
        );
        assert_eq!(
            bounds.check(0, &[0.0, 4.86e-33, 1.5, 9.0, 9.0, 9.0, 3.0, -2.0]),
            Err(Damage::OutsideStatistics {
                row_group: 0,
                count: 1,
                first: (1.5, 3),
                range: (0.0, 1.0)
            })
        );
        // A batch that starts inside the third group.
        assert_eq!(
            bounds.check(7, &[3.0, -5.0]),
            Err(Damage::OutsideStatistics {
                row_group: 2,
                count: 2,
                first: (3.0, 8),
                range: (-1.0, 2.0)
            })
        );
    }
}
