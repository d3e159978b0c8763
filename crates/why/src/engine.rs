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
    /// Moves smaller than this share of a metric's level do not count as
    /// moves, however flat its baseline: a practical-significance floor on
    /// the robust scale (1% by default), so a near-constant gauge that steps
    /// by a few bytes does not outrank a real fault.
    pub min_relative_move: f64,
    /// Points per season (a day, a week) when the data may be seasonal; the
    /// engine adjusts for it only where two seasons of history show it.
    pub season: Option<usize>,
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
            min_relative_move: 0.01,
            season: None,
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
    /// Two periods compared as distributions (quarter over quarter): causes
    /// are ranked by the share of the change they account for, and shifts are
    /// judged on medians. Otherwise an incident that starts at `incident.start`.
    pub periods: bool,
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
    /// Fitted response to each driver (units of this metric per unit of the driver).
    coefficients: HashMap<usize, f64>,
    /// The part of its move its drivers do not predict (median residual in
    /// the incident), or its whole move when it has no fitted drivers.
    own_shift: f64,
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
    let Some(period) = settings.season.filter(|p| *p >= 2) else {
        return explain_raw(catalog, graph, series, target, at, windows, settings);
    };
    // Seasonal data: compare each point with the same time of the previous
    // seasons, not with the hour before. The profile is learnt only from data
    // before the incident could have started.
    let length = series(target).map_or(0, <[f64]>::len);
    let cut = match &windows {
        Some(w) => w.incident.start,
        None => {
            at.unwrap_or(length.saturating_sub(1))
                .saturating_sub(settings.search)
                + 1
        }
    };
    let mut adjusted: HashMap<usize, Vec<f64>> = HashMap::new();
    let mut any = false;
    for m in graph.upstream(target) {
        if let Some(x) = series(m) {
            let (values, seasonal) = deseasonalize(x, period, cut.min(x.len()));
            any |= seasonal && m == target;
            adjusted.insert(m, values);
        }
    }
    if !any {
        return explain_raw(catalog, graph, series, target, at, windows, settings);
    }
    let adjusted_series = |m: usize| adjusted.get(&m).map(Vec::as_slice);
    let mut answer = explain_raw(
        catalog,
        graph,
        &adjusted_series,
        target,
        at,
        windows,
        settings,
    );
    answer
        .reason
        .push_str(" (against the same time of previous days)");
    answer
}

/// Removes a repeating profile of `period` points learnt from `x[..cut]`
/// (the median at each phase, over at least two seasons), keeping the level.
/// Returns the series unchanged, and `false`, when there is too little history
/// or the profile explains under a quarter of the variance: subtracting a
/// noisy profile would only add noise.
fn deseasonalize(x: &[f64], period: usize, cut: usize) -> (Vec<f64>, bool) {
    if cut < 2 * period {
        return (x.to_vec(), false);
    }
    let profile: Vec<f64> = (0..period)
        .map(|phase| {
            let same: Vec<f64> = (phase..cut).step_by(period).map(|t| x[t]).collect();
            median(&same).unwrap_or(f64::NAN)
        })
        .collect();
    let level = median(&profile).unwrap_or(0.0);
    let history = &x[..cut];
    let mean = history.iter().filter(|v| !v.is_nan()).sum::<f64>()
        / history.iter().filter(|v| !v.is_nan()).count().max(1) as f64;
    let total: f64 = history
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean).powi(2))
        .sum();
    let explained: f64 = (0..cut)
        .filter(|&t| !x[t].is_nan() && !profile[t % period].is_nan())
        .map(|t| (profile[t % period] - level).powi(2))
        .sum();
    if total <= 0.0 || explained < 0.25 * total {
        return (x.to_vec(), false);
    }
    let values = x
        .iter()
        .enumerate()
        .map(|(t, v)| v - profile[t % period] + level)
        .collect();
    (values, true)
}

