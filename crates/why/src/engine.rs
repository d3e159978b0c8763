//! The engine itself; see the crate docs for the method.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use whyline_catalog::{Catalog, Good};
use whyline_map::MetricGraph;
use whyline_stats::{
    EventRate, RobustBaseline, Tail, bh_adjusted_surprise, mean_shift_after, median, ols,
    order_surprise, window_surprise,
};

use crate::path::{breadcrumb, path_signs};
use crate::status::{floored, judge_raw, relative, season_cut};
use crate::tuning::{
    BACKGROUND_RATIO, CHANGE_STATISTIC, CLEAR_SHARE, DEMOTED, DOMINANT_MOVE_MARGIN, DOMINANT_SHARE,
    PINNED_POINTS, PRE_POINTS, PUSHES_BACK, RECENT_POINTS, START_SLACK, SUSTAINED_SIGMAS,
    UPSTREAM_BONUS, UPSTREAM_CAP, start_slack,
};
use whyline_stats::deseasonalize;

/// Tuning knobs; the defaults suit minute data.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How many points before the asked time the incident may have started.
    pub search: usize,
    /// At most this many points of baseline before the incident.
    pub baseline: usize,
    /// Shortest baseline or incident, in points.
    pub min_segment: usize,
    /// Fewest baseline points with data to judge a metric without thresholds
    /// by its robust z at a moment: a MAD-based scale from `n` points has a
    /// standard error of about `1.17 sigma / sqrt(n)` (efficiency 37%,
    /// Rousseeuw & Croux 1993), over 20% below 30 points, enough to turn an
    /// ordinary 3-sigma wiggle red. Given windows keep `min_segment`.
    pub min_judge_baseline: usize,
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
    /// Surprise (nats, `-ln p`) of an incident's worst excursion against the
    /// metric's own normal behaviour, corrected for the window's length, at
    /// or above which it moved beyond its normal noise: `ln 100`, p < 0.01.
    /// For the metrics below the asked one the p-values are first adjusted
    /// for the number of metrics explored (Benjamini–Hochberg).
    pub moved_nats: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            search: 120,
            baseline: 240,
            min_segment: 3,
            min_judge_baseline: 30,
            z_red: 4.0,
            z_amber: 3.0,
            z_moved: 3.0,
            step_ms: 60_000,
            max_causes: 5,
            min_relative_move: 0.01,
            season: None,
            moved_nats: 100f64.ln(),
        }
    }
}

impl Settings {
    /// The settings every front end uses on a grid of `points` points `step_ms`
    /// apart, so `why`, `audit`, `review`, `report` and `serve` judge alike:
    /// the incident may have started up to two hours before the asked time,
    /// against up to four hours of baseline (the defaults' 120 and 240 points
    /// on minute data; a finer grid holds more points over the same spans);
    /// the season is a week when three weeks of data could show one, else a day.
    pub fn for_grid(step_ms: i64, points: usize) -> Settings {
        let day = 86_400_000;
        let week = 7 * day;
        let span = points as i64 * step_ms;
        let season_ms = if span >= 3 * week { week } else { day };
        let defaults = Settings::default();
        let count = |ms: i64| (ms / step_ms.max(1)) as usize;
        Settings {
            step_ms,
            season: (step_ms > 0 && season_ms % step_ms == 0 && step_ms < day)
                .then(|| (season_ms / step_ms) as usize),
            search: defaults.search.max(count(2 * 3_600_000)),
            baseline: defaults.baseline.max(count(4 * 3_600_000)),
            ..defaults
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
    /// Share of the asked metric's move the map leaves unexplained: its own part ([`crate::attribution`]).
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
    /// Fitted response to each driver (units of this metric per unit of the driver).
    coefficients: HashMap<usize, f64>,
    /// The part of its move its drivers do not predict (median residual in
    /// the incident), or its whole move when it has no fitted drivers.
    own_shift: f64,
    /// Per-point surprises of the metric itself.
    raw: Pointwise,
    /// ... and of the part its drivers do not predict (the residual), or of
    /// the metric itself when it has no fitted drivers.
    own: Pointwise,
}

/// The surprise (nats) of an incident's worst rise and worst fall against the
/// baseline's own tail ([`whyline_stats::Tail`]), corrected for the number of
/// points in the incident ([`whyline_stats::window_surprise`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Excursion {
    up: f64,
    down: f64,
}

impl Excursion {
    /// Measures `x[incident]` against `x[baseline]`.
    fn measure(
        x: &[f64],
        baseline: Range<usize>,
        incident: Range<usize>,
        settings: &Settings,
    ) -> Self {
        let base = &x[baseline.start.min(x.len())..baseline.end.min(x.len())];
        let Some(center) = median(base) else {
            return Excursion::default();
        };
        let floor = (center.abs() * settings.min_relative_move).max(1e-9);
        let (Some(up), Some(down)) = (
            Tail::fit(base, center, 1.0, floor),
            Tail::fit(base, center, -1.0, floor),
        ) else {
            return Excursion::default();
        };
        let values: Vec<f64> = x[incident.start.min(x.len())..incident.end.min(x.len())]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let worst = |tail: &Tail, direction: f64| {
            values
                .iter()
                .map(|v| tail.surprise_deviation(direction * (v - center)))
                .fold(0.0, f64::max)
        };
        // A few points are also judged together (a run of moderately
        // unusual points), calibrated against the baseline's own disjoint
        // windows of as many points; the larger of the two tests, less `ln 2` for
        // having run two (Bonferroni), counts.
        let together = |tail: &Tail, direction: f64| -> Option<f64> {
            let n = values.len();
            if !(2..2 * RECENT_POINTS).contains(&n) || base.len() < 4 * n {
                return None;
            }
            let surprises = |points: &[f64]| -> Vec<f64> {
                points
                    .iter()
                    .map(|v| {
                        if v.is_finite() {
                            tail.surprise_deviation(direction * (v - center))
                        } else {
                            0.0
                        }
                    })
                    .collect()
            };
            // Disjoint windows: overlapping ones are not independent draws,
            // and would claim a resolution the baseline does not have.
            let normal: Vec<f64> = surprises(base)
                .chunks_exact(n)
                .map(order_surprise)
                .collect();
            Tail::fit(&normal, 0.0, 1.0, 1.0).map(|calibration| {
                calibration.surprise_deviation(order_surprise(&surprises(&values)))
            })
        };
        let judged = |tail: &Tail, direction: f64| {
            let worst = window_surprise(worst(tail, direction), values.len());
            match together(tail, direction) {
                Some(together) => (worst.max(together) - std::f64::consts::LN_2).max(0.0),
                None => worst,
            }
        };
        Excursion {
            up: judged(&up, 1.0),
            down: judged(&down, -1.0),
        }
    }

