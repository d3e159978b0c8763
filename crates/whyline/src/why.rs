//! `whyline why`: read the metric's part of the map, run the engine, draw the answer.

use std::fmt::Write as _;

use whyline_catalog::{Catalog, Checked};
use whyline_map::MetricGraph;
use whyline_series::{Grid, TimeRange, format_time, parse_time, parse_window};
use whyline_sources::{DataSet, Missing, Options, Progress, fetch};
use whyline_why::{Change, Explanation, Settings, Status, SuspectedEdge, Windows};

use crate::cli::{DataFormat, WhyArgs};
use crate::{Outcome, contract};

/// Everything the answer needs besides the engine's output.
pub(crate) struct Answer {
    pub(crate) explanation: Explanation,
    pub(crate) grid: Grid,
    /// Metrics that could not be read, and why.
    pub(crate) missing: Vec<Missing>,
    /// Edges not in the catalog that the answer followed.
    pub(crate) suspected: Vec<SuspectedEdge>,
    /// The data's lead where the map ends at the asked metric.
    pub(crate) lead: Option<Vec<usize>>,
    /// Metrics read with holes where cells could not be read as numbers.
    pub(crate) holes: Vec<crate::common::Holes>,
}

/// Why a question could not be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum AskError {
    /// The metric is not in the catalog.
    #[error("{0}")]
    UnknownMetric(String),
    /// A time or period is malformed or outside the data.
    #[error("{0}")]
    BadInput(String),
    /// The data needed could not be read.
    #[error("{0}")]
    NoData(String),
}

/// What to explain, resolved against the catalog.
#[derive(Debug, Clone)]
pub(crate) struct Question {
    /// The asked metric's catalog position.
    pub(crate) target: usize,
    /// The time to explain, in Unix ms; `None` = the latest point.
    pub(crate) at: Option<i64>,
    /// Both periods of a period-over-period question (baseline, window).
    pub(crate) periods: Option<(TimeRange, TimeRange)>,
}

impl Question {
    /// Resolves the metric id against the catalog and checks the periods:
    /// both or neither, and not overlapping.
    pub(crate) fn new(
        catalog: &Catalog,
        metric: &str,
        at: Option<i64>,
        baseline: Option<TimeRange>,
        window: Option<TimeRange>,
    ) -> Result<Question, AskError> {
        let Some(target) = catalog.index_of(metric) else {
            return Err(AskError::UnknownMetric(crate::common::no_such_metric(
                catalog, metric,
            )));
        };
        let periods = match (baseline, window) {
            (Some(baseline), Some(window)) => {
                // The baseline is what normal looked like: sharing points with
                // the window would compare the incident with itself.
                if baseline.start < window.end && window.start < baseline.end {
                    let fix = if baseline.start < window.start {
                        format!(
                            "end it where the window starts (--baseline {}..{})",
                            format_time(baseline.start),
                            format_time(window.start)
                        )
                    } else {
                        "give a period before the window".to_string()
                    };
                    return Err(AskError::BadInput(format!(
                        "--baseline {}..{} overlaps --window {}..{}: the baseline is the normal to compare with; {fix}",
                        format_time(baseline.start),
                        format_time(baseline.end),
                        format_time(window.start),
                        format_time(window.end)
                    )));
                }
                Some((baseline, window))
            }
            (None, None) => None,
            _ => {
                return Err(AskError::BadInput(
                    "--baseline and --window go together".to_string(),
                ));
            }
        };
        Ok(Question {
            target,
            at,
            periods,
        })
    }

    /// Reads the metric id, `at` and the periods as written in a query
    /// string (the API), in the same grammar as the flags.
    pub(crate) fn parse(
        catalog: &Catalog,
        metric: &str,
        at: Option<&str>,
        baseline: Option<&str>,
        window: Option<&str>,
    ) -> Result<Question, AskError> {
        let bad =
            |name: &str, e: whyline_series::TimeError| AskError::BadInput(format!("`{name}`: {e}"));
        let at = at.map(parse_time).transpose().map_err(|e| bad("at", e))?;
        let baseline = baseline
            .map(parse_window)
            .transpose()
            .map_err(|e| bad("baseline", e))?;
        let window = window
            .map(parse_window)
            .transpose()
            .map_err(|e| bad("window", e))?;
        Question::new(catalog, metric, at, baseline, window)
    }

