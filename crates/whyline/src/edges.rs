//! `whyline edges`: declared drivers against the data, and missing ones.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use whyline_catalog::{Catalog, Checked as CheckedCatalog, Duration, Effect};
use whyline_edges::{Report, Settings, Verdict, analyse};
use whyline_map::MetricGraph;

use crate::cli::{EdgesArgs, EdgesFormat};
use crate::contract::{self, edges::EdgesReport};
use crate::output::write_file;
use crate::{Outcome, common};

fn lag_text(points: usize, step_ms: i64) -> String {
    Duration::from_millis((points as i64 * step_ms).max(0) as u64).to_string()
}

/// Runs the command.
pub(crate) fn run(args: &EdgesArgs, checked: &CheckedCatalog) -> Outcome {
    let catalog = &checked.catalog;
    if let Err(outcome) = common::require_valid(checked) {
        return outcome;
    }
    // Window flags read the same way in every command (`common::period`).
    let range = match common::period(
        args.from,
        args.to,
        args.since,
        common::reads_history(catalog, args.data.as_deref()),
    ) {
        Ok(range) => range,
        Err(outcome) => return outcome,
    };
    let (data, grid) = match common::fetch_all(catalog, range, args.data.clone(), args.timeout) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let graph = MetricGraph::new(catalog);
    let by_metric = common::by_metric(catalog, &data);
    let series = |m: usize| by_metric.get(&m).copied();
    let report = analyse(catalog, &graph, &series, grid.step, &Settings::default());
    let yaml = snippets(catalog, &report, grid.step);
    match args.format {
        EdgesFormat::Json => match serde_json::to_string_pretty(&json(catalog, &report, grid.step))
        {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode JSON: {e}"),
        },
        EdgesFormat::Yaml => print!("{yaml}"),
        EdgesFormat::Human => print!(
            "{}",
            human(catalog, &report, grid.step, &yaml, args.verbose)
        ),
    }
    common::report_missing(&data);
    if let Some(path) = &args.apply {
        let text = format!(
            "# Suggested by `whyline edges`: review, then copy the drivers you agree with into the catalog.\n# Nothing here is read by whyline.\n{yaml}"
        );
        if let Err(e) = write_file(path, text.as_bytes(), args.force) {
            eprintln!("error: {e}");
            return Outcome::Invalid;
        }
        eprintln!(
            "wrote {} suggestion{} to {}",
            report.suggested.len(),
            if report.suggested.len() == 1 { "" } else { "s" },
            path.display()
        );
    }
    let doubtful = report
        .declared
        .iter()
        .any(|c| c.verdict == Verdict::Contradicted);
    if doubtful {
        Outcome::Fails
    } else {
        Outcome::Ok
    }
}

fn effect_str(e: Effect) -> &'static str {
    e.as_str()
}

/// The contract's number: finite, three decimals.
fn finite(v: f64) -> Option<f64> {
    contract::finite(v).map(contract::milli)
}

/// Whether the edge `from -> to` is still marked `proposed` in the catalog.
fn proposed(catalog: &Catalog, from: usize, to: usize) -> bool {
    catalog.metrics[to]
        .drivers
        .iter()
        .any(|d| d.proposed && d.metric == catalog.metrics[from].id)
}

fn json(catalog: &Catalog, report: &Report, step_ms: i64) -> EdgesReport {
    use contract::edges::{DeclaredEdge, Suggested};
    let id = |m: usize| catalog.metrics[m].id.clone();
    EdgesReport {
        declared: report
            .declared
            .iter()
            .map(|c| DeclaredEdge {
                from: id(c.from),
                to: id(c.to),
                effect: c.effect.into(),
                verdict: c.verdict.into(),
                estimate: finite(c.estimate),
                lag: (c.verdict != Verdict::NoData).then(|| lag_text(c.lag, step_ms)),
                p_value: finite(c.p_value),
                q_value: finite(c.q_value),
                proposed: proposed(catalog, c.from, c.to),
            })
            .collect(),
        suggested: report
            .suggested
            .iter()
            .map(|s| Suggested {
                from: id(s.from),
                to: id(s.to),
                effect: s.effect.into(),
                lag: lag_text(s.lag, step_ms),
                strength: finite(s.strength),
                q_value: finite(s.q_value),
                file: catalog
                    .path_of(&catalog.metrics[s.to].location)
                    .map(|p| p.display().to_string()),
                owner: catalog.metrics[s.to].owner.clone(),
            })
            .collect(),
        candidates_tested: report.candidates_tested,
    }
}

