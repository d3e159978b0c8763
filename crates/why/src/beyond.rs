//! Beyond the map: when the walk stops at a metric whose mapped drivers do
//! not explain it, look for an unmapped driver the data points to, and follow it.
//!
//! A suspect must sit in a lower layer (drivers point upward: system ->
//! service -> business), have moved clearly, no later than the metric, in the
//! direction the normal-time association says pushes the metric the way it
//! moved, and be associated with it in normal times (lagged correlation of
//! first differences over the baseline). The suspected edge is added to a copy
//! of the map and the question asked again; the answer names every edge it
//! took that the catalog does not have, so the mapping work is explicit.
//! The asked metric itself is never extended: when its own drivers do not
//! explain it, the map ends there (the CLI contract).

use whyline_catalog::{Catalog, Driver, Duration, Effect};
use whyline_map::MetricGraph;
use whyline_stats::{RobustBaseline, median};

use crate::engine::{
    Cause, Change, Explanation, Settings, Status, Windows, explain, start_of_change,
};
use crate::tuning::{
    EXPLAINED_ENOUGH, SUSPECT_CORRELATION, SUSPECT_MARGIN, SUSPECT_MAX_LAG, SUSPECT_MOVE_CAP,
    start_slack,
};

/// An edge the data suggests and the answer used: (driver, metric, effect, lag in points).
#[derive(Debug, Clone, PartialEq)]
pub struct SuspectedEdge {
    /// The unmapped driver.
    pub from: usize,
    /// The metric it seems to drive.
    pub to: usize,
    /// The sign the data shows.
    pub effect: Effect,
    /// Normal-time correlation of first differences at the best lag.
    pub strength: f64,
    /// The lag, in points.
    pub lag: usize,
}

/// Pearson correlation of the complete pairs; 0 with fewer than 10 pairs
/// (too few normal-time steps to suggest an edge) or a flat series.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (r, n) = whyline_stats::pearson(a, b);
    if n < 10 || !r.is_finite() { 0.0 } else { r }
}

/// Like [`explain`], but may follow edges the data suggests from among
/// `suspects` when the walk stops short of the asked metric's root.
#[allow(clippy::too_many_arguments)]
pub fn explain_beyond<'a>(
    catalog: &Catalog,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    target: usize,
    at: Option<usize>,
    windows: Option<Windows>,
    settings: &Settings,
    suspects: &[usize],
    max_hops: usize,
) -> (Explanation, Vec<SuspectedEdge>) {
    let mut map = catalog.clone();
    let mut graph = MetricGraph::new(&map);
    let mut answer = explain(&map, &graph, series, target, at, windows.clone(), settings);
    let mut taken: Vec<SuspectedEdge> = Vec::new();
    for _ in 0..max_hops {
        if !matches!(answer.status, Status::Red | Status::Amber) {
            break;
        }
        let Some(top) = answer.causes.first() else {
            break;
        };
        let stop = top.metric;
        if stop == target {
            break;
        }
        // Do its mapped drivers explain it? Then the walk did not stop short.
        let explained: f64 = graph
            .drivers_of(stop)
            .map(|d| answer.shares.get(&(stop, d)).copied().unwrap_or(0.0))
            .sum();
        if explained >= EXPLAINED_ENOUGH {
            break;
        }
        let Some(w) = answer.windows.clone() else {
            break;
        };
        let Some(edge) = best_suspect(&map, &graph, series, target, stop, &w, settings, suspects)
        else {
            break;
        };
        let location = map.metrics[stop].location;
        let driver_id = map.metrics[edge.from].id.clone();
        map.metrics[stop].drivers.push(Driver {
            metric: driver_id,
            effect: edge.effect,
            lag: Duration::from_millis(edge.lag as u64 * settings.step_ms.max(1) as u64),
            why: Some("suggested by the data, not in the catalog".to_string()),
            origin: Some("data".to_string()),
            proposed: true,
            location,
        });
        taken.push(edge);
        graph = MetricGraph::new(&map);
        answer = explain(&map, &graph, series, target, at, windows.clone(), settings);
    }
    // When the map ends at the asked metric itself, it stays first (the CLI
    // contract), but a suspect the data points to is named after it, as a
    // lead for the mapping work owed, never as the answer.
    if matches!(answer.status, Status::Red | Status::Amber)
        && answer.causes.first().is_some_and(|c| c.metric == target)
    {
        if let Some(w) = answer.windows.clone() {
            if let Some(edge) =
                best_suspect(&map, &graph, series, target, target, &w, settings, suspects)
            {
                if let Some(x) = series(edge.from) {
                    // Follow the lead down the map: with the suggested edge
                    // added, what does the walk below it reach?
                    let mut extended = map.clone();
                    let location = extended.metrics[target].location;
                    let lead_id = extended.metrics[edge.from].id.clone();
                    extended.metrics[target].drivers.push(Driver {
                        metric: lead_id,
                        effect: edge.effect,
                        lag: Duration::from_millis(
                            edge.lag as u64 * settings.step_ms.max(1) as u64,
                        ),
                        why: Some("suggested by the data, not in the catalog".to_string()),
                        origin: Some("data".to_string()),
                        proposed: true,
                        location,
                    });
                    let extended_graph = MetricGraph::new(&extended);
                    let below = explain(
                        &extended,
                        &extended_graph,
                        series,
                        target,
                        at,
                        windows.clone(),
                        settings,
                    );
                    let deeper = below
                        .causes
                        .iter()
                        .find(|c| c.path.get(1) == Some(&edge.from))
                        .cloned();
                    let evidence = answer.causes.first().map_or(0.0, |c| c.evidence) * 0.5;
                    let cause = match deeper {
                        Some(c) => Cause {
                            score: 0.5,
                            evidence,
                            explained: 0.0,
                            ..c
                        },
                        None => Cause {
                            metric: edge.from,
                            score: 0.5,
                            evidence,
                            path: vec![target, edge.from],
                            explained: 0.0,
                            change: change_of(x, &w),
                            since: start_of_change(x, &w, settings),
                            consistent: true,
                        },
                    };
                    answer.causes.retain(|c| c.metric != cause.metric);
                    answer.causes.insert(1.min(answer.causes.len()), cause);
                    answer.causes.truncate(settings.max_causes.max(2));
                    taken.push(edge);
                }
            }
        }
    }
    (answer, taken)
}