    /// The time span the question needs read from network sources.
    pub(crate) fn range(&self, lookback_ms: i64) -> TimeRange {
        match (&self.periods, self.at) {
            (Some((b, w)), _) => TimeRange {
                start: b.start.min(w.start),
                end: b.end.max(w.end),
            },
            (None, Some(at)) => TimeRange {
                start: at - lookback_ms,
                end: at + 1,
            },
            (None, None) => {
                let now = crate::clock::now_ms();
                TimeRange {
                    start: now - lookback_ms,
                    end: now,
                }
            }
        }
    }
}

/// Reads the data and runs the engine; errors are for the user.
pub(crate) fn answer(args: &WhyArgs, catalog: &Catalog) -> Result<Answer, String> {
    let question = Question::new(catalog, &args.metric, args.at, args.baseline, args.window)
        .map_err(|e| e.to_string())?;
    let graph = MetricGraph::new(catalog);
    let step_ms = args.step;
    let lookback = args.lookback;
    // Files are read whole; network sources need a window.
    let history = crate::common::reads_history(catalog, args.data.as_deref());
    let range = match (&question.periods, history) {
        (None, true) => None,
        _ => Some(question.range(lookback)),
    };
    let options = Options {
        range,
        step_ms,
        data_file: args.data.clone(),
        deadline: args.timeout,
        ..Options::default()
    };
    let progress = crate::progress::Waiting::new("reading", args.timeout);
    ask_sources(catalog, &graph, &question, &options, &progress).map_err(|e| e.to_string())
}

/// Reads the question's part of the map with `options` and answers it.
/// Only the asked metric's upstream is read (cost follows the subgraph);
/// unmapped drivers are read only when the walk stops short.
pub(crate) fn ask_sources(
    catalog: &Catalog,
    graph: &MetricGraph,
    question: &Question,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Answer, AskError> {
    // One budget for the whole question: the second read gets what is left.
    let started = std::time::Instant::now();
    let metric = &catalog.metrics[question.target].id;
    let ids: Vec<String> = graph
        .upstream(question.target)
        .into_iter()
        .map(|m| catalog.metrics[m].id.clone())
        .collect();
    let data = fetch(catalog, &ids, options, progress);
    let Some(grid) = data.grid else {
        let reasons = crate::common::missing_lines(&data.missing);
        return Err(AskError::NoData(format!(
            "no data could be read for `{metric}`:\n  {}",
            reasons.join("\n  ")
        )));
    };
    let by_metric = crate::common::by_metric(catalog, &data);
    let series = |m: usize| by_metric.get(&m).copied();
    let more = |extra: &[String]| {
        Some(fetch(
            catalog,
            extra,
            &Options {
                range: Some(grid.range()),
                step_ms: Some(grid.step),
                deadline: options.deadline.saturating_sub(started.elapsed()),
                ..options.clone()
            },
            progress,
        ))
    };
    let answered = analyse(
        catalog,
        graph,
        question,
        grid,
        &data.missing,
        &series,
        &more,
    )?;
    Ok(Answer {
        explanation: answered.explanation,
        grid,
        holes: crate::common::holes(&data),
        missing: data.missing,
        suspected: answered.suspected,
        lead: answered.lead,
    })
}

/// Runs the engine over series already read on `grid` ([`whyline_why::ask`]:
/// the policy lives there). `more` reads metrics `series` does not have
/// (`None` when `series` already holds every metric).
pub(crate) fn analyse<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    question: &Question,
    grid: Grid,
    missing: &[Missing],
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    more: &dyn Fn(&[String]) -> Option<DataSet>,
) -> Result<whyline_why::ask::Answer, AskError> {
    let target = question.target;
    let metric = &catalog.metrics[target].id;
    if series(target).is_none() {
        let reason = missing
            .iter()
            .find(|m| &m.metric == metric)
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(AskError::NoData(format!(
            "no data for `{metric}` itself: {reason}"
        )));
    }
    let at_index = match question.at {
        None => None,
        Some(t) => Some(grid.index(t).ok_or_else(|| {
            AskError::BadInput(format!(
                "--at {} is outside the data, which covers {} to {}",
                format_time(t),
                format_time(grid.start),
                format_time(grid.range().end)
            ))
        })?),
    };
    let windows = question.periods.map(|(b, w)| Windows {
        baseline: grid.indices(b),
        incident: grid.indices(w),
        periods: true,
    });
    if let Some(w) = &windows {
        if w.baseline.is_empty() || w.incident.is_empty() {
            return Err(AskError::BadInput(format!(
                "--baseline or --window holds no data points (the data covers {} to {})",
                format_time(grid.start),
                format_time(grid.range().end)
            )));
        }
    }
    let at_index = at_index.or_else(|| windows.as_ref().map(|w| w.incident.end - 1));
    // The suspects, read on the same grid (another grid gives nothing to compare with).
    let read = |suspects: &[usize]| {
        let ids: Vec<String> = suspects
            .iter()
            .map(|&m| catalog.metrics[m].id.clone())
            .collect();
        let fetched = more(&ids)?;
        if fetched.grid != Some(grid) {
            return Some(std::collections::HashMap::new());
        }
        Some(
            crate::common::by_metric(catalog, &fetched)
                .into_iter()
                .map(|(m, x)| (m, x.to_vec()))
                .collect(),
        )
    };
    Ok(whyline_why::ask::answer(
        catalog,
        graph,
        series,
        target,
        at_index,
        windows,
        &settings_for(grid),
        &read,
    ))
}

