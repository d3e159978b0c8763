//! `whyline check`: the two tests as a CI gate.

use std::fmt::Write as _;

use whyline_catalog::{Catalog, Checked, Layer};
use whyline_map::{Assessed, CatalogDiff, Verdict};

use crate::cli::{CheckArgs, CheckFormat};
use crate::contract::{self, EdgeIds, check::CheckReport};
use crate::diagnostics;
use crate::{Outcome, git};

/// Runs the command; returns the exit code.
pub(crate) fn run(args: &CheckArgs, checked: &Checked, catalog_path: &std::path::Path) -> Outcome {
    let catalog = &checked.catalog;
    if !checked.is_valid() {
        match args.format {
            CheckFormat::Json => {
                let errors: Vec<_> = checked
                    .diagnostics
                    .iter()
                    .map(|d| diagnostics::to_json(catalog, d))
                    .collect();
                print_json(&CheckReport::invalid(errors));
                eprint!(
                    "{}",
                    diagnostics::render_human(catalog, &checked.diagnostics)
                );
            }
            CheckFormat::Github => print!(
                "{}",
                diagnostics::render_github(catalog, &checked.diagnostics)
            ),
            CheckFormat::Human => {
                eprint!(
                    "{}",
                    diagnostics::render_human(catalog, &checked.diagnostics)
                );
                let files: std::collections::HashSet<_> = checked
                    .diagnostics
                    .iter()
                    .filter_map(|d| d.location.map(|l| l.file))
                    .collect();
                eprintln!(
                    "error: the catalog is invalid: {} error{} in {} file{}",
                    checked.diagnostics.len(),
                    plural(checked.diagnostics.len()),
                    files.len().max(1),
                    plural(files.len().max(1))
                );
            }
        }
        return Outcome::Invalid;
    }
    let assessed = Assessed::new(catalog);

    let base = match &args.base {
        None => None,
        Some(revision) => match git::catalog_at(revision, catalog_path) {
            Err(e) => {
                eprintln!("error: cannot read the catalog at `{revision}`: {e}");
                return Outcome::Invalid;
            }
            Ok(files) => Some((revision.as_str(), whyline_catalog::parse(files))),
        },
    };
    let base_assessed = base.as_ref().map(|(_, b)| Assessed::new(&b.catalog));
    let change = base_assessed
        .as_ref()
        .map(|b| whyline_map::diff(b, &assessed));
    if let Some((revision, b)) = &base {
        if !b.is_valid() {
            eprintln!(
                "warning: the catalog at `{revision}` has {} error{}; comparing with what could be read of it",
                b.diagnostics.len(),
                plural(b.diagnostics.len())
            );
        }
    }

    match args.format {
        CheckFormat::Human => print!("{}", human(catalog, &assessed, catalog_path)),
        CheckFormat::Json => print_json(&json(
            catalog,
            &assessed,
            base.as_ref().map(|(r, _)| *r),
            change.as_ref(),
        )),
        CheckFormat::Github => print!("{}", github(catalog, &assessed, change.as_ref())),
    }
    if let (Some(change), Some((revision, _)), CheckFormat::Human) = (&change, &base, args.format) {
        print!("{}", human_diff(change, revision));
    }
    let failing = match &change {
        Some(change) => !change.breaks.is_empty(),
        None => assessed.assessments.iter().any(|a| !a.verdict.is_keep()),
    };
    if failing { Outcome::Fails } else { Outcome::Ok }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot encode JSON: {e}"),
    }
}

/// Assessments ordered for reading: business first, then service, then system.
fn ordered(catalog: &Catalog, assessed: &Assessed<'_>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..assessed.assessments.len()).collect();
    order.sort_by_key(|&i| (catalog.metrics[i].layer, i));
    order
}

fn mark(pass: bool) -> &'static str {
    if pass { "pass" } else { "FAIL" }
}