    /// The surprise in a direction (+1 up, -1 down, 0 either: the larger,
    /// less `ln 2` for having looked both ways).
    fn toward(&self, direction: f64) -> f64 {
        if direction > 0.0 {
            self.up
        } else if direction < 0.0 {
            self.down
        } else {
            (self.up.max(self.down) - std::f64::consts::LN_2).max(0.0)
        }
    }

    /// The direction of the larger excursion.
    fn direction(&self) -> f64 {
        if self.up >= self.down { 1.0 } else { -1.0 }
    }
}

/// Per-point surprises (nats) of a series from the end of its reference
/// sample to the end of the incident, both ways, against the reference
/// sample's own tails (the baseline less its last [`PRE_POINTS`]).
#[derive(Debug, Clone, Default)]
struct Pointwise {
    /// Grid index of the first point of `history`.
    history_from: usize,
    /// The reference's last points, from where a change may be located.
    history: Vec<f64>,
    /// Grid index of the first scored point.
    from: usize,
    /// Surprise of a rise at each scored point (0 where there is no data).
    up: Vec<f64>,
    /// ... and of a fall.
    down: Vec<f64>,
    /// The scored values, their reference's median and robust sigma, and
    /// the share of a point that is independent information (`(1 - r) /
    /// (1 + r)`, `r` the reference's lag-1 autocorrelation: Bartlett's
    /// effective sample size), for the level test.
    values: Vec<f64>,
    center: f64,
    scale: f64,
    independence: f64,
}

impl Pointwise {
    /// `floor` bounds the tails' scale from below (a practical-significance
    /// floor from the metric's level; a residual's own level is about 0).
    /// `earliest`: the first point a change of the metric may be located
    /// at (see [`start_of_change`]); the reference's points from there are
    /// kept, to measure how much a change that began there grew since.
    fn measure(
        x: &[f64],
        baseline: &Range<usize>,
        incident: &Range<usize>,
        floor: f64,
        earliest: usize,
    ) -> Self {
        // Departures under the practical-significance floor are no move at
        // all: against a pinned reference (an availability at 100%, a
        // residual that is constant in normal times) any tiny departure
        // would otherwise beat every normal point.
        let negligible = floor;
        let end = incident.end.min(x.len());
        let reference_end = if baseline.len() > 2 * PRE_POINTS {
            baseline.end - PRE_POINTS
        } else {
            baseline.end
        }
        .min(end);
        let reference = &x[baseline.start.min(reference_end)..reference_end];
        let Some(center) = median(reference) else {
            return Pointwise::default();
        };
        let scored = &x[reference_end..end];
        // A reference without any spread (a metric pinned at 0 in normal
        // operation) has no scale of its own: moves are measured in 1% of the
        // larger of its level and what it moved to, not in the tiny floor.
        let (lo, hi) = reference
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        // The tails' scale is at least 1% of the largest magnitude the metric
        // had in normal operation (a count near 0 has no level to take 1% of).
        let floor = floor.max(0.01 * lo.abs().max(hi.abs()).min(f64::MAX));
        let floor = if hi <= lo {
            let largest = scored
                .iter()
                .filter(|v| v.is_finite())
                .fold(center.abs(), |a, v| a.max(v.abs()));
            floor.max(largest * 0.01)
        } else {
            floor
        };
        let (Some(up), Some(down)) = (
            Tail::fit(reference, center, 1.0, floor),
            Tail::fit(reference, center, -1.0, floor),
        ) else {
            return Pointwise::default();
        };
        let surprise = |tail: &Tail, direction: f64| -> Vec<f64> {
            scored
                .iter()
                .map(|v| {
                    let deviation = direction * (v - center);
                    if v.is_finite() && deviation >= negligible {
                        tail.surprise_deviation(deviation)
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let scale = RobustBaseline::fit(reference).map_or(floor, |b| b.scale.max(floor));
        let history_from = earliest.min(reference_end);
        Pointwise {
            history_from,
            history: x[history_from..reference_end].to_vec(),
            from: reference_end,
            up: surprise(&up, 1.0),
            down: surprise(&down, -1.0),
            values: scored.to_vec(),
            center,
            scale,
            independence: independence(reference),
        }
    }

    /// The surprise (nats) of the median over grid indices `range` sitting
    /// where it does toward `direction` (0: either way, less `ln 2`): a
    /// sustained shift of a few sigma over many points is unusual although
    /// no single point is. The median's standard error is `1.2533 sigma /
    /// sqrt(n_eff)` (Kenney & Keeping 1962), the normal tail gives `p`.
    fn level(&self, direction: f64, range: Range<usize>) -> f64 {
        let window = self.window(range);
        let Some(level) = median(&window) else {
            return 0.0;
        };
        let n_eff = (window.len() as f64 * self.independence).max(1.0);
        let z = (level - self.center) / (self.scale * whyline_stats::median_variance(n_eff).sqrt());
        toward_surprise(z, direction)
    }

    /// The finite values at grid indices `range`, from the kept reference
    /// points (`history`) and the scored ones.
    fn window(&self, range: Range<usize>) -> Vec<f64> {
        range
            .filter_map(|t| {
                if t >= self.from {
                    self.values.get(t - self.from)
                } else {
                    t.checked_sub(self.history_from)
                        .and_then(|i| self.history.get(i))
                }
            })
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    }

    /// How far the median over grid indices `range` sits from the
    /// reference's toward `direction` (0: either way), in robust sigmas of
    /// single points: the size of a shift, where [`Pointwise::level`] is its
    /// significance.
    fn shift(&self, direction: f64, range: Range<usize>) -> f64 {
        let Some(level) = median(&self.window(range)) else {
            return 0.0;
        };
        let sigmas = (level - self.center) / self.scale.max(f64::MIN_POSITIVE);
        if direction == 0.0 {
            sigmas.abs()
        } else {
            direction.signum() * sigmas
        }
    }

    /// The surprise (nats) of the median over `after` sitting beyond the
    /// median over `before` toward `direction`: how much a change that began
    /// before the focus kept growing into it (a ramp that leads its effect),
    /// where a step long before does not. Both medians' standard errors as in
    /// [`Pointwise::level`]; 0 with fewer than [`RECENT_POINTS`] points before.
    fn growth(&self, direction: f64, before: Range<usize>, after: Range<usize>) -> f64 {
        let (early, late) = (self.window(before), self.window(after));
        if early.len() < RECENT_POINTS {
            return 0.0;
        }
        let (Some(from), Some(to)) = (median(&early), median(&late)) else {
            return 0.0;
        };
        let n_eff = |n: usize| (n as f64 * self.independence).max(1.0);
        let error = self.scale
            * (whyline_stats::median_variance(n_eff(early.len()))
                + whyline_stats::median_variance(n_eff(late.len())))
            .sqrt();
        toward_surprise((to - from) / error.max(f64::MIN_POSITIVE), direction)
    }

    /// Replaces the bad direction's surprises of a share (`unit: "%"`, or
    /// values within 0..1) that has a `volume:` by the binomial surprise of
    /// its bad events among that many ([`whyline_stats::EventRate`]),
    /// calibrated against the normal buckets' own:
    /// a 3% failure rate over 1,000 requests is stronger evidence than 8%
    /// over 50.
    fn weigh_by_volume(
        &mut self,
        metric: &whyline_catalog::Metric,
        x: &[f64],
        volume: &[f64],
        baseline: &Range<usize>,
    ) {
        let Some(good) = metric.good else { return };
        let reference = baseline.start..self.from.max(baseline.start);
        let in_unit = |r: Range<usize>| {
            x[r].iter()
                .filter(|v| v.is_finite())
                .all(|v| (0.0..=1.0).contains(v))
        };
        let scale = if metric.unit.as_deref().is_some_and(|u| u.trim() == "%") {
            100.0
        } else if in_unit(reference.clone()) {
            1.0
        } else {
            return;
        };
        let bad = |t: usize| -> (f64, f64) {
            let (v, n) = (
                x.get(t).copied().unwrap_or(f64::NAN),
                volume.get(t).copied().unwrap_or(f64::NAN),
            );
            let share = match good {
                Good::Higher => (scale - v) / scale,
                Good::Lower => v / scale,
            };
            (share.clamp(0.0, 1.0) * n, n)
        };
        let buckets: Vec<(f64, f64)> = reference.map(bad).collect();
        let Some(model) = EventRate::fit(&buckets) else {
            return;
        };
        // Calibrated against the normal buckets' own binomial surprises, so
        // that failures which come in bursts get the credit their history allows.
        let normal: Vec<f64> = buckets
            .iter()
            .map(|(k, n)| model.surprise(*k, *n))
            .collect();
        let Some(calibration) = Tail::fit(&normal, 0.0, 1.0, 1.0) else {
            return;
        };
        let surprises: Vec<f64> = (self.from..self.from + self.up.len())
            .map(|t| {
                let (k, n) = bad(t);
                calibration.surprise_deviation(model.surprise(k, n))
            })
            .collect();
        match good {
            Good::Higher => self.down = surprises,
            Good::Lower => self.up = surprises,
        }
    }

    /// The largest surprise toward `direction` (+1, -1; 0 either way, less
    /// `ln 2`) over grid indices `range`.
    fn worst(&self, direction: f64, range: Range<usize>) -> f64 {
        let pick = |values: &[f64]| {
            range
                .clone()
                .filter_map(|t| t.checked_sub(self.from).and_then(|i| values.get(i)))
                .fold(0.0f64, |a, b| a.max(*b))
        };
        if direction > 0.0 {
            pick(&self.up)
        } else if direction < 0.0 {
            pick(&self.down)
        } else {
            (pick(&self.up).max(pick(&self.down)) - std::f64::consts::LN_2).max(0.0)
        }
    }

    /// The surprise toward `direction` at grid index `t`.
    fn at(&self, direction: f64, t: usize) -> f64 {
        self.worst(direction, t..t + 1)
    }
}

/// `(1 - r) / (1 + r)` for the lag-1 autocorrelation `r` of `x` (NaNs
/// skipped), clamped to (0.05, 1]: how much independent information one
/// point of an autocorrelated series carries (Bartlett 1946).
fn independence(x: &[f64]) -> f64 {
    let values: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if values.len() < 3 {
        return 1.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    if var <= 0.0 {
        return 1.0;
    }
    let cov: f64 = values
        .windows(2)
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum();
    let r = (cov / var).clamp(0.0, 0.99);
    ((1.0 - r) / (1.0 + r)).clamp(0.05, 1.0)
}

/// The normal tail surprise of a z toward `direction` (+1 up, -1 down; 0
/// either way, less `ln 2` for having looked both ways).
fn toward_surprise(z: f64, direction: f64) -> f64 {
    if direction > 0.0 {
        normal_upper_tail_surprise(z)
    } else if direction < 0.0 {
        normal_upper_tail_surprise(-z)
    } else {
        (normal_upper_tail_surprise(z.abs()) - std::f64::consts::LN_2).max(0.0)
    }
}

/// `-ln P(Z >= z)` for a standard normal `Z`: `erfc` for moderate `z`, the
/// asymptotic `z^2/2 + ln(z sqrt(2 pi))` where `erfc` underflows
/// (Abramowitz & Stegun 26.2.12); 0 for `z <= 0`.
fn normal_upper_tail_surprise(z: f64) -> f64 {
    if !z.is_finite() || z <= 0.0 {
        return if z == f64::INFINITY { f64::MAX } else { 0.0 };
    }
    if z < 30.0 {
        -(0.5 * libm::erfc(z / std::f64::consts::SQRT_2)).ln()
    } else {
        z * z / 2.0 + (z * (2.0 * std::f64::consts::PI).sqrt()).ln()
    }
}

/// Where, inside the incident, the asked metric's own excursion is: the
/// points it is scored on (`focus`) and the points that tell a background
/// shift from a cause (`background`: just before the focus, and after the
/// asked metric recovered).
#[derive(Debug, Clone)]
struct Focus {
    /// The asked metric's first unusual point (or its worst).
    first: usize,
    focus: Range<usize>,
    background: Vec<usize>,
}

/// When a metric's own change began, against the asked metric's.
#[derive(Debug, Clone, Copy, Default)]
struct Early {
    /// Before the asked metric's by more than a cause may lead: an unusual
    /// background before the focus then counts against it.
    began_before: bool,
    /// Before even the scored points ahead of the focus: a background
    /// shift, unless it kept growing into the focus.
    long_before: bool,
    /// Where its own change began.
    own_start: Option<usize>,
}

impl Focus {
    /// From the asked metric's per-point surprises toward `direction`: the
    /// focus runs from its first unusual point (less `lead` points a cause
    /// may lead by) to the incident's end.
    fn locate(
        target: &Pointwise,
        direction: f64,
        incident: &Range<usize>,
        lead: usize,
        settings: &Settings,
    ) -> Self {
        let points: Vec<(usize, f64)> = incident
            .clone()
            .map(|t| (t, target.at(direction, t)))
            .collect();
        let unusual: Vec<usize> = points
            .iter()
            .filter(|(_, s)| *s >= settings.moved_nats)
            .map(|(t, _)| *t)
            .collect();
        // Only the run of unusual points that lasts until now counts: one
        // unusual point long before the asked time is not this incident.
        let recent = incident.end.saturating_sub(RECENT_POINTS);
        let run_start = unusual.last().filter(|l| **l >= recent).map(|&last| {
            let mut first = last;
            for &t in unusual.iter().rev() {
                if first - t > RECENT_POINTS {
                    break;
                }
                first = t;
            }
            (first, last)
        });
        // A sustained shift since the incident's change point (a step or a
        // ramp a few sigma high, whose single points are rarely unusual) is
        // the incident from that point on, not only its last unusual run.
        // The incident's start was searched for (the most unusual change
        // among `search` places), so its level pays for that search
        // (Bonferroni) before it counts.
        // And the shift must hold now: a slow drift over a long window is
        // significant as a whole but not in its recent points.
        let searched = (settings.search.max(1) as f64).ln();
        let lately = incident.end.saturating_sub(2 * RECENT_POINTS)..incident.end;
        let sustained = incident.len() >= 2 * RECENT_POINTS
            && target.level(direction, incident.clone()) >= settings.moved_nats + searched
            && target.level(direction, lately.clone()) >= settings.moved_nats
            && target.shift(direction, lately) >= SUSTAINED_SIGMAS;
        let (first, last) = match run_start {
            Some((_, last)) if sustained => (incident.start, last),
            None if sustained => (incident.start, incident.end.saturating_sub(1)),
            Some(run) => run,
            _ => {
                // Never unusual: the question is about now, so only its
                // worst recent point (the last RECENT_POINTS) is the focus.
                let recent = incident.end.saturating_sub(RECENT_POINTS);
                let worst = points
                    .iter()
                    .filter(|(t, _)| *t >= recent)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(incident.start, |(t, _)| *t);
                (worst, worst)
            }
        };
        // A cause may have begun just before the incident the asked metric's
        // change point marks (a spike upstream leads by its lag): the focus
        // reaches back into the scored points before the incident too.
        let start = first
            .saturating_sub(lead)
            .max(target.from.min(incident.start));
        let mut background: Vec<usize> = (target.from..start).collect();
        // After the asked metric recovered (calm: p > 0.2), a cause under a
        // short lag should have calmed too.
        background.extend(
            points
                .iter()
                .filter(|(t, s)| *t > last + lead && *s < 5f64.ln())
                .map(|(t, _)| *t),
        );
        Focus {
            first,
            focus: start..incident.end,
            background,
        }
    }

    /// The surprise of a metric's excursion toward `direction` in the focus,
    /// less its surprise in the background when that was itself unusual,
    /// corrected for the number of points looked at.
    /// `early`: the metric's own change began before the asked metric's
    /// by more than a cause may lead; only then does an unusual background
    /// before the focus count against it (after the recovery it always does).
    fn surprise(
        &self,
        points: &Pointwise,
        direction: f64,
        early: Early,
        settings: &Settings,
    ) -> f64 {
        let Early {
            began_before: early,
            long_before,
            own_start,
        } = early;
        let coincident = points.worst(direction, self.focus.clone());
        let background = self
            .background
            .iter()
            .filter(|&&t| early || t >= self.focus.start)
            .map(|&t| points.at(direction, t))
            .fold(0.0f64, f64::max);
        // A metric that was as unusual before is a background shift; one
        // whose move kept growing well past that (a ramp that leads its
        // effect) is not.
        let effective =
            if background >= settings.moved_nats && coincident < BACKGROUND_RATIO * background {
                (coincident - background).max(0.0)
            } else {
                coincident
            };
        let excursion = window_surprise(effective, self.focus.len());
        // A sustained shift counts too, unless it began well before the
        // asked metric's (a background shift) or the focus is a few points
        // only. A change that began in the scored points just before the
        // focus is this incident's: a ramp upstream leads its effect.
        if self.focus.len() < 2 * RECENT_POINTS {
            return excursion;
        }
        let level = match own_start {
            // Long before: only what it grew since its own change counts.
            Some(start) if long_before => {
                points.growth(direction, start..self.focus.start, self.focus.clone())
            }
            _ => points.level(direction, self.focus.clone()),
        };
        (excursion.max(level) - std::f64::consts::LN_2).max(0.0)
    }
}

use whyline_stats::lag_steps as lag_points;

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
    let cut = season_cut(
        match &windows {
            Some(w) => w.incident.start,
            None => {
                at.unwrap_or(length.saturating_sub(1))
                    .saturating_sub(settings.search)
                    + 1
            }
        },
        period,
    );
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
    let metric = &catalog.metrics[target];
    let judged = judge_raw(metric, y, at, windows, settings);
    answer.status = judged.status;
    answer.reason = judged.reason;
    answer.change = judged.change;
    answer.windows = judged.windows.clone();
    let (Some(windows), Some(change)) = (judged.windows, judged.change) else {
        return answer;
    };
    let (status, observed) = (judged.status, change.observed);
    if observed.is_nan() {
        return answer;
    }
    // When asked, explain: a metric within its range still gets the cause of
    // its move when it, or the map below it, moved the bad way beyond normal
    // noise (an excursion judged against each metric's own tail).
    let bad = match metric.good {
        Some(Good::Higher) => -1.0,
        Some(Good::Lower) => 1.0,
        None => 0.0,
    };
    let excursion = Excursion::measure(
        y,
        windows.baseline.clone(),
        windows.incident.clone(),
        settings,
    );
    let target_moved = excursion.toward(bad) >= settings.moved_nats;
    let calm = matches!(status, Status::Green | Status::Unknown);
    // The way it moved: its bad direction when it has one (red or not, that
    // is the move to explain), else the way its level or excursion went.
    let target_direction = if bad != 0.0 {
        bad
    } else if !calm {
        (observed - change.baseline).signum()
    } else {
        excursion.direction()
    };
    // Two periods whose levels did not move apart but whose window holds an
    // excursion (a short incident) are ranked as an incident, against the
    // recent part of the baseline as an incident is (a long normal period
    // may hold older incidents of its own).
    let ranked_windows = if windows.periods && calm {
        Windows {
            baseline: windows
                .baseline
                .start
                .max(windows.baseline.end.saturating_sub(settings.baseline))
                ..windows.baseline.end,
            incident: windows.incident.clone(),
            periods: false,
        }
    } else {
        windows.clone()
    };
    let (below_moved, target_surprise) = rank(
        catalog,
        graph,
        series,
        target,
        Some(target_direction),
        &ranked_windows,
        settings,
        &mut answer,
    );
    // Its worst point or its sustained level, whichever is more unusual.
    let target_surprise = target_surprise.max(excursion.toward(bad));
    let target_moved = target_moved || target_surprise >= settings.moved_nats;
    if calm {
        if target_moved {
            let _ = write!(
                answer.reason,
                "; but it moved the bad way beyond its normal noise (p = {:.2e})",
                (-target_surprise).exp()
            );
        } else if below_moved {
            answer
                .reason
                .push_str("; but the map below it moved beyond its normal noise");
        } else {
            answer.causes.clear();
        }
    }
    answer
}

/// Gathers evidence upstream of `target` and ranks the causes into `answer`.
/// `target_direction` is `None` when the target itself has no data (a scan of
/// what drives it between explicit windows). Returns whether some metric
/// below the target moved beyond its normal noise in the direction that
/// pushes the target the way it moved, after adjusting for how many were
/// looked at; and the surprise of the target's own move in the focus.
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
) -> (bool, f64) {
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
        return (false, 0.0);
    }
    for (&m, e) in &evidence {
        answer.moves.insert(m, e.change);
        for (&d, &share) in &e.shares {
            answer.shares.insert((m, d), share);
        }
    }
    let signs = path_signs(catalog, graph, target);
    let starts: HashMap<usize, Option<usize>> = evidence
        .keys()
        .map(|&m| {
            (
                m,
                series(m).and_then(|x| start_of_change(x, windows, settings)),
            )
        })
        .collect();
    let calibrated = Calibrated::new(
        catalog,
        graph,
        &evidence,
        &signs,
        target,
        target_direction,
        windows,
        &starts,
        settings,
    );
    let below_moved = calibrated.below_moved;
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
    let ranking = Ranking {
        catalog,
        graph,
        evidence: &evidence,
        calibrated: &calibrated,
        total_effect: &total_effect,
        target_delta,
        target,
        target_direction,
        signs: &signs,
        starts: &starts,
        windows,
        settings,
    };
    let scores = ranking.root_scores();
    let adjusted = ranking.prefer_upstream(&upstream, &scores);
    // What the map leaves unexplained is the asked metric's own part of its
    // move, in the same parts the front ends show (they add up to 1).
    answer.unexplained = match &target_evidence {
        None => f64::NAN,
        Some(_) => crate::attribution::own_parts(answer)
            .get(&target)
            .copied()
            .unwrap_or(1.0),
    };
    ranking.causes(adjusted, &scores, series, answer);
    (
        below_moved,
        calibrated.pushed.get(&target).copied().unwrap_or(0.0),
    )
}

/// What ranking the candidates needs (steps 2 to 4 of the method), gathered
/// once per question.
struct Ranking<'r> {
    catalog: &'r Catalog,
    graph: &'r MetricGraph,
    evidence: &'r HashMap<usize, Evidence>,
    calibrated: &'r Calibrated,
    total_effect: &'r HashMap<usize, f64>,
    target_delta: Option<f64>,
    target: usize,
    target_direction: Option<f64>,
    signs: &'r HashMap<usize, std::collections::BTreeSet<i8>>,
    starts: &'r HashMap<usize, Option<usize>>,
    windows: &'r Windows,
    settings: &'r Settings,
}

impl Ranking<'_> {
    /// The share of the target's move `m`'s own shift accounts for through
    /// the fitted responses.
    fn contribution(&self, m: usize) -> Option<f64> {
        let delta = self.target_delta.filter(|d| *d != 0.0 && d.is_finite())?;
        let e = self.evidence.get(&m)?;
        let share = self.total_effect.get(&m)? * e.own_shift / delta;
        share.is_finite().then_some(share)
    }