/// The engine's settings for data on `grid`, the same for every command
/// ([`Settings::for_grid`]).
pub(crate) fn settings_for(grid: Grid) -> Settings {
    Settings::for_grid(grid.step, grid.len)
}

/// Runs the command.
pub(crate) fn run(args: &WhyArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    if let Err(outcome) = crate::common::require_valid(checked) {
        return outcome;
    }
    match answer(args, catalog) {
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Invalid
        }
        Ok(a) => {
            match args.format {
                DataFormat::Json => match serde_json::to_string_pretty(&json(catalog, &a)) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("error: cannot encode JSON: {e}"),
                },
                DataFormat::Human => print!("{}", human(catalog, &a)),
            }
            Outcome::Ok
        }
    }
}

/// The JSON of the CLI contract, plus detail.
pub(crate) fn json(catalog: &Catalog, a: &Answer) -> contract::why::WhyAnswer {
    use contract::why::{Cause, Change, Lead, SuggestedEdge};
    use contract::{EdgeIds, Span, milli};
    let e = &a.explanation;
    // Each metric's own part of the move; the parts add up to 1.
    let parts = whyline_why::attribution::own_parts(e);
    let id = |m: usize| catalog.metrics[m].id.clone();
    let time = |i: usize| format_time(a.grid.time(i));
    let causes = e
        .causes
        .iter()
        .map(|c| Cause {
            metric: id(c.metric),
            score: milli(c.score),
            path: c.path.iter().map(|m| id(*m)).collect(),
            path_shares: c
                .path
                .windows(2)
                .map(|w| e.shares.get(&(w[0], w[1])).map(|s| milli(*s)))
                .collect(),
            explained: milli(c.explained),
            own_share: milli(parts.get(&c.metric).copied().unwrap_or(0.0)),
            evidence: contract::finite(c.evidence),
            owner: catalog.metrics[c.metric].owner.clone(),
            since: c.since.map(time),
            consistent: c.consistent,
            change: Change::from(&c.change),
        })
        .collect();
    let lead = a.lead.as_ref().map(|path| Lead {
        metric: path.last().map(|m| id(*m)),
        unmapped_edges: path
            .windows(2)
            .filter(|w| a.suspected.iter().any(|x| x.to == w[0] && x.from == w[1]))
            .map(|w| EdgeIds {
                from: id(w[1]),
                to: id(w[0]),
            })
            .collect(),
        path: path.iter().map(|m| id(*m)).collect(),
    });
    let span = |r: &std::ops::Range<usize>| Span {
        from: time(r.start),
        to: time(r.end.saturating_sub(1)),
    };
    contract::why::WhyAnswer {
        metric: id(e.target),
        at: time(e.at),
        status: e.status.into(),
        reason: e.reason.clone(),
        change: e.change.as_ref().map(Change::from),
        causes,
        lead,
        unexplained: milli(e.unexplained),
        map_ends: e.causes.first().is_some_and(|c| c.metric == e.target),
        incident: e.windows.as_ref().map(|w| span(&w.incident)),
        baseline: e.windows.as_ref().map(|w| span(&w.baseline)),
        blind: e.blind.iter().map(|m| id(*m)).collect(),
        unmapped_edges: a
            .suspected
            .iter()
            .map(|x| SuggestedEdge {
                from: id(x.from),
                to: id(x.to),
                effect: x.effect.into(),
                lag: whyline_catalog::Duration::from_millis(
                    x.lag as u64 * a.grid.step.max(0) as u64,
                )
                .to_string(),
                strength: milli(x.strength),
            })
            .collect(),
        missing: a.missing.iter().map(contract::Missing::from).collect(),
        holes: a.holes.iter().map(contract::why::Holes::from).collect(),
    }
}

