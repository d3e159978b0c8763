//! What several commands share: refusing an invalid catalog, reading the
//! period's data, and indexing series by catalog position.

use std::collections::HashMap;

use whyline_catalog::{Catalog, Checked, SourceSpec};
use whyline_series::{Grid, TimeRange};
use whyline_sources::{DataSet, Options, fetch};

use crate::{Outcome, diagnostics, pull};

/// "no metric `ID` in the catalog", with the closest id when one is close.
pub(crate) fn no_such_metric(catalog: &Catalog, id: &str) -> String {
    let hint = whyline_catalog::diagnostic::did_you_mean(
        id,
        catalog.metrics.iter().map(|m| m.id.as_str()),
    )
    .map(|s| format!(": did you mean `{s}`?"))
    .unwrap_or_default();
    format!("no metric `{id}` in the catalog{hint}")
}

/// Draws the diagnostics of an invalid catalog and says to fix it first.
pub(crate) fn require_valid(checked: &Checked) -> Result<(), Outcome> {
    if checked.is_valid() {
        return Ok(());
    }
    eprint!(
        "{}",
        diagnostics::render_human(&checked.catalog, &checked.diagnostics)
    );
    eprintln!("error: the catalog is invalid; fix it first (see `whyline check`)");
    Err(Outcome::Invalid)
}

/// Whether the data read is history in files: `--data`, or a catalog whose
/// every source is a CSV or Parquet file. A relative period (`--since` alone)
/// then ends at the data's last point, not the clock: a file is often not recent.
pub(crate) fn reads_history(catalog: &Catalog, data: Option<&std::path::Path>) -> bool {
    data.is_some()
        || (!catalog.metrics.is_empty()
            && catalog.metrics.iter().all(|m| {
                matches!(
                    m.source,
                    Some(SourceSpec::Csv { .. } | SourceSpec::Parquet { .. })
                )
            }))
}

/// The window of `--since` [`--to`], or `None` (all the data of a file).
pub(crate) fn period(
    from: Option<i64>,
    to: Option<i64>,
    since: Option<i64>,
    data_file: bool,
) -> Result<Period, Outcome> {
    let fail = |e: String| {
        eprintln!("error: {e}");
        Outcome::Invalid
    };
    match (from, to, since) {
        // Nothing given: a file is read whole (network sources need a window).
        (None, None, None) => Ok(Period::default()),
        // `--to` alone: a file up to that time; a network source needs a start.
        (None, Some(end), None) if data_file => Ok(Period {
            range: None,
            until: Some(end),
            last: None,
        }),
        // `--since` alone with a file: the file's last DURATION. A file is
        // history, often not recent: "the last 6h" of it, not of the clock.
        (None, None, Some(length)) if data_file => Ok(Period {
            range: None,
            until: None,
            last: Some(length),
        }),
        (None, Some(_), None) => Err(fail(
            "--to alone leaves the window open at its start: give --since DURATION (or --from TIME) too"
                .to_string(),
        )),
        _ => pull::window(from, to, since)
            .map(|range| Period {
                range: Some(range),
                until: None,
                last: None,
            })
            .map_err(fail),
    }
}

/// The window the flags ask for: a range to read, or (for a file with `--to`
/// alone) the whole file up to a time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Period {
    pub(crate) range: Option<TimeRange>,
    /// Keep only the points before this time (Unix ms), as a window's end.
    pub(crate) until: Option<i64>,
    /// Keep only this length (ms) up to the data's last point.
    pub(crate) last: Option<i64>,
}

impl Period {
    /// `data` (read for `range`) cut to the rest of the period: `until`, then `last`.
    pub(crate) fn cut(&self, data: DataSet) -> DataSet {
        let data = match self.until {
            Some(end) => until(data, end),
            None => data,
        };
        match self.last {
            Some(length) => last(data, length),
            None => data,
        }
    }
}

/// Reads every metric of the catalog for the period; an error when nothing could be read.
pub(crate) fn fetch_all(
    catalog: &Catalog,
    period: Period,
    data_file: Option<std::path::PathBuf>,
    deadline: std::time::Duration,
) -> Result<(DataSet, Grid), Outcome> {
    let range = period.range;
    let ids: Vec<String> = catalog.metrics.iter().map(|m| m.id.clone()).collect();
    let data = fetch(
        catalog,
        &ids,
        &Options {
            range,
            data_file,
            deadline,
            ..Options::default()
        },
        &crate::progress::Waiting::new("reading", deadline),
    );
    let data = period.cut(data);
    match data.grid {
        // Nothing read at all is no basis for an audit or a report.
        Some(grid) if !data.series.is_empty() => Ok((data, grid)),
        _ => {
            if data.missing.is_empty() {
                eprintln!(
                    "error: no data could be read; give --data FILE, or a window for the catalog's sources"
                );
            } else {
                eprintln!("error: no metric could be read, so there is nothing to judge");
            }
            for line in missing_lines(&data.missing) {
                eprintln!("  missing: {line}");
            }
            Err(Outcome::Invalid)
        }
    }
}