    /// Whether `m` moved beyond its normal noise.
    fn moved(&self, m: usize) -> bool {
        self.calibrated.moved(m, self.evidence, self.settings)
    }

    /// Step 2 and 3: each metric's root score (its calibrated residual, or
    /// its own move without fitted drivers), demoted when it contradicts the
    /// signs of every path, pushes the target back, or did not move; and
    /// whether it is consistent.
    fn root_scores(&self) -> HashMap<usize, (f64, bool)> {
        let (calibrated, target, target_direction) =
            (self.calibrated, self.target, self.target_direction);
        let mut scores: HashMap<usize, (f64, bool)> = HashMap::new();
        for (&m, e) in self.evidence {
            let mut score = calibrated.own_score(m, e);
            // Moving the target the other way, through the fitted responses,
            // disqualifies a cause as much as a contradicting sign does.
            // (Not for incidents judged on excursions: there collinear drivers,
            // such as a service and its caller-side view, make fitted signs
            // unreliable; the path signs decide.)
            let pushes_back = (!calibrated.active)
                && m != target
                && self.contribution(m).is_some_and(|c| c < -PUSHES_BACK);
            if pushes_back {
                score *= DEMOTED;
            }
            let consistent = m == target
                || target_direction.is_none()
                || self.signs.get(&m).is_some_and(|set| {
                    set.iter().any(|s| {
                        Some(f64::from(*s) * calibrated.direction(m, e)) == target_direction
                    })
                })
                || calibrated.direction(m, e) == 0.0;
            // The fitted responses may carry a cause whose declared sign is wrong
            // (the data contradicts the edge): then it pushes the target after all.
            let carried = m != target && self.contribution(m).is_some_and(|c| c > CLEAR_SHARE);
            let consistent = (consistent || carried) && !pushes_back;
            if !consistent {
                score *= DEMOTED;
            }
            if m != target && !self.moved(m) {
                // A cause must have moved itself.
                score *= DEMOTED;
            }
            scores.insert(m, (score, consistent));
        }
        scores
    }

