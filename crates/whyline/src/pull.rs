//! `whyline pull`: freeze the data of a window into one Parquet file.

use std::path::Path;

use whyline_catalog::Checked;
use whyline_series::{TimeRange, format_time};
use whyline_sources::{DataSet, Options, fetch};

use crate::Outcome;
use crate::cli::{DataFormat, PullArgs};

/// The window asked for: --from/--to or --since/--to (Unix ms; --since a length).
pub(crate) fn window(
    from: Option<i64>,
    to: Option<i64>,
    since: Option<i64>,
) -> Result<TimeRange, String> {
    let end = to.unwrap_or_else(crate::clock::now_ms);
    let start = match (from, since) {
        (Some(from), _) => from,
        (None, Some(length)) => end.saturating_sub(length),
        (None, None) => return Err("give --from TIME or --since DURATION".to_string()),
    };
    if start >= end {
        return Err(format!(
            "the window is empty: --from {} is not before --to {}",
            format_time(start),
            format_time(end)
        ));
    }
    Ok(TimeRange { start, end })
}

/// Runs the command.
pub(crate) fn run(args: &PullArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    if let Err(outcome) = crate::common::require_valid(checked) {
        return outcome;
    }
    // With --data, the window flags mean what they mean in every other command
    // (a file is history: --since alone is its last stretch); without, a
    // network window is needed.
    let period = if crate::common::reads_history(catalog, args.data.as_deref()) {
        match crate::common::period(args.from, args.to, args.since, true) {
            Ok(p) => p,
            Err(outcome) => return outcome,
        }
    } else {
        match window(args.from, args.to, args.since) {
            Ok(range) => crate::common::Period {
                range: Some(range),
                until: None,
                last: None,
            },
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::Invalid;
            }
        }
    };
    let step_ms = args.step;
    let ids: Vec<String> = if args.metrics.is_empty() {
        catalog.metrics.iter().map(|m| m.id.clone()).collect()
    } else {
        args.metrics.clone()
    };
    for id in &ids {
        if catalog.metric(id).is_none() {
            eprintln!("error: {}", crate::common::no_such_metric(catalog, id));
            return Outcome::Invalid;
        }
    }
    if args.output.exists() {
        if let Err(e) = crate::output::may_replace(&args.output, args.force) {
            eprintln!("error: {e}");
            return Outcome::Invalid;
        }
    }
    let options = Options {
        range: period.range,
        step_ms,
        data_file: args.data.clone(),
        concurrency: args.concurrency.max(1),
        deadline: args.timeout,
        ..Options::default()
    };
    let data = {
        let progress = crate::progress::Waiting::new("pulling", args.timeout);
        period.cut(fetch(catalog, &ids, &options, &progress))
    };
    let range = period.range.or_else(|| data.grid.map(|g| g.range()));
    let written = match range {
        Some(range) => write(&args.output, &data, range, args.force),
        None => Err(whyline_sources::write::WriteError::Empty.to_string()),
    };
    match args.format {
        DataFormat::Json => print_json(&args.output, &data, &written),
        DataFormat::Human => print_human(&args.output, &data, ids.len(), &written),
    }
    match written {
        Err(_) => Outcome::Invalid,
        Ok(()) if data.missing.is_empty() => Outcome::Ok,
        Ok(()) => Outcome::Fails,
    }
}

fn write(path: &Path, data: &DataSet, range: TimeRange, force: bool) -> Result<(), String> {
    if force && path.exists() {
        let backup = format!("{}.bak", path.display());
        std::fs::copy(path, &backup).map_err(|e| {
            format!(
                "cannot keep a backup of `{}` as `{backup}`: {e}",
                path.display()
            )
        })?;
    }
    let missing: Vec<crate::contract::Missing> = data
        .missing
        .iter()
        .map(crate::contract::Missing::from)
        .collect();
    let missing = serde_json::to_string(&missing)
        .map_err(|e| format!("cannot encode what is missing: {e}"))?;
    let metadata = [
        ("whyline.from", format_time(range.start)),
        ("whyline.to", format_time(range.end)),
        (
            "whyline.step_ms",
            data.grid.map(|g| g.step.to_string()).unwrap_or_default(),
        ),
        ("whyline.missing", missing),
    ];
    whyline_sources::write::write_parquet(path, data, &metadata).map_err(|e| e.to_string())
}

fn print_human(path: &Path, data: &DataSet, asked: usize, written: &Result<(), String>) {
    match written {
        Ok(()) => {
            let grid = data
                .grid
                .map(|g| {
                    format!(
                        " from {} to {} every {}s",
                        format_time(g.start),
                        format_time(g.range().end),
                        g.step / 1000
                    )
                })
                .unwrap_or_default();
            eprintln!(
                "pulled {} of {asked} metrics{grid} into {}",
                data.series.len(),
                path.display()
            );
        }
        Err(e) => eprintln!("error: nothing written: {e}"),
    }
    if !data.missing.is_empty() {
        eprintln!(
            "missing {} metric{}:",
            data.missing.len(),
            if data.missing.len() == 1 { "" } else { "s" }
        );
        for line in crate::common::missing_lines(&data.missing) {
            eprintln!("  - {line}");
        }
    }
    for (id, r) in &data.repairs {
        eprintln!(
            "  repaired `{id}`: {} out of order, {} duplicate, {} NaN/Inf points",
            r.out_of_order, r.duplicates, r.non_finite
        );
    }
}

fn print_json(path: &Path, data: &DataSet, written: &Result<(), String>) {
    use crate::contract::pull::{Grid, PullReport, Repairs};
    let value = PullReport {
        file: written.as_ref().ok().map(|_| path.display().to_string()),
        error: written.as_ref().err().cloned(),
        grid: data.grid.map(|g| Grid {
            from: format_time(g.start),
            to: format_time(g.range().end),
            step_ms: g.step,
            points: g.len,
        }),
        metrics: data.series.keys().cloned().collect(),
        missing: data
            .missing
            .iter()
            .map(crate::contract::Missing::from)
            .collect(),
        repairs: data
            .repairs
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    Repairs {
                        out_of_order: r.out_of_order,
                        duplicates: r.duplicates,
                        non_finite: r.non_finite,
                    },
                )
            })
            .collect(),
    };
    match serde_json::to_string_pretty(&value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot encode JSON: {e}"),
    }
}
