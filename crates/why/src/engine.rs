//! The engine itself; see the crate docs for the method.

use std::collections::HashMap;
use std::ops::Range;

use whyline_catalog::{Bound, Catalog, Good};
use whyline_map::MetricGraph;
use whyline_stats::{RobustBaseline, mean_shift_after, median, ols};

use crate::path::{breadcrumb, path_signs};

/// Tuning knobs; the defaults suit minute data.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many points before the asked time the incident may have started.
    pub search: usize,
    /// At most this many points of baseline before the incident.
    pub baseline: usize,
    /// Shortest baseline or incident, in points.
    pub min_segment: usize,
    /// Robust z at or above which a metric without thresholds is red.
    pub z_red: f64,
    /// ... and amber.
    pub z_amber: f64,
    /// |z| at or above which a metric counts as having moved.
    pub z_moved: f64,
    /// Grid step, to turn declared lags into points.
    pub step_ms: i64,
    /// How many causes to report at most.
    pub max_causes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            search: 120,
            baseline: 240,
            min_segment: 3,
            z_red: 4.0,
            z_amber: 3.0,
            z_moved: 3.0,
            step_ms: 60_000,
            max_causes: 5,
        }
    }
}

/// Explicit windows (grid indices), e.g. quarter over quarter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    /// The normal period.
    pub baseline: Range<usize>,
    /// The period to explain.
    pub incident: Range<usize>,
}

/// The state of the asked metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Past the red threshold, or far out in the bad direction.
    Red,
    /// Past amber.
    Amber,
    /// Neither.
    Green,
    /// No data to judge.
    Unknown,
}

impl Status {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Red => "red",
            Status::Amber => "amber",
            Status::Green => "green",
            Status::Unknown => "unknown",
        }
    }
}

/// How a metric moved between the windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Baseline level (median).
    pub baseline: f64,
    /// Incident level (median of the incident; for the asked metric, of its last points).
    pub observed: f64,
    /// (observed - baseline) / |baseline|; `NaN` when the baseline is 0.
    pub relative: f64,
    /// The largest robust z-score in the incident, signed.
    pub sigma: f64,
}

/// One ranked cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// The metric (catalog position).
    pub metric: usize,
    /// Relative score: 1 for the best cause.
    pub score: f64,
    /// The raw evidence behind the score (residual or robust z, adjusted).
    pub evidence: f64,
    /// From the asked metric down to this one.
    pub path: Vec<usize>,
    /// Share of the asked metric's move this path explains, in [0, 1], from
    /// the fitted responses along the path.
    pub explained: f64,
    /// How it moved.
    pub change: Change,
    /// Where its own change started (grid index), if one stands out.
    pub since: Option<usize>,
    /// Whether its move pushes the asked metric the way it moved.
    pub consistent: bool,
}

/// The answer to "why is this metric red?".
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The asked metric.
    pub target: usize,
    /// The asked time (grid index).
    pub at: usize,
    /// Red, amber, green, unknown.
    pub status: Status,
    /// Why that status, in words.
    pub reason: String,
    /// The windows compared.
    pub windows: Option<Windows>,
    /// How the asked metric moved.
    pub change: Option<Change>,
    /// Ranked causes, best first; the asked metric itself when the map ends there.
    pub causes: Vec<Cause>,
    /// Share of the asked metric's move its mapped drivers do not predict.
    pub unexplained: f64,
    /// Upstream metrics without data: the engine could not look there.
    pub blind: Vec<usize>,
    /// How every explored metric with data moved.
    pub moves: HashMap<usize, Change>,
    /// (metric, driver) -> share of the metric's move the driver's fitted response predicts.
    pub shares: HashMap<(usize, usize), f64>,
}

/// Per-metric evidence gathered once.
#[derive(Debug, Clone)]
struct Evidence {
    change: Change,
    direction: f64,
    z_max: f64,
    residual: Option<f64>,
    /// Share of this metric's move each driver's fitted response predicts.
    shares: HashMap<usize, f64>,
    /// Share its drivers predict in total.
    explained: f64,
}

fn lag_points(lag_ms: u64, step_ms: i64) -> usize {
    ((lag_ms as f64) / (step_ms.max(1) as f64)).round() as usize
}

fn at_or_nan(x: &[f64], i: isize) -> f64 {
    if i < 0 {
        f64::NAN
    } else {
        x.get(i as usize).copied().unwrap_or(f64::NAN)
    }
}