    /// Step 3: prefer the most upstream metric that moved. A metric's score
    /// passes to a driver that moved clearly, in the direction that explains
    /// it, and no later than it did (CIRCA's descendant adjustment, restricted
    /// to edges whose sign and timing agree, so that noise upstream cannot
    /// steal it). Two periods rank by shares of the change instead.
    fn prefer_upstream(
        &self,
        upstream: &[usize],
        scores: &HashMap<usize, (f64, bool)>,
    ) -> HashMap<usize, f64> {
        let (calibrated, settings) = (self.calibrated, self.settings);
        let periods =
            self.windows.periods && self.target_delta.is_some_and(|d| d != 0.0 && d.is_finite());
        // Whether a metric moved on its own (its drivers do not explain it),
        // before two-period ranking replaces the scores with shares.
        let own_scores: HashMap<usize, f64> = scores.iter().map(|(&m, &(s, _))| (m, s)).collect();
        let mut adjusted = own_scores.clone();
        if periods {
            // Two periods: rank by the share of the target's change each metric's
            // own shift accounts for (a distribution-change attribution, as
            // DoWhy's `distribution_change`, Budhathoki et al., AISTATS 2021), for
            // metrics whose own shift is significant.
            for (&m, e) in self.evidence {
                let share = self.contribution(m).unwrap_or(0.0).max(0.0);
                let own = e.residual.unwrap_or(e.z_max);
                let weight = if own >= settings.z_moved {
                    1.0
                } else {
                    DEMOTED
                };
                if let Some(entry) = adjusted.get_mut(&m) {
                    *entry = 10.0 * share * weight;
                }
            }
        }
        for &child in upstream {
            let Some(c) = self.evidence.get(&child) else {
                continue;
            };
            let child_score = adjusted.get(&child).copied().unwrap_or(0.0);
            if !self.moved(child) {
                continue;
            }
            for (driver, edge) in self.graph.driver_edges(self.catalog, child) {
                let Some(p) = self.evidence.get(&driver) else {
                    continue;
                };
                let fitted = c.coefficients.get(&driver).copied().unwrap_or(0.0);
                let pushes = calibrated.direction(driver, p) * edge.effect.sign()
                    == calibrated.direction(child, c)
                    || (fitted != 0.0
                        && c.shares.get(&driver).is_some_and(|s| *s >= CLEAR_SHARE)
                        && calibrated.direction(driver, p) * fitted.signum()
                            == calibrated.direction(child, c));
                let p_moved = calibrated.raw_score(driver, p);
                let share = c.shares.get(&driver).copied().unwrap_or(0.0);
                // The driver must be a candidate root itself (its own drivers do
                // not explain it), not merely carried along by the same cause.
                let own = own_scores.get(&driver).copied().unwrap_or(0.0);
                // Or it accounts for the bulk of its dependant's move and moved
                // beyond its own noise: a slow ramp that began before the
                // dependant keeps little "own" score after the background is
                // taken out, yet it is what the dependant's fit points to.
                let clear = (own >= settings.z_moved
                    && (p_moved >= settings.z_moved + 2.0
                        || (p_moved >= settings.z_moved && share >= CLEAR_SHARE)))
                    || (share >= DOMINANT_SHARE
                        && p_moved >= settings.z_moved - DOMINANT_MOVE_MARGIN);
                let lag = lag_points(edge.lag.as_millis(), settings.step_ms);
                let in_time = match (
                    self.starts.get(&driver).copied().flatten(),
                    self.starts.get(&child).copied().flatten(),
                ) {
                    (Some(ps), Some(cs)) => {
                        ps <= cs + start_slack(self.windows.incident.len()) + lag
                    }
                    _ => true,
                };
                if pushes && clear && in_time && driver != self.target {
                    let entry = adjusted.entry(driver).or_insert(0.0);
                    *entry = entry.max(child_score + UPSTREAM_BONUS * p_moved.min(UPSTREAM_CAP));
                }
            }
        }
        adjusted
    }