/// `12,345.6`-style numbers with a sensible number of digits, for any f64:
/// past a quadrillion in scientific notation (an i64 cannot hold every such
/// value), infinities as `inf`, `NaN` as `n/a`.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        return "n/a".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let abs = v.abs();
    if abs >= 1e15 {
        format!("{v:.2e}")
    } else if abs >= 100.0 {
        let rounded = v.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if rounded < 0 { format!("-{out}") } else { out }
    } else if abs >= 1.0 {
        format!("{v:.1}")
    } else {
        // A value that rounds to zero is written without a sign.
        let text = format!("{v:.3}");
        if text == "-0.000" {
            "0.000".to_string()
        } else {
            text
        }
    }
}

/// A relative change as a percentage: `+27%`, and past 10,000% in
/// scientific notation rather than a row of digits.
pub(crate) fn percent(relative: f64) -> String {
    let p = relative * 100.0;
    if !p.is_finite() {
        String::new()
    } else if p.abs() >= 10_000.0 {
        format!("{p:+.1e}%")
    } else {
        format!("{p:+.0}%")
    }
}

fn describe_move(catalog: &Catalog, m: usize, c: &Change) -> String {
    let unit = catalog.metrics[m]
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let relative = percent(c.relative);
    let sigma = if c.sigma.abs() >= 1e4 {
        format!("{:+.1e}", c.sigma)
    } else {
        format!("{:+.1}", c.sigma)
    };
    format!(
        "{}{unit} vs {} ({relative}{}{sigma} sigma)",
        number(c.observed),
        number(c.baseline),
        if relative.is_empty() { "" } else { ", " },
    )
}