/// Explains why `target` is (or is not) red at grid index `at`.
///
/// `series(m)` returns metric `m` aligned on the common grid (`NaN` = no
/// data), or `None` when it could not be read.
pub fn explain<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    target: usize,
    at: Option<usize>,
    windows: Option<Windows>,
    settings: &Settings,
) -> Explanation {
    let mut answer = Explanation {
        target,
        at: at.unwrap_or(0),
        status: Status::Unknown,
        reason: String::new(),
        windows: None,
        change: None,
        causes: Vec::new(),
        unexplained: 0.0,
        blind: Vec::new(),
        moves: HashMap::new(),
        shares: HashMap::new(),
    };
    let Some(y) = series(target) else {
        if let Some(windows) = windows {
            // No data for the metric itself: rank what drives it between the windows.
            answer.reason = "no data for this metric itself; ranking what drives it".to_string();
            answer.at = at.unwrap_or(windows.incident.end.saturating_sub(1));
            rank(
                catalog,
                graph,
                series,
                target,
                None,
                &windows,
                settings,
                &mut answer,
            );
            answer.windows = Some(windows);
            return answer;
        }
        answer.reason = "no data for this metric".to_string();
        return answer;
    };
    let last = y.iter().rposition(|v| !v.is_nan());
    let Some(at) = at.map(|a| a.min(y.len().saturating_sub(1))).or(last) else {
        answer.reason = "no data for this metric".to_string();
        return answer;
    };
    answer.at = at;
    let windows = windows.unwrap_or_else(|| find_windows(y, at, settings));
    if windows.baseline.len() < settings.min_segment || windows.incident.is_empty() {
        answer.reason = format!("not enough history before {at} to judge it");
        return answer;
    }
    let metric = &catalog.metrics[target];
    let base_values = &y[windows.baseline.clone()];
    let Some(base) = RobustBaseline::fit(base_values) else {
        answer.reason = "no data in the baseline".to_string();
        return answer;
    };
    // The level "now": the median of the last few points, so one noisy
    // sample neither raises nor clears an alarm.
    let tail_start = windows
        .incident
        .end
        .saturating_sub(3)
        .max(windows.incident.start);
    let observed = median(&y[tail_start..windows.incident.end]).unwrap_or(f64::NAN);
    let incident_level = median(&y[windows.incident.clone()]).unwrap_or(observed);
    let z_now = base.z(observed);
    let (status, reason) = judge(
        metric.thresholds.as_ref().and_then(|t| t.red),
        metric.thresholds.as_ref().and_then(|t| t.amber),
        metric.good,
        observed,
        z_now,
        settings,
    );
    answer.status = status;
    answer.reason = reason;
    answer.change = Some(Change {
        baseline: base.center,
        observed,
        relative: relative(base.center, observed),
        sigma: z_now,
    });
    answer.windows = Some(windows.clone());
    if status == Status::Green || status == Status::Unknown || observed.is_nan() {
        return answer;
    }

    let target_direction = (incident_level - base.center).signum();
    rank(
        catalog,
        graph,
        series,
        target,
        Some(target_direction),
        &windows,
        settings,
        &mut answer,
    );
    answer
}