fn human(catalog: &Catalog, assessed: &Assessed<'_>, catalog_path: &std::path::Path) -> String {
    let mut out = String::new();
    let order = ordered(catalog, assessed);
    let _ = writeln!(
        out,
        "whyline check: {} metrics in {} file{} ({})\n",
        catalog.metrics.len(),
        catalog.files.len(),
        plural(catalog.files.len()),
        catalog_path.display()
    );
    let id_width = catalog
        .metrics
        .iter()
        .map(|m| m.id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let owner_width = catalog
        .metrics
        .iter()
        .map(|m| m.owner.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:id_width$}  {:8}  {:owner_width$}  DECISION  EXPLAIN  VERDICT",
        "METRIC", "LAYER", "OWNER"
    );
    let mut layer = None;
    for &i in &order {
        let m = &catalog.metrics[i];
        let a = &assessed.assessments[i];
        if layer.is_some() && layer != Some(m.layer) {
            out.push('\n');
        }
        layer = Some(m.layer);
        let _ = writeln!(
            out,
            "{:id_width$}  {:8}  {:owner_width$}  {:8}  {:7}  {}",
            m.id,
            m.layer.as_str(),
            m.owner.as_deref().unwrap_or("-"),
            mark(a.test_decision),
            mark(a.test_explain),
            a.verdict.as_str()
        );
    }
    let failing: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| !assessed.assessments[i].problems.is_empty())
        .collect();
    if !failing.is_empty() {
        out.push_str("\nWhat to fix:\n");
        for i in failing {
            let m = &catalog.metrics[i];
            let a = &assessed.assessments[i];
            let (path, line, column) = diagnostics::position(catalog, &m.location);
            let _ = writeln!(
                out,
                "\n  {} ({}) at {path}:{line}:{column}",
                m.id,
                a.verdict.as_str()
            );
            for p in &a.problems {
                let _ = writeln!(out, "    - {}\n      fix: {}", p.message, p.fix);
            }
        }
    }
    let proposed = whyline_map::proposed_edges(catalog, &assessed.graph);
    if !proposed.is_empty() {
        let _ = writeln!(
            out,
            "\n{} proposed edge{} to review (imported or suggested; they do not count for test 2 until `proposed: true` is removed):",
            proposed.len(),
            plural(proposed.len())
        );
        for &(from, to) in proposed.iter().take(20) {
            let _ = writeln!(
                out,
                "  {} -> {}",
                catalog.metrics[from].id, catalog.metrics[to].id
            );
        }
        if proposed.len() > 20 {
            let _ = writeln!(
                out,
                "  ... and {} more (`--format json` lists all)",
                proposed.len() - 20
            );
        }
    }
    let count = |v: Verdict| {
        assessed
            .assessments
            .iter()
            .filter(|a| a.verdict == v)
            .count()
    };
    let failing_total = assessed
        .assessments
        .iter()
        .filter(|a| !a.verdict.is_keep())
        .count();
    let _ = writeln!(
        out,
        "\n{} business, {} operational, {} unexplained, {} discard: {}",
        count(Verdict::Business),
        count(Verdict::Operational),
        count(Verdict::Unexplained),
        count(Verdict::Discard),
        if failing_total == 0 {
            "every metric passes both tests".to_string()
        } else {
            format!(
                "{failing_total} metric{} fail{} a test",
                plural(failing_total),
                if failing_total == 1 { "s" } else { "" }
            )
        }
    );
    out
}

fn human_diff(change: &CatalogDiff, revision: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nChange against {revision}:");
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let edges = |items: &[whyline_map::EdgeRef]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items
                .iter()
                .map(|e| format!("{} -> {}", e.from, e.to))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(out, "  metrics added:   {}", list(&change.added));
    let _ = writeln!(out, "  metrics removed: {}", list(&change.removed));
    let _ = writeln!(out, "  edges added:     {}", edges(&change.edges_added));
    let _ = writeln!(out, "  edges removed:   {}", edges(&change.edges_removed));
    if !change.edges_flipped.is_empty() {
        let _ = writeln!(out, "  edges flipped:   {}", edges(&change.edges_flipped));
    }
    for (id, before, after) in &change.verdicts_changed {
        let _ = writeln!(
            out,
            "  verdict of {id}: {} -> {}",
            before.as_str(),
            after.as_str()
        );
    }
    if change.breaks.is_empty() {
        let _ = writeln!(out, "\nThe change breaks nothing.");
    } else {
        let _ = writeln!(
            out,
            "\nThe change breaks {} thing{}:",
            change.breaks.len(),
            plural(change.breaks.len())
        );
        for b in &change.breaks {
            let _ = writeln!(out, "  - {}", b.message);
        }
    }
    out
}