/// [`explain`] on series taken as they are.
fn explain_raw<'a>(
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
    let explicit = windows.as_ref().is_some_and(|w| w.periods);
    let windows = windows.unwrap_or_else(|| find_windows(y, at, settings));
    if windows.baseline.len() < settings.min_segment || windows.incident.is_empty() {
        answer.reason = format!("not enough history before {at} to judge it");
        return answer;
    }
    let metric = &catalog.metrics[target];
    let base_values = &y[windows.baseline.clone()];
    let Some(base) = RobustBaseline::fit(base_values).map(|b| floored(b, settings)) else {
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
    let incident_level = median(&y[windows.incident.clone()]).unwrap_or(f64::NAN);
    let (observed, z_now) = if explicit {
        // Two periods: compare their medians, against the standard error of a
        // median (about 1.2533 sigma / sqrt(n), Kenney & Keeping 1962).
        let n_base = base_values.iter().filter(|v| !v.is_nan()).count().max(1) as f64;
        let n_incident = y[windows.incident.clone()]
            .iter()
            .filter(|v| !v.is_nan())
            .count()
            .max(1) as f64;
        // A single point is its own median: its error is one sigma.
        let factor = |n: f64| {
            if n <= 1.0 {
                1.0
            } else {
                std::f64::consts::FRAC_PI_2
            }
        };
        let standard_error =
            base.scale * (factor(n_base) / n_base + factor(n_incident) / n_incident).sqrt();
        (
            incident_level,
            (incident_level - base.center) / standard_error.max(f64::MIN_POSITIVE),
        )
    } else {
        let observed = median(&y[tail_start..windows.incident.end]).unwrap_or(f64::NAN);
        (observed, base.z(observed))
    };
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

    // Counterfactual contribution to the target: the metric's own shift (what
    // its drivers do not predict) carried up through the fitted responses
    // (the total effect, summed over paths; a linear structural model).
    let target_delta = target_evidence
        .as_ref()
        .map(|t| t.change.observed - t.change.baseline);
    let mut total_effect: HashMap<usize, f64> = HashMap::new();
    for &m in &upstream {
        effect_on_target(
            m,
            target,
            graph,
            &evidence,
            &mut total_effect,
            &mut Vec::new(),
        );
    }
    let contribution = |m: usize| -> Option<f64> {
        let delta = target_delta.filter(|d| *d != 0.0 && d.is_finite())?;
        let e = evidence.get(&m)?;
        let share = total_effect.get(&m)? * e.own_shift / delta;
        share.is_finite().then_some(share)
    };
    // Root scores: residual where drivers were fitted, own z otherwise.
    let mut scores: HashMap<usize, (f64, bool)> = HashMap::new();
    for (&m, e) in &evidence {
        let mut score = e.residual.unwrap_or(e.z_max);
        // Moving the target the other way, through the fitted responses,
        // disqualifies a cause as much as a contradicting sign does.
        let pushes_back = m != target && contribution(m).is_some_and(|c| c < -0.05);
        if pushes_back {
            score *= 0.3;
        }
        let consistent = m == target
            || target_direction.is_none()
            || signs.get(&m).is_some_and(|set| {
                set.iter()
                    .any(|s| Some(f64::from(*s) * e.direction) == target_direction)
            })
            || e.direction == 0.0;
        let consistent = consistent && !pushes_back;
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
    let periods = windows.periods && target_delta.is_some_and(|d| d != 0.0 && d.is_finite());
    // Whether a metric moved on its own (its drivers do not explain it),
    // before two-period ranking replaces the scores with shares.
    let own_scores: HashMap<usize, f64> = scores.iter().map(|(&m, &(s, _))| (m, s)).collect();
    if periods {
        // Two periods: rank by the share of the target's change each metric's
        // own shift accounts for (a distribution-change attribution, as
        // DoWhy's `distribution_change`, Budhathoki et al., AISTATS 2021), for
        // metrics whose own shift is significant.
        for (&m, e) in &evidence {
            let share = contribution(m).unwrap_or(0.0).max(0.0);
            let own = e.residual.unwrap_or(e.z_max);
            let weight = if own >= settings.z_moved { 1.0 } else { 0.3 };
            if let Some(entry) = scores.get_mut(&m) {
                entry.0 = 10.0 * share * weight;
            }
        }
    }
    let mut adjusted: HashMap<usize, f64> = scores.iter().map(|(&m, &(s, _))| (m, s)).collect();
    for &child in upstream.iter() {
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
            // The driver must be a candidate root itself (its own drivers do
            // not explain it), not merely carried along by the same cause.
            let own = own_scores.get(&driver).copied().unwrap_or(0.0);
            let clear = own >= settings.z_moved
                && (p.z_max >= settings.z_moved + 2.0
                    || (p.z_max >= settings.z_moved && share >= 0.3));
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
        let explained = if let Some(share) = contribution(m).filter(|_| m != target) {
            share.clamp(0.0, 1.0)
        } else if m == target {
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

/// The total effect of a unit change of `m` on `target` through the fitted
/// responses of the explored map (sum over paths of products). Memoised;
/// `stack` breaks cycles (lagged feedback contributes nothing here).
fn effect_on_target(
    m: usize,
    target: usize,
    graph: &MetricGraph,
    evidence: &HashMap<usize, Evidence>,
    memo: &mut HashMap<usize, f64>,
    stack: &mut Vec<usize>,
) -> f64 {
    if m == target {
        return 1.0;
    }
    if let Some(v) = memo.get(&m) {
        return *v;
    }
    if stack.contains(&m) {
        return 0.0;
    }
    stack.push(m);
    let mut total = 0.0;
    for &child in graph.dependants_of(m) {
        let Some(b) = evidence.get(&child).and_then(|c| c.coefficients.get(&m)) else {
            continue;
        };
        let downstream = effect_on_target(child, target, graph, evidence, memo, stack);
        total += b * downstream;
    }
    stack.pop();
    memo.insert(m, total);
    total
}

/// Applies the practical-significance floor to a baseline's scale.
fn floored(mut base: RobustBaseline, settings: &Settings) -> RobustBaseline {
    base.scale = base
        .scale
        .max(base.center.abs() * settings.min_relative_move);
    base
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
        periods: false,
    }
}

/// Where a metric's own change began, if one clearly stands out.
pub(crate) fn start_of_change(x: &[f64], windows: &Windows, settings: &Settings) -> Option<usize> {
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
    let base = floored(RobustBaseline::fit(&x[baseline.clone()])?, settings);
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
    // Two periods: judge the shift of the median against its standard error
    // (a single point is its own median, with one sigma of error).
    let count =
        |r: &Range<usize>| x[r.clone()].iter().filter(|v| !v.is_nan()).count().max(1) as f64;
    let factor = |n: f64| {
        if n <= 1.0 {
            1.0
        } else {
            std::f64::consts::FRAC_PI_2
        }
    };
    let (n_base, n_incident) = (count(&baseline), count(&incident));
    let standard_error = (factor(n_base) / n_base + factor(n_incident) / n_incident).sqrt();
    if windows.periods {
        z_signed = delta / (base.scale * standard_error);
        z_max = z_signed.abs();
    }
    // Responses are fitted on the baseline, or for two periods on all the
    // history before the second one: more variation, better estimates.
    let fit_range = if windows.periods {
        0..incident.start.min(x.len())
    } else {
        baseline.clone()
    };
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
        let flat = RobustBaseline::fit(&shifted[fit_range.clone()]).is_none_or(|b| {
            let (lo, hi) = shifted[fit_range.clone()]
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
    let mut coefficients = HashMap::new();
    let mut own_shift = delta;
    if !drivers.is_empty() {
        let y_base = &x[fit_range.clone()];
        let columns: Vec<&[f64]> = drivers.iter().map(|(_, s)| &s[fit_range.clone()]).collect();
        let linear = ols(&columns, y_base);
        // Business metrics often multiply (revenue = price x units): where
        // everything is positive, a log-log fit (elasticities) is tried too and
        // kept when it fits clearly better in relative terms.
        let positive = y_base
            .iter()
            .chain(columns.iter().flat_map(|c| c.iter()))
            .all(|v| v.is_nan() || *v > 0.0);
        let logged = positive.then(|| {
            let log_y: Vec<f64> = y_base.iter().map(|v| v.ln()).collect();
            let log_columns: Vec<Vec<f64>> = columns
                .iter()
                .map(|c| c.iter().map(|v| v.ln()).collect())
                .collect();
            let refs: Vec<&[f64]> = log_columns.iter().map(Vec::as_slice).collect();
            ols(&refs, &log_y)
        });
        let use_log = match (&linear, logged.as_ref().and_then(Option::as_ref)) {
            (Some(lin), Some(log)) => {
                log.sigma < 0.8 * lin.sigma / base.center.abs().max(f64::MIN_POSITIVE)
            }
            (None, Some(_)) => true,
            _ => false,
        };
        let fit = if use_log { logged.flatten() } else { linear };
        let predict = |fit: &whyline_stats::Fit, row: &[f64]| -> f64 {
            if use_log {
                let logs: Vec<f64> = row.iter().map(|v| v.ln()).collect();
                fit.predict(&logs).exp()
            } else {
                fit.predict(row)
            }
        };
        if let Some(fit) = fit {
            let floor = (base.scale * 0.05).max(1e-9 * (1.0 + base.center.abs()));
            // In log space sigma is relative: back to units at the baseline level.
            let sigma = if use_log {
                fit.sigma * base.center.abs()
            } else {
                fit.sigma
            }
            .max(floor);
            let mut worst: f64 = 0.0;
            let mut residuals = Vec::new();
            for t in incident.clone() {
                let row: Vec<f64> = drivers.iter().map(|(_, s)| s[t]).collect();
                if x[t].is_nan() || row.iter().any(|v| v.is_nan()) {
                    continue;
                }
                let r = x[t] - predict(&fit, &row);
                residuals.push(r);
                worst = worst.max((r / sigma).abs());
            }
            // The residual's own shift from the baseline period to the incident.
            let base_residuals: Vec<f64> = baseline
                .clone()
                .filter_map(|t| {
                    let row: Vec<f64> = drivers.iter().map(|(_, s)| s[t]).collect();
                    (!x[t].is_nan() && row.iter().all(|v| !v.is_nan()))
                        .then(|| x[t] - predict(&fit, &row))
                })
                .collect();
            own_shift =
                median(&residuals).unwrap_or(delta) - median(&base_residuals).unwrap_or(0.0);
            residual = Some(if windows.periods {
                (own_shift / (sigma * standard_error)).abs()
            } else {
                worst
            });
            // Local responses in units: an elasticity e becomes e * y0 / x0.
            let responses: Vec<f64> = drivers
                .iter()
                .zip(&fit.coefficients)
                .map(|((_, s), b)| {
                    if use_log {
                        let x0 = median(&s[baseline.clone()]).unwrap_or(f64::NAN);
                        b * base.center / x0
                    } else {
                        *b
                    }
                })
                .collect();
            for ((d, _), b) in drivers.iter().zip(&responses) {
                coefficients.insert(*d, *b);
            }
            if std::env::var_os("WHYLINE_DEBUG_FIT").is_some() {
                eprintln!(
                    "fit {} on {:?}: {:?} sigma {}",
                    catalog.metrics[m].id,
                    drivers
                        .iter()
                        .map(|(d, _)| catalog.metrics[*d].id.as_str())
                        .collect::<Vec<_>>(),
                    fit.coefficients,
                    fit.sigma
                );
            }
            let mut predicted_total = 0.0;
            for ((d, s), b) in drivers.iter().zip(&responses) {
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
        coefficients,
        own_shift,
    })
}