/// Gathers evidence upstream of `target` and ranks the causes into `answer`.
/// `target_direction` is `None` when the target itself has no data (a scan of
/// what drives it between explicit windows).
#[allow(clippy::too_many_arguments)]
fn rank<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    target: usize,
    target_direction: Option<f64>,
    windows: &Windows,
    settings: &Settings,
    answer: &mut Explanation,
) {
    // Evidence for every metric upstream of the target that has data.
    let upstream = graph.upstream(target);
    let mut evidence: HashMap<usize, Evidence> = HashMap::new();
    for &m in &upstream {
        match series(m) {
            None => answer.blind.push(m),
            Some(x) => {
                if let Some(e) = gather(catalog, graph, series, m, x, windows, settings) {
                    evidence.insert(m, e);
                } else {
                    answer.blind.push(m);
                }
            }
        }
    }
    let target_evidence = evidence.get(&target).cloned();
    if target_evidence.is_none() && target_direction.is_some() {
        return;
    }
    for (&m, e) in &evidence {
        answer.moves.insert(m, e.change);
        for (&d, &share) in &e.shares {
            answer.shares.insert((m, d), share);
        }
    }
    let signs = path_signs(catalog, graph, target);
    let moved = |m: usize| {
        evidence
            .get(&m)
            .is_some_and(|e| e.z_max >= settings.z_moved)
    };

    // Root scores: residual where drivers were fitted, own z otherwise.
    let mut scores: HashMap<usize, (f64, bool)> = HashMap::new();
    for (&m, e) in &evidence {
        let mut score = e.residual.unwrap_or(e.z_max);
        let consistent = m == target
            || target_direction.is_none()
            || signs.get(&m).is_some_and(|set| {
                set.iter()
                    .any(|s| Some(f64::from(*s) * e.direction) == target_direction)
            })
            || e.direction == 0.0;
        if !consistent {
            score *= 0.3;
        }
        if m != target && e.z_max < settings.z_moved {
            // A cause must have moved itself.
            score *= 0.3;
        }
        scores.insert(m, (score, consistent));
    }
    // Prefer the most upstream metric that moved: a metric's score passes to
    // a driver that moved clearly, in the direction that explains it, and no
    // later than it did (CIRCA's descendant adjustment, restricted to edges
    // whose sign and timing agree, so that noise upstream cannot steal it).
    let starts: HashMap<usize, Option<usize>> = evidence
        .keys()
        .map(|&m| {
            (
                m,
                series(m).and_then(|x| start_of_change(x, windows, settings)),
            )
        })
        .collect();
    let mut adjusted: HashMap<usize, f64> = scores.iter().map(|(&m, &(s, _))| (m, s)).collect();
    for &child in &upstream {
        let Some(c) = evidence.get(&child) else {
            continue;
        };
        let child_score = adjusted.get(&child).copied().unwrap_or(0.0);
        if c.z_max < settings.z_moved {
            continue;
        }
        for (driver, edge) in graph.driver_edges(catalog, child) {
            let Some(p) = evidence.get(&driver) else {
                continue;
            };
            let pushes = p.direction * edge.effect.sign() == c.direction;
            let share = c.shares.get(&driver).copied().unwrap_or(0.0);
            let clear =
                p.z_max >= settings.z_moved + 2.0 || (p.z_max >= settings.z_moved && share >= 0.3);
            let lag = lag_points(edge.lag.as_millis(), settings.step_ms);
            let in_time = match (
                starts.get(&driver).copied().flatten(),
                starts.get(&child).copied().flatten(),
            ) {
                (Some(ps), Some(cs)) => ps <= cs + 2 + lag,
                _ => true,
            };
            if pushes && clear && in_time && driver != target {
                let entry = adjusted.entry(driver).or_insert(0.0);
                *entry = entry.max(child_score + 0.1 * p.z_max.min(50.0));
            }
        }
    }
    let mut ranked: Vec<(usize, f64)> = adjusted.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let top = ranked.first().map_or(1.0, |(_, s)| s.max(1e-9));
    answer.unexplained = match &target_evidence {
        None => f64::NAN,
        Some(t) if t.residual.is_some() => (1.0 - t.explained).clamp(0.0, 1.0),
        Some(_) => 1.0,
    };
    for (m, value) in ranked.into_iter().take(settings.max_causes) {
        let Some(e) = evidence.get(&m) else { continue };
        let path = if m == target {
            vec![target]
        } else {
            breadcrumb(catalog, graph, target, m, &moved)
        };
        let explained = if m == target {
            answer.unexplained
        } else {
            path.windows(2)
                .map(|w| {
                    evidence
                        .get(&w[0])
                        .and_then(|c| c.shares.get(&w[1]).copied())
                        .unwrap_or(0.0)
                })
                .product::<f64>()
        };
        answer.causes.push(Cause {
            metric: m,
            score: value / top,
            evidence: value,
            path,
            explained,
            change: e.change,
            since: series(m).and_then(|x| start_of_change(x, windows, settings)),
            consistent: scores.get(&m).is_some_and(|(_, c)| *c),
        });
    }
}

fn relative(baseline: f64, observed: f64) -> f64 {
    if baseline == 0.0 {
        f64::NAN
    } else {
        (observed - baseline) / baseline.abs()
    }
}

/// Status from thresholds when the metric has them, else from the robust z.
fn judge(
    red: Option<Bound>,
    amber: Option<Bound>,
    good: Option<Good>,
    observed: f64,
    z: f64,
    settings: &Settings,
) -> (Status, String) {
    if observed.is_nan() {
        return (Status::Unknown, "no recent data".to_string());
    }
    let hit = |b: Bound| match b {
        Bound::Below(v) => (observed < v).then(|| format!("below {v}")),
        Bound::Above(v) => (observed > v).then(|| format!("above {v}")),
    };
    if red.is_some() || amber.is_some() {
        if let Some(why) = red.and_then(hit) {
            return (Status::Red, format!("red: {why}"));
        }
        if let Some(why) = amber.and_then(hit) {
            return (Status::Amber, format!("amber: {why}"));
        }
        return (Status::Green, "within its thresholds".to_string());
    }
    let bad = match good {
        Some(Good::Higher) => -z,
        Some(Good::Lower) => z,
        None => z.abs(),
    };
    if bad >= settings.z_red {
        (
            Status::Red,
            format!("red: {z:+.1} sigma against its baseline"),
        )
    } else if bad >= settings.z_amber {
        (
            Status::Amber,
            format!("amber: {z:+.1} sigma against its baseline"),
        )
    } else {
        (
            Status::Green,
            format!("no significant move in its bad direction ({z:+.1} sigma)"),
        )
    }
}