/// How the asked metric's move divides, in parts that add up to 100% (each
/// metric's own part: see [`whyline_why::attribution`]).
fn parts_line(
    catalog: &Catalog,
    e: &Explanation,
    parts: &std::collections::HashMap<usize, f64>,
) -> String {
    let id = |m: usize| catalog.metrics[m].id.as_str();
    let mut listed: Vec<(usize, f64)> = parts
        .iter()
        .filter(|(m, p)| **m != e.target && **p >= 0.005)
        .map(|(m, p)| (*m, *p))
        .collect();
    listed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    listed.truncate(4);
    let shown: f64 = listed.iter().map(|(_, p)| p).sum();
    let unexplained = e.unexplained;
    let rest = (1.0 - shown - unexplained).max(0.0);
    let mut items: Vec<String> = listed
        .iter()
        .map(|(m, p)| format!("{} ~{:.0}%", id(*m), p * 100.0))
        .collect();
    if rest >= 0.005 {
        items.push(format!("other metrics ~{:.0}%", rest * 100.0));
    }
    items.push(format!("unexplained ~{:.0}%", unexplained * 100.0));
    format!(
        "  {}'s move, in parts that add up: {} (each metric's own move, carried up by the fitted responses)",
        id(e.target),
        items.join(", ")
    )
}