    /// Step 4: the ranked causes, with their breadcrumbs and what each explains.
    fn causes<'a>(
        &self,
        adjusted: HashMap<usize, f64>,
        scores: &HashMap<usize, (f64, bool)>,
        series: &dyn Fn(usize) -> Option<&'a [f64]>,
        answer: &mut Explanation,
    ) {
        let target = self.target;
        let mut ranked: Vec<(usize, f64)> = adjusted.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top = ranked.first().map_or(1.0, |(_, s)| s.max(1e-9));
        let first = ranked.first().map(|(m, _)| *m);
        // The asked metric is a cause only as the first one (the map ends there);
        // below other causes it is no candidate of its own move.
        ranked.retain(|(m, _)| *m != target || Some(*m) == first);
        let moved = |m: usize| self.moved(m);
        for (m, value) in ranked.into_iter().take(self.settings.max_causes) {
            let Some(e) = self.evidence.get(&m) else {
                continue;
            };
            let path = if m == target {
                vec![target]
            } else {
                breadcrumb(self.catalog, self.graph, target, m, &moved)
            };
            let explained = if let Some(share) = self.contribution(m).filter(|_| m != target) {
                share.clamp(0.0, 1.0)
            } else if m == target {
                answer.unexplained
            } else {
                path.windows(2)
                    .map(|w| {
                        self.evidence
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
                since: series(m).and_then(|x| start_of_change(x, self.windows, self.settings)),
                consistent: scores.get(&m).is_some_and(|(_, c)| *c),
            });
        }
    }
}

/// The calibrated view of an incident (not of two periods, which keep their
/// median-shift scores): each metric's excursion in the asked metric's focus,
/// toward the direction that pushes the asked metric the way it moved,
/// judged against its own tail, less a background shift, and adjusted for
/// the number of metrics explored (Benjamini–Hochberg).
struct Calibrated {
    /// Off for two periods: the old median-shift scores stand.
    active: bool,
    /// Surprise (nats) of each metric's own excursion, toward its pushing direction.
    raw: HashMap<usize, f64>,
    /// ... of the part its drivers do not predict.
    own: HashMap<usize, f64>,
    /// `raw`, adjusted for the number of metrics explored.
    adjusted: HashMap<usize, f64>,
    /// Surprise of each metric's excursion toward its pushing direction only.
    pushed: HashMap<usize, f64>,
    /// Direction of each metric's excursion in the focus, where it was unusual.
    directions: HashMap<usize, f64>,
    /// Whether some metric below the asked one moved beyond its noise.
    below_moved: bool,
    target: usize,
}

/// The longest total declared lag (points) of a driver path into `m`;
/// lagged cycles are walked once.
fn longest_lag(
    catalog: &Catalog,
    graph: &MetricGraph,
    m: usize,
    settings: &Settings,
    memo: &mut HashMap<usize, usize>,
    stack: &mut Vec<usize>,
) -> usize {
    if let Some(v) = memo.get(&m) {
        return *v;
    }
    if stack.contains(&m) {
        return 0;
    }
    stack.push(m);
    let mut best = 0;
    for (driver, edge) in graph.driver_edges(catalog, m) {
        let lag = lag_points(edge.lag.as_millis(), settings.step_ms);
        best = best.max(lag + longest_lag(catalog, graph, driver, settings, memo, stack));
    }
    stack.pop();
    memo.insert(m, best);
    best
}

/// A surprise in nats as the z of a normal tail with the same surprise, so
/// that calibrated scores read on the engine's sigma scale (`z = sqrt(2 s)`,
/// the leading term of the Gaussian tail's `-ln p`).
fn z_equivalent(surprise: f64) -> f64 {
    (2.0 * surprise.max(0.0)).sqrt()
}

impl Calibrated {
    #[allow(clippy::too_many_arguments)]
    fn new(
        catalog: &Catalog,
        graph: &MetricGraph,
        evidence: &HashMap<usize, Evidence>,
        signs: &HashMap<usize, std::collections::BTreeSet<i8>>,
        target: usize,
        target_direction: Option<f64>,
        windows: &Windows,
        starts: &HashMap<usize, Option<usize>>,
        settings: &Settings,
    ) -> Self {
        let mut out = Calibrated {
            active: !windows.periods,
            raw: HashMap::new(),
            own: HashMap::new(),
            adjusted: HashMap::new(),
            pushed: HashMap::new(),
            directions: HashMap::new(),
            below_moved: false,
            target,
        };
        // A cause may lead its effect by the lags along its path, and a
        // point more for the change to show.
        let lead = 1 + longest_lag(
            catalog,
            graph,
            target,
            settings,
            &mut HashMap::new(),
            &mut Vec::new(),
        );
        let direction = target_direction.unwrap_or(0.0);
        let focus = match evidence.get(&target) {
            Some(t) => Focus::locate(&t.raw, direction, &windows.incident, lead, settings),
            None => Focus {
                first: windows.incident.start,
                focus: windows.incident.clone(),
                background: Vec::new(),
            },
        };
        let mut order: Vec<usize> = evidence.keys().copied().collect();
        order.sort_unstable();
        for &m in &order {
            let e = &evidence[&m];
            let pushing: Vec<f64> = match (m == target, target_direction, signs.get(&m)) {
                (true, Some(d), _) => vec![d],
                (false, Some(d), Some(set)) if d != 0.0 => {
                    let mut ds: Vec<f64> = set.iter().map(|s| f64::from(*s) * d).collect();
                    ds.dedup();
                    ds
                }
                _ => vec![0.0],
            };
            let toward = if pushing.len() == 1 { pushing[0] } else { 0.0 };
            // Its own change began before the asked metric's, by more than a
            // cause may lead (its lags, plus START_SLACK: both are located the
            // same way, Hinkley's change in mean, to a few points), and before
            // the asked metric's first unusual point.
            let target_start = starts.get(&target).copied().flatten();
            let own_start = starts.get(&m).copied().flatten();
            let began_before = m != target
                && own_start.is_some_and(|ms| {
                    ms + lead + START_SLACK < focus.first
                        && target_start.is_none_or(|ts| ms + lead + START_SLACK < ts)
                });
            let early = Early {
                began_before,
                long_before: began_before
                    && own_start
                        .is_some_and(|ms| ms + lead + PRE_POINTS + START_SLACK < focus.first),
                own_start,
            };
            // Scored on the larger of its move toward the pushing direction
            // and its move either way (a wrong declared sign is judged by
            // the sign checks, not hidden here); "the map below moved the
            // bad way" counts only the pushing direction.
            let pushed = focus.surprise(&e.raw, toward, early, settings);
            let raw = pushed.max(focus.surprise(&e.raw, 0.0, early, settings));
            out.pushed.insert(m, pushed);
            // What its drivers do not predict is no more unusual than the
            // metric itself: a larger residual is the fit extrapolating
            // drivers far outside what it saw (a symptom of an upstream fault).
            let own = focus
                .surprise(&e.own, toward, early, settings)
                .max(focus.surprise(&e.own, 0.0, early, settings))
                .min(raw);
            out.raw.insert(m, raw);
            out.own.insert(m, own);
            let (up, down) = (
                focus.surprise(&e.raw, 1.0, early, settings),
                focus.surprise(&e.raw, -1.0, early, settings),
            );
            if up.max(down) >= settings.moved_nats {
                out.directions
                    .insert(m, if up >= down { 1.0 } else { -1.0 });
            }
        }
        let below: Vec<usize> = order.iter().copied().filter(|m| *m != target).collect();
        let surprises: Vec<f64> = below.iter().map(|m| out.pushed[m]).collect();
        let any_way: Vec<f64> = below.iter().map(|m| out.raw[m]).collect();
        for (m, a) in below.iter().zip(bh_adjusted_surprise(&any_way)) {
            out.adjusted.insert(*m, a);
        }
        // The map below moved the bad way when a metric moved toward the
        // target's bad direction and reaches the target through metrics that
        // moved too (an anomalous path, as the traversal methods require): a
        // jump whose path stays calm did not reach the asked metric.
        let pushed_moved: HashMap<usize, bool> = below
            .iter()
            .zip(bh_adjusted_surprise(&surprises))
            .map(|(m, a)| (*m, a >= settings.moved_nats))
            .collect();
        let mut reached: Vec<usize> = graph.drivers_of(target).collect();
        let mut seen: std::collections::HashSet<usize> = reached.iter().copied().collect();
        while let Some(m) = reached.pop() {
            if pushed_moved.get(&m).copied().unwrap_or(false) {
                out.below_moved = true;
                break;
            }
            if out
                .adjusted
                .get(&m)
                .is_some_and(|a| *a >= settings.moved_nats)
            {
                for d in graph.drivers_of(m) {
                    if seen.insert(d) {
                        reached.push(d);
                    }
                }
            }
        }
        if !out.active {
            out.below_moved = false;
        }
        out
    }

