//! What several commands share: refusing an invalid catalog, reading the
//! period's data, and indexing series by catalog position.

use std::collections::HashMap;

use whyline_catalog::{Catalog, Checked};
use whyline_series::{Grid, TimeRange};
use whyline_sources::{DataSet, Options, Quiet, fetch};

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

/// The window of `--since` [`--to`], or `None` (all the data of a file).
pub(crate) fn period(since: Option<&str>, to: Option<&str>) -> Result<Option<TimeRange>, Outcome> {
    match since {
        None => Ok(None),
        Some(since) => pull::window(None, to, Some(since)).map(Some).map_err(|e| {
            eprintln!("error: {e}");
            Outcome::Invalid
        }),
    }
}

/// Reads every metric of the catalog for the period; an error when nothing could be read.
pub(crate) fn fetch_all(
    catalog: &Catalog,
    range: Option<TimeRange>,
    data_file: Option<std::path::PathBuf>,
) -> Result<(DataSet, Grid), Outcome> {
    let ids: Vec<String> = catalog.metrics.iter().map(|m| m.id.clone()).collect();
    let data = fetch(
        catalog,
        &ids,
        &Options {
            range,
            data_file,
            ..Options::default()
        },
        &Quiet,
    );
    match data.grid {
        Some(grid) => Ok((data, grid)),
        None => {
            eprintln!(
                "error: no data could be read; give --data FILE, or a window for the catalog's sources"
            );
            for line in missing_lines(&data.missing) {
                eprintln!("  missing: {line}");
            }
            Err(Outcome::Invalid)
        }
    }
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
