//! `whyline audit`: the two tests with evidence from the data.

use std::fmt::Write as _;

use whyline_audit::{Audit, Settings, audit};
use whyline_catalog::{Catalog, Checked};
use whyline_map::{Assessed, Verdict};
use whyline_series::{Grid, format_time};

use crate::cli::{AuditArgs, AuditFormat};
use crate::contract::{
    self,
    audit::{AuditReport, FocusReport},
};
use crate::{Outcome, common};

/// Runs the command.
/// Everything the audit-based documents need.
struct Loaded {
    report: Audit,
    grid: Grid,
    data: whyline_sources::DataSet,
}

/// Loads the period's data and runs the audit; `Err` carries the exit outcome.
fn load(args: &AuditArgs, checked: &Checked) -> Result<Loaded, Outcome> {
    let catalog = &checked.catalog;
    common::require_valid(checked)?;
    let range = common::period(
        args.from,
        args.to,
        args.since,
        common::reads_history(catalog, args.data.as_deref()),
    )?;
    let (data, grid) = common::fetch_all(catalog, range, args.data.clone(), args.timeout)?;
    let report = audit_of(catalog, &data, grid);
    Ok(Loaded { report, grid, data })
}

/// The audit of data already read on `grid`.
pub(crate) fn audit_of(catalog: &Catalog, data: &whyline_sources::DataSet, grid: Grid) -> Audit {
    let assessed = Assessed::new(catalog);
    let by_metric = common::by_metric(catalog, data);
    let series = |m: usize| by_metric.get(&m).copied();
    let settings = Settings {
        why: crate::why::settings_for(grid),
        // A source that failed is not evidence that its metrics are dead.
        unread: data
            .missing
            .iter()
            .filter(|m| !matches!(m.error, whyline_sources::SourceError::Empty { .. }))
            .filter_map(|m| catalog.index_of(&m.metric))
            .collect(),
        ..Settings::default()
    };
    audit(
        catalog,
        &assessed.graph,
        &assessed.assessments,
        &series,
        &settings,
    )
}

/// The review agenda over an audit and the data it was made from.
pub(crate) fn review_of(
    catalog: &Catalog,
    report: &Audit,
    data: &whyline_sources::DataSet,
    grid: Grid,
) -> String {
    let graph = whyline_map::MetricGraph::new(catalog);
    let by_metric = common::by_metric(catalog, data);
    let series = |m: usize| by_metric.get(&m).copied();
    let edges = whyline_edges::analyse(
        catalog,
        &graph,
        &series,
        grid.step,
        &whyline_edges::Settings::default(),
    );
    review_markdown(catalog, report, &grid, &edges, &data.missing)
}

/// Runs `audit`.
pub(crate) fn run(args: &AuditArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    let Loaded { report, grid, data } = match load(args, checked) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    match args.format {
        AuditFormat::Json => match serde_json::to_string_pretty(&json(catalog, &report, &grid)) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot encode JSON: {e}"),
        },
        AuditFormat::Md | AuditFormat::Human => {
            print!("{}", markdown(catalog, &report, &grid, &data.missing))
        }
    }
    common::report_missing(&data);
    if report.metrics.iter().any(|a| !a.verdict.is_keep()) {
        Outcome::Fails
    } else {
        Outcome::Ok
    }
}

