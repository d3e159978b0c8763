//! `whyline audit`: the two tests with evidence from the data.

use std::collections::HashMap;
use std::fmt::Write as _;

use whyline_audit::{Audit, Settings, audit};
use whyline_catalog::{Catalog, Checked};
use whyline_map::{Assessed, Verdict};
use whyline_series::{Grid, format_time};
use whyline_sources::{Options, Quiet, fetch};
use whyline_why::Settings as WhySettings;

use crate::cli::{AuditArgs, AuditFormat};
use crate::{Outcome, diagnostics, pull};

/// Runs the command.
pub(crate) fn run(args: &AuditArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    if !checked.is_valid() {
        eprint!(
            "{}",
            diagnostics::render_human(catalog, &checked.diagnostics)
        );
        eprintln!("error: the catalog is invalid; fix it first (see `whyline check`)");
        return Outcome::Invalid;
    }
    let range = match &args.since {
        None => None,
        Some(since) => match pull::window(None, args.to.as_deref(), Some(since)) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return Outcome::Invalid;
            }
        },
    };
    let ids: Vec<String> = catalog.metrics.iter().map(|m| m.id.clone()).collect();
    let data = fetch(
        catalog,
        &ids,
        &Options {
            range,
            data_file: args.data.clone(),
            ..Options::default()
        },
        &Quiet,
    );
    let Some(grid) = data.grid else {
        eprintln!(
            "error: no data could be read; give --data FILE or --since for the catalog's sources"
        );
        for m in &data.missing {
            eprintln!("  missing: {m}");
        }
        return Outcome::Invalid;
    };
    let assessed = Assessed::new(catalog);
    let by_metric: HashMap<usize, &[f64]> = data
        .series
        .iter()
        .filter_map(|(id, s)| catalog.index_of(id).map(|i| (i, s.values.as_slice())))
        .collect();
    let series = |m: usize| by_metric.get(&m).copied();
    let settings = Settings {
        why: WhySettings {
            step_ms: grid.step,
            ..WhySettings::default()
        },
        ..Settings::default()
    };
    let report = audit(
        catalog,
        &assessed.graph,
        &assessed.assessments,
        &series,
        &settings,
    );
    match args.format {
        AuditFormat::Json => match serde_json::to_string_pretty(&json(catalog, &report, &grid)) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode JSON: {e}"),
        },
        AuditFormat::Md | AuditFormat::Human => print!("{}", markdown(catalog, &report, &grid)),
    }
    for m in &data.missing {
        eprintln!("  missing: {m}");
    }
    if report.metrics.iter().any(|a| !a.verdict.is_keep()) {
        Outcome::Fails
    } else {
        Outcome::Ok
    }
}

fn json(catalog: &Catalog, report: &Audit, grid: &Grid) -> serde_json::Value {
    let id = |m: usize| catalog.metrics[m].id.clone();
    serde_json::json!({
        "coverage": report.coverage,
        "from": format_time(grid.start),
        "to": format_time(grid.range().end),
        "metrics": report.metrics.iter().map(|a| serde_json::json!({
            "id": id(a.metric),
            "verdict": a.verdict.as_str(),
            "reasons": a.reasons,
            "red_episodes": a.red_episodes(),
            "explained_episodes": a.explained_episodes(),
            "duplicate_of": a.duplicate_of.map(id),
            "flat": a.flat,
            "dead": a.dead,
            "owner": catalog.metrics[a.metric].owner,
            "episodes": a.episodes.iter().map(|e| serde_json::json!({
                "from": format_time(grid.time(e.start)),
                "to": format_time(grid.time(e.end.saturating_sub(1))),
                "explained": e.explained,
                "cause": e.cause.map(id),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn markdown(catalog: &Catalog, report: &Audit, grid: &Grid) -> String {
    let mut out = String::new();
    let id = |m: usize| catalog.metrics[m].id.as_str();
    let owner = |m: usize| catalog.metrics[m].owner.as_deref().unwrap_or("no owner");
    let _ = writeln!(
        out,
        "# Metrics audit, {} to {}\n",
        format_time(grid.start),
        format_time(grid.range().end)
    );
    match report.coverage {
        Some(c) => {
            let red: usize = report
                .metrics
                .iter()
                .filter(|a| catalog.metrics[a.metric].layer == whyline_catalog::Layer::Business)
                .map(|a| a.red_episodes())
                .sum();
            let _ = writeln!(
                out,
                "**Explainability coverage: {:.0}%** of the business metrics' {red} red episodes were explained by the map.\n",
                c * 100.0
            );
        }
        None => {
            let _ = writeln!(
                out,
                "**Explainability coverage: n/a**: no business metric went red in the period.\n"
            );
        }
    }
    let _ = writeln!(
        out,
        "| Metric | Layer | Owner | Verdict | Red | Explained | Notes |\n|---|---|---|---|---|---|---|"
    );
    let mut order: Vec<usize> = (0..report.metrics.len()).collect();
    order.sort_by_key(|&i| (catalog.metrics[i].layer, i));
    for i in order {
        let a = &report.metrics[i];
        let mut notes = Vec::new();
        if let Some(keep) = a.duplicate_of {
            notes.push(format!("duplicate of `{}`", id(keep)));
        }
        if a.flat {
            notes.push("flat".to_string());
        }
        if a.dead {
            notes.push("no data".to_string());
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            id(a.metric),
            catalog.metrics[a.metric].layer.as_str(),
            owner(a.metric),
            a.verdict.as_str(),
            a.red_episodes(),
            a.explained_episodes(),
            notes.join(", ")
        );
    }
    let cut: Vec<&whyline_audit::MetricAudit> = report
        .metrics
        .iter()
        .filter(|a| a.verdict == Verdict::Discard)
        .collect();
    if !cut.is_empty() {
        let _ = writeln!(out, "\n## Proposed for retirement\n");
        for a in cut {
            let _ = writeln!(
                out,
                "- `{}` ({}): {}",
                id(a.metric),
                owner(a.metric),
                a.reasons.join("; ")
            );
        }
    }
    let owed: Vec<&whyline_audit::MetricAudit> = report
        .metrics
        .iter()
        .filter(|a| a.verdict == Verdict::Unexplained)
        .collect();
    if !owed.is_empty() {
        let _ = writeln!(out, "\n## Mapping work owed\n");
        for a in owed {
            let _ = writeln!(
                out,
                "- `{}`, owner {}: {}",
                id(a.metric),
                owner(a.metric),
                a.reasons.join("; ")
            );
        }
    }
    // System signals are where explanations end: only the others are listed.
    let unexplained: Vec<(usize, &whyline_audit::Episode)> = report
        .metrics
        .iter()
        .filter(|a| catalog.metrics[a.metric].layer != whyline_catalog::Layer::System)
        .flat_map(|a| {
            a.episodes
                .iter()
                .filter(|e| !e.explained)
                .map(move |e| (a.metric, e))
        })
        .collect();
    if !unexplained.is_empty() {
        let _ = writeln!(out, "\n## Red episodes the map did not explain\n");
        for (m, e) in unexplained {
            let _ = writeln!(
                out,
                "- `{}` red from {} to {} (owner {})",
                id(m),
                format_time(grid.time(e.start)),
                format_time(grid.time(e.end.saturating_sub(1))),
                owner(m)
            );
        }
    }
    out
}