/// Incident = from the most likely change in mean within the search range to
/// `at`; baseline = the stretch before it.
fn find_windows(y: &[f64], at: usize, settings: &Settings) -> Windows {
    let end = at + 1;
    let lo = end.saturating_sub(settings.search + settings.baseline);
    let earliest = end.saturating_sub(settings.search).saturating_sub(lo);
    let region = &y[lo..end];
    let start = match mean_shift_after(region, settings.min_segment, earliest) {
        Some(shift) if shift.statistic >= 3.0 => lo + shift.index,
        // No clear start: judge the last few points against what came before.
        _ => end.saturating_sub(settings.min_segment.max(5)),
    };
    Windows {
        baseline: start.saturating_sub(settings.baseline).max(lo.min(start))..start,
        incident: start..end,
    }
}

/// Where a metric's own change began, if one clearly stands out.
fn start_of_change(x: &[f64], windows: &Windows, settings: &Settings) -> Option<usize> {
    let lo = windows.baseline.start;
    let end = windows.incident.end.min(x.len());
    if end <= lo {
        return None;
    }
    let earliest = windows
        .incident
        .start
        .saturating_sub(settings.search / 2)
        .saturating_sub(lo);
    mean_shift_after(&x[lo..end], settings.min_segment, earliest)
        .filter(|s| s.statistic >= 3.0)
        .map(|s| lo + s.index)
}

/// Robust change, anomaly and driver regression of one metric.
fn gather<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    m: usize,
    x: &[f64],
    windows: &Windows,
    settings: &Settings,
) -> Option<Evidence> {
    let baseline = windows.baseline.start.min(x.len())..windows.baseline.end.min(x.len());
    let incident = windows.incident.start.min(x.len())..windows.incident.end.min(x.len());
    let base = RobustBaseline::fit(&x[baseline.clone()])?;
    let level = median(&x[incident.clone()])?;
    let mut z_max: f64 = 0.0;
    let mut z_signed = 0.0;
    for &v in &x[incident.clone()] {
        if v.is_nan() {
            continue;
        }
        let z = base.z(v);
        if z.abs() > z_max {
            z_max = z.abs();
            z_signed = z;
        }
    }
    let delta = level - base.center;
    let change = Change {
        baseline: base.center,
        observed: level,
        relative: relative(base.center, level),
        sigma: z_signed,
    };

    // Regression on the drivers, each shifted by its declared lag.
    let mut drivers: Vec<(usize, Vec<f64>)> = Vec::new();
    for (d, edge) in graph.driver_edges(catalog, m) {
        let Some(p) = series(d) else { continue };
        let lag = lag_points(edge.lag.as_millis(), settings.step_ms) as isize;
        let shifted: Vec<f64> = (0..incident.end)
            .map(|t| at_or_nan(p, t as isize - lag))
            .collect();
        // A driver flat through the baseline carries no information to fit.
        let flat = RobustBaseline::fit(&shifted[baseline.clone()]).is_none_or(|b| {
            let (lo, hi) = shifted[baseline.clone()]
                .iter()
                .filter(|v| !v.is_nan())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(*v), hi.max(*v))
                });
            hi - lo <= 1e-12 * (1.0 + b.center.abs())
        });
        if !flat {
            drivers.push((d, shifted));
        }
    }
    let mut residual = None;
    let mut shares = HashMap::new();
    let mut explained = 0.0;
    if !drivers.is_empty() {
        let y_base = &x[baseline.clone()];
        let columns: Vec<&[f64]> = drivers.iter().map(|(_, s)| &s[baseline.clone()]).collect();
        if let Some(fit) = ols(&columns, y_base) {
            let floor = (base.scale * 0.05).max(1e-9 * (1.0 + base.center.abs()));
            let sigma = fit.sigma.max(floor);
            let mut worst: f64 = 0.0;
            for t in incident.clone() {
                let row: Vec<f64> = drivers.iter().map(|(_, s)| s[t]).collect();
                if x[t].is_nan() || row.iter().any(|v| v.is_nan()) {
                    continue;
                }
                worst = worst.max(((x[t] - fit.predict(&row)) / sigma).abs());
            }
            residual = Some(worst);
            let mut predicted_total = 0.0;
            for ((d, s), b) in drivers.iter().zip(&fit.coefficients) {
                let moved = median(&s[incident.clone()]).unwrap_or(f64::NAN)
                    - median(&s[baseline.clone()]).unwrap_or(f64::NAN);
                let contribution = b * moved;
                if contribution.is_finite() {
                    predicted_total += contribution;
                    if delta != 0.0 {
                        shares.insert(*d, (contribution / delta).clamp(0.0, 1.0));
                    }
                }
            }
            if delta != 0.0 {
                explained = (predicted_total / delta).clamp(0.0, 1.0);
            }
        }
    }
    Some(Evidence {
        change,
        direction: delta.signum(),
        z_max,
        residual,
        shares,
        explained,
    })
}