pub(crate) fn json(
    catalog: &Catalog,
    assessed: &Assessed<'_>,
    revision: Option<&str>,
    change: Option<&CatalogDiff>,
) -> CheckReport {
    use contract::check::{BaseChange, Break, Fix, MetricCheck, ProposedEdge, VerdictChange};
    let metrics = assessed
        .assessments
        .iter()
        .map(|a| {
            let m = &catalog.metrics[a.metric];
            let (file, line, column) = diagnostics::position(catalog, &m.location);
            MetricCheck {
                id: m.id.clone(),
                verdict: a.verdict.into(),
                test_decision: a.test_decision,
                test_explain: a.test_explain,
                problems: a.problems.iter().map(|p| p.message.clone()).collect(),
                fixes: a
                    .problems
                    .iter()
                    .map(|p| Fix {
                        kind: p.kind.into(),
                        message: p.message.clone(),
                        fix: p.fix.clone(),
                    })
                    .collect(),
                layer: m.layer.into(),
                owner: m.owner.clone(),
                file,
                line,
                column,
            }
        })
        .collect();
    let proposed = whyline_map::proposed_edges(catalog, &assessed.graph)
        .into_iter()
        .map(|(from, to)| {
            let origin = catalog.metrics[to]
                .drivers
                .iter()
                .find(|d| d.metric == catalog.metrics[from].id)
                .and_then(|d| d.origin.clone());
            ProposedEdge {
                from: catalog.metrics[from].id.clone(),
                to: catalog.metrics[to].id.clone(),
                origin,
            }
        })
        .collect();
    let base = revision.zip(change).map(|(revision, change)| {
        let edges = |items: &[whyline_map::EdgeRef]| {
            items
                .iter()
                .map(|e| EdgeIds {
                    from: e.from.clone(),
                    to: e.to.clone(),
                })
                .collect()
        };
        BaseChange {
            revision: revision.to_string(),
            added: change.added.clone(),
            removed: change.removed.clone(),
            edges_added: edges(&change.edges_added),
            edges_removed: edges(&change.edges_removed),
            edges_flipped: edges(&change.edges_flipped),
            verdicts_changed: change
                .verdicts_changed
                .iter()
                .map(|(id, before, after)| VerdictChange {
                    id: id.clone(),
                    before: (*before).into(),
                    after: (*after).into(),
                })
                .collect(),
            breaks: change
                .breaks
                .iter()
                .map(|b| Break {
                    metric: b.metric.clone(),
                    kind: b.kind.into(),
                    message: b.message.clone(),
                })
                .collect(),
        }
    });
    CheckReport {
        metrics,
        errors: Vec::new(),
        proposed_edges: Some(proposed),
        base,
    }
}

fn github(catalog: &Catalog, assessed: &Assessed<'_>, change: Option<&CatalogDiff>) -> String {
    let mut out = String::new();
    let annotate = |out: &mut String, id: &str, title: &str, message: &str| {
        let place = catalog
            .metric(id)
            .map(|m| diagnostics::position(catalog, &m.location));
        let place_ref = place.as_ref().map(|(p, l, c)| (p.as_str(), *l, *c));
        out.push_str(&diagnostics::github_annotation(place_ref, title, message));
        out.push('\n');
    };
    match change {
        Some(change) => {
            for b in &change.breaks {
                annotate(
                    &mut out,
                    &b.metric,
                    &format!("whyline: {} regressed", b.metric),
                    &b.message,
                );
            }
        }
        None => {
            for a in &assessed.assessments {
                if a.verdict.is_keep() {
                    continue;
                }
                let m = &catalog.metrics[a.metric];
                let message = a
                    .problems
                    .iter()
                    .map(|p| format!("{}\nfix: {}", p.message, p.fix))
                    .collect::<Vec<_>>()
                    .join("\n");
                annotate(
                    &mut out,
                    &m.id,
                    &format!("whyline: {} is {}", m.id, a.verdict.as_str()),
                    &message,
                );
            }
        }
    }
    let failing = assessed
        .assessments
        .iter()
        .filter(|a| !a.verdict.is_keep())
        .count();
    let business = catalog
        .metrics
        .iter()
        .filter(|m| m.layer == Layer::Business)
        .count();
    let _ = writeln!(
        out,
        "whyline check: {} metrics ({business} business), {failing} failing a test",
        catalog.metrics.len()
    );
    out
}