/// Ready-to-paste drivers, grouped by the file (and team) of the driven metric.
fn snippets(catalog: &Catalog, report: &Report, step_ms: i64) -> String {
    let mut by_file: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for s in &report.suggested {
        let to = &catalog.metrics[s.to];
        let file = catalog
            .path_of(&to.location)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let lag = if s.lag == 0 {
            String::new()
        } else {
            format!(", lag: {}", lag_text(s.lag, step_ms))
        };
        by_file.entry(file).or_default().entry(to.id.clone()).or_default().push(format!(
            "      - {{ metric: {}, effect: {}{lag}, why: \"suggested by whyline edges: partial correlation {:.2}\" }}",
            catalog.metrics[s.from].id,
            effect_str(s.effect),
            s.strength
        ));
    }
    let mut out = String::new();
    for (file, metrics) in by_file {
        let _ = writeln!(out, "# for {file}");
        for (metric, lines) in metrics {
            let owner = catalog
                .metric(&metric)
                .and_then(|m| m.owner.as_deref())
                .unwrap_or("no owner");
            let _ = writeln!(
                out,
                "#   metric {metric} (owner {owner}): add under its `drivers:`\n  - id: {metric}\n    drivers:"
            );
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

fn human(catalog: &Catalog, report: &Report, step_ms: i64, yaml: &str, verbose: bool) -> String {
    let id = |m: usize| catalog.metrics[m].id.as_str();
    let mut out = String::new();
    let count = |v: Verdict| report.declared.iter().filter(|c| c.verdict == v).count();
    let _ = writeln!(
        out,
        "{} declared edges: {} supported, {} contradicted, {} unsupported, {} without data\n",
        report.declared.len(),
        count(Verdict::Supported),
        count(Verdict::Contradicted),
        count(Verdict::Unsupported),
        count(Verdict::NoData)
    );
    for c in report
        .declared
        .iter()
        .filter(|c| c.verdict == Verdict::Contradicted)
    {
        let _ = writeln!(
            out,
            "  CONTRADICTED  {} -> {}: the catalog says `{}`, the data shows the opposite (partial correlation {:+.2} at lag {}): check this edge",
            id(c.from),
            id(c.to),
            c.effect.as_str(),
            c.estimate,
            lag_text(c.lag, step_ms)
        );
    }
    for c in report
        .declared
        .iter()
        .filter(|c| c.verdict == Verdict::Unsupported)
    {
        let _ = writeln!(
            out,
            "  unsupported   {} -> {}: no significant effect (partial correlation {:+.2}, q = {:.2})",
            id(c.from),
            id(c.to),
            c.estimate,
            c.q_value
        );
    }
    // Every edge that is not `supported` is named; with --verbose, all of them.
    for c in report
        .declared
        .iter()
        .filter(|c| c.verdict == Verdict::NoData)
    {
        let _ = writeln!(
            out,
            "  no data       {} -> {}: too little data on one side or both to test it",
            id(c.from),
            id(c.to)
        );
    }
    if verbose {
        for c in report
            .declared
            .iter()
            .filter(|c| c.verdict == Verdict::Supported)
        {
            let _ = writeln!(
                out,
                "  supported     {} -> {}: `{}` (partial correlation {:+.2} at lag {}, q = {:.2})",
                id(c.from),
                id(c.to),
                c.effect.as_str(),
                c.estimate,
                lag_text(c.lag, step_ms),
                c.q_value
            );
        }
    }
    // Proposed edges (imported or suggested): what review should do with each.
    let marked: Vec<_> = report
        .declared
        .iter()
        .filter(|c| proposed(catalog, c.from, c.to))
        .collect();
    if !marked.is_empty() {
        let _ = writeln!(
            out,
            "\n{} proposed edges ({} supported by the data: remove `proposed: true` from those the team confirms):",
            marked.len(),
            marked
                .iter()
                .filter(|c| c.verdict == Verdict::Supported)
                .count()
        );
        for c in marked {
            let advice = match c.verdict {
                Verdict::Supported => "supported: confirm it (remove `proposed: true`)",
                Verdict::Contradicted => "contradicted: fix its sign or delete it",
                Verdict::Unsupported => "unsupported: keep it proposed, or delete it",
                Verdict::NoData => "no data yet: keep it proposed",
            };
            let _ = writeln!(out, "  {} -> {}: {advice}", id(c.from), id(c.to));
        }
    }
    if report.suggested.is_empty() {
        let _ = writeln!(
            out,
            "\nNo missing edge stands out ({} candidates tested).",
            report.candidates_tested
        );
    } else {
        let _ = writeln!(
            out,
            "\n{} probable missing edges ({} candidates tested):",
            report.suggested.len(),
            report.candidates_tested
        );
        for s in &report.suggested {
            let _ = writeln!(
                out,
                "  {} {} {} (lag {}, partial correlation {:.2})",
                id(s.from),
                if s.effect == Effect::Increases {
                    "increases"
                } else {
                    "decreases"
                },
                id(s.to),
                lag_text(s.lag, step_ms),
                s.strength
            );
        }
        let _ = writeln!(out, "\nReady to paste:\n{yaml}");
    }
    out
}