    /// Whether `m` moved beyond its normal noise (below the target: after
    /// adjusting for the metrics explored).
    fn moved(&self, m: usize, evidence: &HashMap<usize, Evidence>, settings: &Settings) -> bool {
        if !self.active {
            return evidence
                .get(&m)
                .is_some_and(|e| e.z_max >= settings.z_moved);
        }
        let s = if m == self.target {
            self.raw.get(&m)
        } else {
            self.adjusted.get(&m)
        };
        s.is_some_and(|s| *s >= settings.moved_nats)
    }

    /// The root score of `m` on the sigma scale: how unusual the part of its
    /// move its drivers do not predict is.
    fn own_score(&self, m: usize, e: &Evidence) -> f64 {
        if !self.active {
            return e.residual.unwrap_or(e.z_max);
        }
        z_equivalent(self.own.get(&m).copied().unwrap_or(0.0))
    }

    /// How clearly `m` itself moved, on the sigma scale.
    fn raw_score(&self, m: usize, e: &Evidence) -> f64 {
        if !self.active {
            return e.z_max;
        }
        z_equivalent(self.raw.get(&m).copied().unwrap_or(0.0))
    }

    /// The direction `m` moved: of its unusual excursion, else of its level.
    fn direction(&self, m: usize, e: &Evidence) -> f64 {
        if !self.active {
            return e.direction;
        }
        self.directions.get(&m).copied().unwrap_or(e.direction)
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
        .filter(|s| s.statistic >= CHANGE_STATISTIC)
        .map(|s| lo + s.index)
}

/// What a metric's fitted responses to its drivers say (steps 2 and 4 of the
/// method): its residual in the incident, the residual series, each driver's
/// response and share of the move, and the part of the move its drivers do
/// not predict.
#[derive(Debug, Default)]
struct DriverFit {
    residual: Option<f64>,
    shares: HashMap<usize, f64>,
    coefficients: HashMap<usize, f64>,
    own_shift: f64,
    own_series: Option<Vec<f64>>,
}

/// Regresses `x` on `drivers` over `fit_range` (linear, or log-log where
/// everything is positive and that fits clearly better) and reads the
/// incident against the fit.
#[allow(clippy::too_many_arguments)]
fn fit_drivers(
    x: &[f64],
    drivers: &[(usize, Vec<f64>)],
    fit_range: Range<usize>,
    baseline: &Range<usize>,
    incident: &Range<usize>,
    base: &RobustBaseline,
    delta: f64,
    standard_error: f64,
    periods: bool,
) -> DriverFit {
    let mut residual = None;
    let mut shares = HashMap::new();
    let mut coefficients = HashMap::new();
    let mut own_shift = delta;
    let mut own_series: Option<Vec<f64>> = None;
    if drivers.is_empty() {
        return DriverFit {
            own_shift,
            ..DriverFit::default()
        };
    }
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
        own_shift = median(&residuals).unwrap_or(delta) - median(&base_residuals).unwrap_or(0.0);
        own_series = Some(
            (0..incident.end)
                .map(|t| {
                    let row: Vec<f64> = drivers.iter().map(|(_, s)| s[t]).collect();
                    if x[t].is_nan() || row.iter().any(|v| v.is_nan()) {
                        f64::NAN
                    } else {
                        x[t] - predict(&fit, &row)
                    }
                })
                .collect(),
        );
        residual = Some(if periods {
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
        for ((d, s), b) in drivers.iter().zip(&responses) {
            let moved = median(&s[incident.clone()]).unwrap_or(f64::NAN)
                - median(&s[baseline.clone()]).unwrap_or(f64::NAN);
            let contribution = b * moved;
            if contribution.is_finite() && delta != 0.0 {
                shares.insert(*d, (contribution / delta).clamp(0.0, 1.0));
            }
        }
    }
    DriverFit {
        residual,
        shares,
        coefficients,
        own_shift,
        own_series,
    }
}

/// The drivers' series a metric is regressed on (step 2 of the method),
/// each shifted by its declared lag, gaps taken at the driver's usual level;
/// and whether one of them is pinned through the fitting period (then the
/// response is fitted with the incident included).
#[allow(clippy::too_many_arguments)]
fn driver_columns<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    m: usize,
    fit_range: &Range<usize>,
    incident: &Range<usize>,
    settings: &Settings,
) -> (Vec<(usize, Vec<f64>)>, bool) {
    let mut drivers: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut pinned = false;
    for (d, edge) in graph.driver_edges(catalog, m) {
        let Some(p) = series(d) else { continue };
        let lag = lag_points(edge.lag.as_millis(), settings.step_ms) as isize;
        let mut shifted: Vec<f64> = (0..incident.end)
            .map(|t| at_or_nan(p, t as isize - lag))
            .collect();
        // Empty buckets (no requests, no data): a driver seen in under half
        // of the fitting period carries too little to fit; otherwise a gap is
        // taken at the driver's usual level, so one empty bucket does not
        // blank the metric's residual there.
        let fit_points = shifted[fit_range.clone()]
            .iter()
            .filter(|v| !v.is_nan())
            .count();
        if 2 * fit_points < fit_range.len() {
            continue;
        }
        if let Some(usual) = median(&shifted[fit_range.clone()]) {
            for v in shifted.iter_mut().filter(|v| v.is_nan()) {
                *v = usual;
            }
        }
        // A driver pinned through the baseline (an availability at 100%, a
        // counter at 0) shows its response only where it leaves its usual
        // value: too few such points and the response is fitted with the
        // incident included, where it moved. One flat there too carries nothing.
        let usual = median(&shifted[fit_range.clone()]).unwrap_or(f64::NAN);
        let off_usual = |r: Range<usize>| {
            shifted[r]
                .iter()
                .filter(|v| (*v - usual).abs() > 1e-9 * (1.0 + usual.abs()))
                .count()
        };
        if off_usual(fit_range.clone()) < PINNED_POINTS {
            if off_usual(incident.clone()) == 0 {
                continue;
            }
            pinned = true;
        }
        drivers.push((d, shifted));
    }
    (drivers, pinned)
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
    let (drivers, pinned) =
        driver_columns(catalog, graph, series, m, &fit_range, &incident, settings);
    let fit_range = if pinned && !windows.periods {
        fit_range.start..incident.end
    } else {
        fit_range
    };
    let DriverFit {
        residual,
        shares,
        coefficients,
        own_shift,
        own_series,
    } = fit_drivers(
        x,
        &drivers,
        fit_range,
        &baseline,
        &incident,
        &base,
        delta,
        standard_error,
        windows.periods,
    );
    let floor = (base.center.abs() * settings.min_relative_move).max(1e-9);
    let earliest = incident.start.saturating_sub(settings.search / 2);
    let mut raw = Pointwise::measure(x, &baseline, &incident, floor, earliest);
    if let Some(volume) = catalog.metrics[m]
        .volume
        .as_ref()
        .and_then(|(id, _)| catalog.index_of(id))
        .and_then(series)
    {
        raw.weigh_by_volume(&catalog.metrics[m], x, volume, &baseline);
    }
    let own = match &own_series {
        Some(r) => Pointwise::measure(r, &baseline, &incident, floor, earliest),
        None => raw.clone(),
    };
    Some(Evidence {
        change,
        direction: delta.signum(),
        z_max,
        residual,
        shares,
        coefficients,
        own_shift,
        raw,
        own,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference at 10 (spread from a repeating pattern) up to grid index
    /// `until`, then `tail`; scored from 300 on.
    fn measured(until: usize, tail: impl IntoIterator<Item = f64>) -> Pointwise {
        let mut x: Vec<f64> = (0..until)
            .map(|i| 10.0 + [0.0, 1.0, -1.0, 0.5, -0.5][i % 5])
            .collect();
        x.extend(tail);
        Pointwise::measure(&x, &(60..300), &(300..x.len()), 1e-9, 240)
    }

    #[test]
    fn growth_sees_a_ramp_that_kept_growing_and_not_a_step_that_held() {
        // Ramp from 290 (inside the reference's last points) to 340.
        let p = measured(290, (290..340).map(|t| 10.0 + 0.2 * (t - 290) as f64));
        assert!(p.growth(1.0, 290..310, 310..340) > 100f64.ln());
        // Growth is one-sided: a ramp up did not fall.
        assert_eq!(p.growth(-1.0, 290..310, 310..340), 0.0);
        // A step at 300 that holds: its level is unusual, it did not grow.
        let step = measured(300, [14.0; 40]);
        assert!(step.level(1.0, 310..340) > 100f64.ln());
        assert!(step.growth(1.0, 300..310, 310..340) < 1.0);
        // Too few points before: no evidence either way.
        assert_eq!(step.growth(1.0, 307..310, 310..340), 0.0);
    }
}