pub(crate) fn json(catalog: &Catalog, report: &Audit, grid: &Grid) -> AuditReport {
    use contract::audit::{Episode, MetricAudit};
    let id = |m: usize| catalog.metrics[m].id.clone();
    AuditReport {
        coverage: report.coverage,
        from: format_time(grid.start),
        to: format_time(grid.range().end),
        metrics: report
            .metrics
            .iter()
            .map(|a| MetricAudit {
                id: id(a.metric),
                verdict: a.verdict.into(),
                reasons: a.reasons.clone(),
                red_episodes: a.red_episodes(),
                explained_episodes: a.explained_episodes(),
                amber_episodes: a.amber_episodes.len(),
                duplicate_of: a.duplicate_of.map(id),
                flat: a.flat,
                dead: a.dead,
                owner: catalog.metrics[a.metric].owner.clone(),
                episodes: a
                    .episodes
                    .iter()
                    .map(|e| Episode {
                        from: format_time(grid.time(e.start)),
                        to: format_time(grid.time(e.end.saturating_sub(1))),
                        explained: e.explained,
                        cause: e.cause.map(id),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn markdown(
    catalog: &Catalog,
    report: &Audit,
    grid: &Grid,
    missing: &[whyline_sources::Missing],
) -> String {
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
                "**Explainability coverage: {:.0}%** of the business metrics' {red} red episodes were explained by the map{}.\n",
                c * 100.0,
                unread_business(catalog, missing)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "**Explainability coverage: n/a**: no business metric went red in the period{}.\n",
                unread_business(catalog, missing)
            );
        }
    }
    let _ = writeln!(
        out,
        "| Metric | Layer | Owner | Verdict | Red | Explained | Amber | Notes |\n|---|---|---|---|---|---|---|---|"
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
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            id(a.metric),
            catalog.metrics[a.metric].layer.as_str(),
            owner(a.metric),
            a.verdict.as_str(),
            a.red_episodes(),
            a.explained_episodes(),
            a.amber_episodes.len(),
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
    out.push_str(&unread_section(missing));
    out
}

/// What the coverage leaves out: the business metrics that could not be read.
fn unread_business(catalog: &Catalog, missing: &[whyline_sources::Missing]) -> String {
    let mut unread: Vec<&str> = missing
        .iter()
        .filter(|m| {
            catalog
                .index_of(&m.metric)
                .is_some_and(|i| catalog.metrics[i].layer == whyline_catalog::Layer::Business)
        })
        .map(|m| m.metric.as_str())
        .collect();
    unread.sort_unstable();
    unread.dedup();
    if unread.is_empty() {
        String::new()
    } else {
        format!(
            " (not counted: {} business metric{} could not be read: `{}`)",
            unread.len(),
            if unread.len() == 1 { "" } else { "s" },
            unread.join("`, `")
        )
    }
}

/// The document's section on what could not be read (empty when all was).
fn unread_section(missing: &[whyline_sources::Missing]) -> String {
    if missing.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## Could not be read\n\n");
    for m in missing {
        let _ = writeln!(out, "- {m}");
    }
    out
}

/// Runs `review`: the meeting agenda in Markdown.
/// Runs `focus`: the audit's red episodes when data can be read, else the
/// map alone.
pub(crate) fn focus(args: &AuditArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    if let Err(outcome) = common::require_valid(checked) {
        return outcome;
    }
    let has_sources = args.data.is_some() || catalog.metrics.iter().any(|m| m.source.is_some());
    let loaded = if has_sources {
        match load(args, checked) {
            Ok(loaded) => Some(loaded),
            Err(Outcome::Invalid)
                if common::period(
                    args.from,
                    args.to,
                    args.since,
                    common::reads_history(catalog, args.data.as_deref()),
                )
                .is_err() =>
            {
                return Outcome::Invalid;
            }
            Err(_) => {
                eprintln!(
                    "note: ranking on the map's structure alone (no red episodes without data)"
                );
                None
            }
        }
    } else {
        eprintln!("note: the catalog reads no data; ranking on the map's structure alone");
        None
    };
    let graph = whyline_map::MetricGraph::new(catalog);
    let ranked = whyline_audit::focus::focus(catalog, &graph, loaded.as_ref().map(|l| &l.report));
    let period = loaded
        .as_ref()
        .map(|l| (format_time(l.grid.start), format_time(l.grid.range().end)));
    match args.format {
        AuditFormat::Json => {
            let value = focus_json(catalog, &ranked, period.as_ref());
            match serde_json::to_string_pretty(&value) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: cannot encode JSON: {e}"),
            }
        }
        AuditFormat::Md | AuditFormat::Human => {
            print!("{}", focus_markdown(catalog, &ranked, period.as_ref()));
        }
    }
    if let Some(l) = &loaded {
        common::report_missing(&l.data);
    }
    Outcome::Ok
}

fn focus_json(
    catalog: &Catalog,
    ranked: &[whyline_audit::focus::ServiceFocus],
    period: Option<&(String, String)>,
) -> FocusReport {
    use contract::audit::ServiceFocus;
    let ids = |set: &std::collections::BTreeSet<usize>| {
        set.iter()
            .map(|&m| catalog.metrics[m].id.clone())
            .collect::<Vec<_>>()
    };
    FocusReport {
        proposal: ranked
            .iter()
            .filter(|f| f.proposed)
            .map(|f| f.service.clone())
            .collect(),
        period: period.map(|(from, to)| contract::Span {
            from: from.clone(),
            to: to.clone(),
        }),
        services: ranked
            .iter()
            .enumerate()
            .map(|(i, f)| ServiceFocus {
                rank: i + 1,
                service: f.service.clone(),
                proposed: f.proposed,
                red_episodes: f.red_episodes,
                red_business_metrics: ids(&f.red_business),
                drives_directly: ids(&f.drives_directly),
                business_downstream: ids(&f.downstream),
                reasons: whyline_audit::focus::reasons(catalog, f),
            })
            .collect(),
    }
}

/// The proposal in one sentence, for `focus` and the review.
fn focus_sentence(ranked: &[whyline_audit::focus::ServiceFocus]) -> String {
    let proposed: Vec<String> = ranked
        .iter()
        .filter(|f| f.proposed)
        .map(|f| format!("**{}**", f.service))
        .collect();
    if proposed.is_empty() {
        "No service drives a business metric in the map yet: map the business metrics' drivers first.".to_string()
    } else {
        format!(
            "Map first: {} ({} of {} services).",
            proposed.join(", "),
            proposed.len(),
            ranked.len()
        )
    }
}

fn focus_markdown(
    catalog: &Catalog,
    ranked: &[whyline_audit::focus::ServiceFocus],
    period: Option<&(String, String)>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Where to map first
"
    );
    let _ = writeln!(
        out,
        "{}
",
        focus_sentence(ranked)
    );
    match period {
        Some((from, to)) => {
            let _ = writeln!(
                out,
                "Ranked by the red episodes of business metrics from {from} to {to} that went through each service, then by the business metrics it drives directly, then by those downstream.
"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Ranked on the map alone (no data read): by the business metrics each service drives directly, then by those downstream.
"
            );
        }
    }
    let _ = writeln!(
        out,
        "| rank | service | red business episodes | drives directly | business downstream | why |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for (i, f) in ranked.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} |",
            i + 1,
            if f.proposed { " (map first)" } else { "" },
            f.service,
            f.red_episodes,
            f.drives_directly.len(),
            f.downstream.len(),
            whyline_audit::focus::reasons(catalog, f).join("; ")
        );
    }
    out
}

pub(crate) fn review(args: &AuditArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    let Loaded { report, grid, data } = match load(args, checked) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    print!("{}", review_of(catalog, &report, &data, grid));
    common::report_missing(&data);
    Outcome::Ok
}

pub(crate) fn review_markdown(
    catalog: &Catalog,
    report: &Audit,
    grid: &Grid,
    edges: &whyline_edges::Report,
    missing: &[whyline_sources::Missing],
) -> String {
    use whyline_catalog::Layer;
    let id = |m: usize| catalog.metrics[m].id.as_str();
    let owner = |m: usize| catalog.metrics[m].owner.as_deref().unwrap_or("no owner");
    let when = |e: &whyline_audit::Episode| {
        format!(
            "{} to {}",
            format_time(grid.time(e.start)),
            format_time(grid.time(e.end.saturating_sub(1)))
        )
    };
    let mut out = String::new();
    let mut questions: Vec<String> = Vec::new();
    let _ = writeln!(
        out,
        "# Metrics review, {} to {}\n",
        format_time(grid.start),
        format_time(grid.range().end)
    );
    match report.coverage {
        Some(c) => {
            let _ = writeln!(
                out,
                "Explainability coverage this period: **{:.0}%** of business metrics' red episodes{}.\n",
                c * 100.0,
                unread_business(catalog, missing)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Explainability coverage this period: n/a, no business metric went red{}.\n",
                unread_business(catalog, missing)
            );
        }
    }
    let mut order: Vec<usize> = (0..report.metrics.len())
        .filter(|&i| catalog.metrics[i].layer != Layer::System)
        .collect();
    order.sort_by_key(|&i| (catalog.metrics[i].layer, i));

    let _ = writeln!(out, "## What went red");
    let mut any = false;
    for &i in &order {
        let a = &report.metrics[i];
        for e in &a.episodes {
            any = true;
            if e.explained {
                let path: Vec<&str> = e.path.iter().map(|m| id(*m)).collect();
                let root = e
                    .cause
                    .map(|c| format!("; root `{}`, owner {}", id(c), owner(c)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "- **{}** (owner {}), {}: explained: {}{root}",
                    id(a.metric),
                    owner(a.metric),
                    when(e),
                    path.join(" <- ")
                );
            } else {
                let _ = writeln!(
                    out,
                    "- **{}** (owner {}), {}: **not explained**: the map ends at `{}`",
                    id(a.metric),
                    owner(a.metric),
                    when(e),
                    id(a.metric)
                );
            }
        }
    }
    if !any {
        let _ = writeln!(out, "- Nothing went red.");
    }

    let _ = writeln!(out, "\n## Unexplained moves: mapping work owed");
    let mut owed = false;
    for &i in &order {
        let a = &report.metrics[i];
        let missed = a.episodes.iter().filter(|e| !e.explained).count();
        if missed > 0 {
            owed = true;
            let _ = writeln!(
                out,
                "- `{}`: {missed} red episode{} the map could not explain; owner {} maps its drivers.",
                id(a.metric),
                if missed == 1 { "" } else { "s" },
                owner(a.metric)
            );
            questions.push(format!(
                "Who maps what drives `{}`, and by when? (owner: {})",
                id(a.metric),
                owner(a.metric)
            ));
        }
    }
    if !owed {
        let _ = writeln!(out, "- None: every red episode was explained by the map.");
    }

    let _ = writeln!(out, "\n## Alerts with no decision behind them");
    let mut idle = false;
    for a in &report.metrics {
        if a.red_episodes() > 0
            && !catalog.metrics[a.metric].has_decision()
            && a.verdict == Verdict::Discard
        {
            idle = true;
            let _ = writeln!(
                out,
                "- `{}` went red {} time{} but no decision uses it.",
                id(a.metric),
                a.red_episodes(),
                if a.red_episodes() == 1 { "" } else { "s" }
            );
        }
    }
    if !idle {
        let _ = writeln!(out, "- None.");
    }

    let _ = writeln!(out, "\n## Proposed for retirement");
    let retire: Vec<&whyline_audit::MetricAudit> = report
        .metrics
        .iter()
        .filter(|a| a.verdict == Verdict::Discard)
        .collect();
    if retire.is_empty() {
        let _ = writeln!(out, "- None.");
    }
    for a in retire {
        let _ = writeln!(
            out,
            "- `{}` (owner {}): {}",
            id(a.metric),
            owner(a.metric),
            a.reasons.join("; ")
        );
        questions.push(format!("Retire `{}`?", id(a.metric)));
    }

    let _ = writeln!(out, "\n## Edges the data no longer supports");
    let doubtful: Vec<&whyline_edges::Checked> = edges
        .declared
        .iter()
        .filter(|c| {
            matches!(
                c.verdict,
                whyline_edges::Verdict::Contradicted | whyline_edges::Verdict::Unsupported
            )
        })
        .collect();
    if doubtful.is_empty() {
        let _ = writeln!(
            out,
            "- None: every declared driver is supported by this period's data."
        );
    }
    for c in doubtful {
        let _ = writeln!(
            out,
            "- `{}` -> `{}` ({}): {} (partial correlation {:+.2})",
            id(c.from),
            id(c.to),
            c.effect.as_str(),
            c.verdict.as_str(),
            c.estimate
        );
        if c.verdict == whyline_edges::Verdict::Contradicted {
            questions.push(format!(
                "Is `{}` -> `{}` wrong-signed in the catalog? (owner of `{}`: {})",
                id(c.from),
                id(c.to),
                id(c.to),
                owner(c.to)
            ));
        }
    }

    // Where mapping effort goes next (the same ranking as `whyline focus`).
    let ranked = whyline_audit::focus::focus(
        catalog,
        &whyline_map::MetricGraph::new(catalog),
        Some(report),
    );
    let _ = writeln!(out, "\n## Where to map first (`whyline focus`)");
    let _ = writeln!(out, "- {}", focus_sentence(&ranked));
    for f in ranked.iter().filter(|f| f.proposed) {
        let _ = writeln!(
            out,
            "- {}: {}",
            f.service,
            whyline_audit::focus::reasons(catalog, f).join("; ")
        );
    }

    let _ = writeln!(out, "\n## Questions for this meeting");
    if questions.is_empty() {
        let _ = writeln!(out, "- None: the map explained the period.");
    }
    for (k, q) in questions.iter().enumerate() {
        let _ = writeln!(out, "{}. {q}", k + 1);
    }
    out.push_str(&unread_section(missing));
    out
}