/// `data` cut at `end`: the grid's buckets that start at or after it are dropped
/// (none left: no grid, and every metric says so).
fn until(mut data: DataSet, end: i64) -> DataSet {
    let Some(grid) = data.grid else {
        return data;
    };
    // As a window's end: buckets that start before `end`.
    let step = grid.step.max(1);
    let keep = if end <= grid.start {
        0
    } else {
        (((end - grid.start + step - 1) / step) as usize).min(grid.len)
    };
    if keep == 0 {
        data.grid = None;
        data.series.clear();
        return data;
    }
    let cut = Grid { len: keep, ..grid };
    data.grid = Some(cut);
    for aligned in data.series.values_mut() {
        aligned.grid = cut;
        aligned.values.truncate(keep);
    }
    data
}

/// Keeps the last `length` ms of the data: the points within it of the grid's last one.
fn last(mut data: DataSet, length: i64) -> DataSet {
    let Some(grid) = data.grid else {
        return data;
    };
    let step = grid.step.max(1);
    let keep = ((length / step).max(1) as usize).min(grid.len);
    let drop = grid.len - keep;
    let cut = Grid {
        start: grid.start + drop as i64 * step,
        len: keep,
        ..grid
    };
    data.grid = Some(cut);
    for aligned in data.series.values_mut() {
        aligned.grid = cut;
        aligned.values.drain(..drop.min(aligned.values.len()));
    }
    data
}

/// The aligned values of every metric read, by catalog position.
pub(crate) fn by_metric<'a>(catalog: &Catalog, data: &'a DataSet) -> HashMap<usize, &'a [f64]> {
    data.series
        .iter()
        .filter_map(|(id, s)| catalog.index_of(id).map(|i| (i, s.values.as_slice())))
        .collect()
}

/// What could not be read, for a person: one line per metric, except that an
/// error shared by several metrics of one source (a file that cannot be read
/// at all) is said once, with how many metrics it affects.
pub(crate) fn missing_lines(missing: &[whyline_sources::Missing]) -> Vec<String> {
    let mut groups: Vec<(String, String, Vec<&str>)> = Vec::new();
    for m in missing {
        let error = m.error.to_string();
        match groups
            .iter_mut()
            .find(|(source, e, _)| *source == m.source && *e == error)
        {
            Some((_, _, metrics)) => metrics.push(&m.metric),
            None => groups.push((m.source.clone(), error, vec![&m.metric])),
        }
    }
    groups
        .into_iter()
        .map(|(source, error, metrics)| match metrics.as_slice() {
            [one] => format!("`{one}` from {source}: {error}"),
            many => {
                let shown: Vec<String> = many.iter().take(3).map(|m| format!("`{m}`")).collect();
                format!(
                    "{} metrics from {source} ({}{}): {error}",
                    many.len(),
                    shown.join(", "),
                    if many.len() > 3 { ", ..." } else { "" }
                )
            }
        })
        .collect()
}

/// Prints what could not be read, on stderr.
pub(crate) fn report_missing(data: &DataSet) {
    for line in missing_lines(&data.missing) {
        eprintln!("  missing: {line}");
    }
    for h in holes(data) {
        eprintln!("  holes: {h}");
    }
}

/// A metric read with cells that could not be read as numbers: holes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Holes {
    pub(crate) metric: String,
    pub(crate) cells: usize,
    /// Where the first one is and what it held.
    pub(crate) first: Option<String>,
}

impl std::fmt::Display for Holes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}`: {} cell{} could not be read as a number and {} a hole in the series{}",
            self.metric,
            self.cells,
            if self.cells == 1 { "" } else { "s" },
            if self.cells == 1 { "is" } else { "are" },
            self.first
                .as_ref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        )
    }
}

/// The metrics of `data` with holes where cells could not be read.
pub(crate) fn holes(data: &DataSet) -> Vec<Holes> {
    data.repairs
        .iter()
        .filter(|(_, r)| r.unreadable > 0)
        .map(|(id, r)| Holes {
            metric: id.clone(),
            cells: r.unreadable,
            first: r.first_unreadable.clone(),
        })
        .collect()
}