/// How a metric outside the explored map moved between the windows.
fn change_of(x: &[f64], w: &Windows) -> Change {
    let end = w.incident.end.min(x.len());
    let base = RobustBaseline::fit(&x[w.baseline.clone()]);
    let center = base.map_or(f64::NAN, |b| b.center);
    let observed = median(&x[w.incident.start.min(end)..end]).unwrap_or(f64::NAN);
    let sigma = x[w.incident.start.min(end)..end]
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| base.map_or(0.0, |b| b.z(*v)))
        .fold(0.0, |acc: f64, z| if z.abs() > acc.abs() { z } else { acc });
    Change {
        baseline: center,
        observed,
        relative: if center == 0.0 {
            f64::NAN
        } else {
            (observed - center) / center.abs()
        },
        sigma,
    }
}

#[allow(clippy::too_many_arguments)]
fn best_suspect<'a>(
    map: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    target: usize,
    stop: usize,
    windows: &Windows,
    settings: &Settings,
    suspects: &[usize],
) -> Option<SuspectedEdge> {
    let y = series(stop)?;
    let end = windows.incident.end.min(y.len());
    let base_y = RobustBaseline::fit(&y[windows.baseline.clone()])?;
    let direction_y = (median(&y[windows.incident.start..end])? - base_y.center).signum();
    let start_y = start_of_change(y, windows, settings);
    let dy = whyline_stats::first_differences(&y[windows.baseline.clone()]);
    let mapped = graph.upstream(stop);
    let mut below = graph.downstream(target);
    below.extend(graph.downstream(stop));
    let layer = map.metrics[stop].layer;
    let mut best: Option<(f64, SuspectedEdge)> = None;
    for &s in suspects {
        if s == stop || mapped.contains(&s) || below.contains(&s) || map.metrics[s].layer <= layer {
            continue;
        }
        let Some(x) = series(s) else { continue };
        let Some(base) = RobustBaseline::fit(&x[windows.baseline.clone()]) else {
            continue;
        };
        let z = x[windows.incident.start..end.min(x.len())]
            .iter()
            .filter(|v| !v.is_nan())
            .map(|v| base.z(*v).abs())
            .fold(0.0, f64::max);
        if z < settings.z_moved + SUSPECT_MARGIN {
            continue;
        }
        if let (Some(ss), Some(sy)) = (start_of_change(x, windows, settings), start_y) {
            if ss > sy + start_slack(windows.incident.len()) {
                continue;
            }
        }
        let direction_x = (median(&x[windows.incident.start..end.min(x.len())])
            .unwrap_or(base.center)
            - base.center)
            .signum();
        let dx = whyline_stats::first_differences(&x[windows.baseline.clone()]);
        let Some((r, lag)) = (0..=SUSPECT_MAX_LAG)
            .map(|lag| (correlation(&dy, &whyline_stats::delayed(&dx, lag)), lag))
            .max_by(|a, b| a.0.abs().total_cmp(&b.0.abs()))
        else {
            continue;
        };
        if r.abs() < SUSPECT_CORRELATION || r.signum() * direction_x != direction_y {
            continue;
        }
        let score = r.abs() * z.min(SUSPECT_MOVE_CAP);
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((
                score,
                SuspectedEdge {
                    from: s,
                    to: stop,
                    effect: if r > 0.0 {
                        Effect::Increases
                    } else {
                        Effect::Decreases
                    },
                    strength: r.abs(),
                    lag,
                },
            ));
        }
    }
    best.map(|(_, e)| e)
}