/// The breadcrumb story.
pub(crate) fn human(catalog: &Catalog, a: &Answer) -> String {
    let e = &a.explanation;
    let mut out = String::new();
    let id = |m: usize| catalog.metrics[m].id.as_str();
    let owner = |m: usize| catalog.metrics[m].owner.as_deref().unwrap_or("no owner");
    let hhmm = |i: usize| {
        let t = format_time(a.grid.time(i));
        t.get(11..16).map(str::to_string).unwrap_or(t)
    };
    let _ = writeln!(
        out,
        "{} at {}: {}",
        id(e.target),
        format_time(a.grid.time(e.at)),
        e.reason
    );
    if let Some(c) = &e.change {
        let _ = writeln!(
            out,
            "  {}    owner {}",
            describe_move(catalog, e.target, c),
            owner(e.target)
        );
    }
    if let Some(w) = &e.windows {
        let _ = writeln!(
            out,
            "  incident from {} (baseline {} to {})",
            format_time(a.grid.time(w.incident.start)),
            format_time(a.grid.time(w.baseline.start)),
            format_time(a.grid.time(w.baseline.end.saturating_sub(1)))
        );
    }
    if matches!(e.status, Status::Green | Status::Unknown) {
        if e.causes.is_empty() {
            let _ = writeln!(
                out,
                "\nNot red, and nothing below it moved beyond its normal noise: nothing to explain."
            );
            missing_lines(&mut out, a);
            return out;
        }
        // Asked, it explains (cli.md): within its range, but the move is real.
        let _ = writeln!(
            out,
            "\nWithin its normal range, but it moved the bad way beyond its normal noise, or the map below it did:"
        );
    }
    let parts = whyline_why::attribution::own_parts(e);
    let part = |m: usize| parts.get(&m).copied().unwrap_or(0.0);
    match e.causes.first() {
        None => {
            let _ = writeln!(
                out,
                "\nNo cause could be analysed (see what is missing below)."
            );
        }
        Some(top) if top.metric == e.target => {
            let drivers = catalog.metrics[e.target].drivers.len();
            let _ = writeln!(
                out,
                "\nThe map ends at {}: {} explains the move (unexplained {:.0}%).\nMapping work owed by {}: find what moves it and add it under `drivers:`.",
                id(e.target),
                if drivers == 0 {
                    "it has no mapped drivers, so nothing".to_string()
                } else {
                    format!("none of its {drivers} drivers")
                },
                e.unexplained * 100.0,
                owner(e.target)
            );
        }
        Some(top) => {
            let _ = writeln!(
                out,
                "\nMost likely root cause: {} (its own move accounts for ~{:.0}% of {}'s move)",
                id(top.metric),
                part(top.metric) * 100.0,
                id(e.target)
            );
            for (depth, pair) in top.path.windows(2).enumerate() {
                let (child, driver) = (pair[0], pair[1]);
                let indent = "   ".repeat(depth + 1);
                let moved = e
                    .moves
                    .get(&driver)
                    .map(|c| describe_move(catalog, driver, c))
                    .unwrap_or_else(|| "no data".to_string());
                let root = if driver == top.metric {
                    format!(
                        "  ROOT CAUSE{}",
                        top.since
                            .map(|s| format!(" since {}", hhmm(s)))
                            .unwrap_or_default()
                    )
                } else {
                    String::new()
                };
                let unmapped = if a
                    .suspected
                    .iter()
                    .any(|x| x.from == driver && x.to == child)
                {
                    "  [edge not in the map]"
                } else if catalog.metrics[child]
                    .drivers
                    .iter()
                    .any(|d| d.proposed && d.metric == catalog.metrics[driver].id)
                {
                    "  [proposed edge, not reviewed yet]"
                } else {
                    ""
                };
                // A metric on the way that moved beyond what its drivers
                // predict holds a part of its own.
                let own = if driver != top.metric && part(driver) >= 0.005 {
                    format!("  own part ~{:.0}%", part(driver) * 100.0)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{indent}<- {}  {moved}  owner {}{own}{root}{unmapped}",
                    id(driver),
                    owner(driver)
                );
            }
            let _ = writeln!(out, "{}", parts_line(catalog, e, &parts));
        }
    }
    if !a.suspected.is_empty() {
        let map_ends = e.causes.first().is_some_and(|c| c.metric == e.target);
        let _ = writeln!(
            out,
            "{}",
            if map_ends {
                "\nA lead for that mapping work (suggested by the data, not an answer):"
            } else {
                "\nThe map stops short of this answer: it follows edges the catalog does not have, suggested by the data.\nMapping work owed (add these drivers if they are right):"
            }
        );
        for x in &a.suspected {
            let _ = writeln!(
                out,
                "  {} {} {} (normal-time correlation {:.2}; owner of {}: {})",
                id(x.from),
                x.effect.as_str(),
                id(x.to),
                x.strength,
                id(x.to),
                owner(x.to)
            );
        }
        // Where the lead goes once the map takes over again below it.
        if let Some(path) = a.lead.as_ref().filter(|p| p.len() > 2) {
            let end = path[path.len() - 1];
            let _ = writeln!(
                out,
                "  below it, the map reaches {} (owner {}): {}",
                id(end),
                owner(end),
                path.iter().map(|m| id(*m)).collect::<Vec<_>>().join(" <- ")
            );
        }
    }
    let others: Vec<String> = e
        .causes
        .iter()
        .skip(1)
        .map(|c| {
            format!(
                "  {:.2}  {}{}",
                // The JSON's value (three decimals), so that the page, which
                // writes that value, prints the same digits.
                contract::milli(c.score),
                c.path
                    .iter()
                    .map(|m| id(*m))
                    .collect::<Vec<_>>()
                    .join(" <- "),
                if c.consistent {
                    ""
                } else {
                    "  (moved the wrong way for this path)"
                }
            )
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\nOther candidates:\n{}", others.join("\n"));
    }
    if !e.blind.is_empty() {
        let _ = writeln!(
            out,
            "\nCould not look at (no data): {}",
            e.blind
                .iter()
                .map(|m| id(*m))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    missing_lines(&mut out, a);
    out
}

fn missing_lines(out: &mut String, a: &Answer) {
    for line in crate::common::missing_lines(&a.missing) {
        let _ = writeln!(out, "  missing: {line}");
    }
    for h in &a.holes {
        let _ = writeln!(out, "  holes: {h}");
    }
}

#[cfg(test)]
mod number_tests {
    use super::{number, percent};

    #[test]
    fn every_f64_prints_sensibly() {
        assert_eq!(number(12_345.6), "12,346");
        assert_eq!(number(-1_234_567.0), "-1,234,567");
        assert_eq!(number(0.0123), "0.012");
        assert_eq!(number(1e20), "1.00e20");
        assert_eq!(number(-9.3e300), "-9.30e300");
        assert_eq!(number(f64::MAX), "1.80e308");
        assert_eq!(number(f64::INFINITY), "inf");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
        assert_eq!(number(f64::NAN), "n/a");
        assert_eq!(percent(-0.27), "-27%");
        assert_eq!(percent(1e18), "+1.0e20%");
        assert_eq!(percent(f64::NAN), "");
    }
}
