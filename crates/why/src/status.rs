//! The one status judge: every front end (`why`, `audit`, `review`, `report`,
//! `serve`) asks here whether a metric is red, amber or green at a moment, so
//! the same metric at the same moment never gets two statuses.
//!
//! The rule, at grid index `at`:
//! - the level *now* is the median of the last three points (`at - 2 ..= at`),
//!   so one noisy sample neither raises nor clears an alarm;
//! - with thresholds, the level is judged by them alone (no history needed);
//! - without, by its robust z (median/MAD, floored at a share of the level)
//!   against the baseline before the most likely change in mean within the
//!   search range (Hinkley 1970), in the metric's bad direction;
//! - with a season, against the same time of previous seasons, the profile
//!   learnt from whole seasons before the search range only.

use std::ops::Range;

use whyline_catalog::{Bound, Good, Metric};
use whyline_stats::{RobustBaseline, deseasonalize, mean_shift_after, median};

use crate::engine::{Change, Settings, Status, Windows};
use crate::tuning::CHANGE_STATISTIC;

/// A metric's status at one moment, with what it was judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Red, amber, green or unknown.
    pub status: Status,
    /// Why, in words.
    pub reason: String,
    /// The level against its baseline; `None` without enough history.
    pub change: Option<Change>,
    /// The windows the level was judged in; `None` without enough history.
    pub windows: Option<Windows>,
}

/// The level "now": the median of the last three points up to `at`.
pub fn level_now(y: &[f64], at: usize) -> f64 {
    if y.is_empty() {
        return f64::NAN;
    }
    let at = at.min(y.len() - 1);
    median(&y[at.saturating_sub(2)..=at]).unwrap_or(f64::NAN)
}

/// The status of `metric` (series `y`) at grid index `at`, as `why` gives it.
pub fn judge_at(metric: &Metric, y: &[f64], at: usize, settings: &Settings) -> Judgement {
    let Some(period) = settings.season.filter(|p| *p >= 2) else {
        return judge_raw(metric, y, at, None, settings);
    };
    let cut = season_cut(at.saturating_sub(settings.search) + 1, period);
    let (values, seasonal) = deseasonalize(y, period, cut.min(y.len()));
    if !seasonal {
        return judge_raw(metric, y, at, None, settings);
    }
    let mut judged = judge_raw(metric, &values, at, None, settings);
    judged
        .reason
        .push_str(" (against the same time of previous days)");
    judged
}

/// The status of `metric` at every point of `y`: `statuses(..)[t]` is
/// `judge_at(.., t, ..).status`, computed without repeating what does not change.
pub fn statuses(metric: &Metric, y: &[f64], settings: &Settings) -> Vec<Status> {
    let thresholds = thresholds_of(metric);
    if thresholds.0.is_some() || thresholds.1.is_some() {
        // Thresholds judge the level alone: no windows, no season.
        return (0..y.len())
            .map(|t| verdict(thresholds, metric.good, level_now(y, t), None, settings).0)
            .collect();
    }
    let period = settings.season.filter(|p| *p >= 2);
    let mut profile: Option<(usize, Vec<f64>, bool)> = None;
    (0..y.len())
        .map(|t| {
            let Some(period) = period else {
                return judge_raw(metric, y, t, None, settings).status;
            };
            let cut = season_cut(t.saturating_sub(settings.search) + 1, period).min(y.len());
            if profile.as_ref().is_none_or(|(c, _, _)| *c != cut) {
                let (values, seasonal) = deseasonalize(y, period, cut);
                profile = Some((cut, values, seasonal));
            }
            match &profile {
                Some((_, values, true)) => judge_raw(metric, values, t, None, settings).status,
                _ => judge_raw(metric, y, t, None, settings).status,
            }
        })
        .collect()
}

/// The history a seasonal profile is learnt from: whole seasons before `cut`.
pub(crate) fn season_cut(cut: usize, period: usize) -> usize {
    cut - cut % period.max(1)
}

fn thresholds_of(metric: &Metric) -> (Option<Bound>, Option<Bound>) {
    let t = metric.thresholds.as_ref();
    (t.and_then(|t| t.red), t.and_then(|t| t.amber))
}

/// [`judge_at`] on the series as given, in `windows` when the caller has them.
pub(crate) fn judge_raw(
    metric: &Metric,
    y: &[f64],
    at: usize,
    windows: Option<Windows>,
    settings: &Settings,
) -> Judgement {
    let thresholds = thresholds_of(metric);
    let has_thresholds = thresholds.0.is_some() || thresholds.1.is_some();
    let explicit = windows.as_ref().is_some_and(|w| w.periods);
    let given = windows.is_some();
    let windows = windows.unwrap_or_else(|| find_windows(y, at, settings));
    // Without thresholds the status rests on the baseline's scale: at a
    // found moment it needs enough points to trust it.
    let needed = if given || has_thresholds {
        settings.min_segment
    } else {
        settings.min_segment.max(settings.min_judge_baseline)
    };
    let with_data = y[windows.baseline.clone()]
        .iter()
        .filter(|v| !v.is_nan())
        .count();
    let short = with_data < needed || windows.incident.is_empty();
    let base = (!short)
        .then(|| RobustBaseline::fit(&y[windows.baseline.clone()]).map(|b| floored(b, settings)))
        .flatten();
    let Some(base) = base else {
        let now = level_now(y, at);
        // Thresholds judge the level alone; without them nothing can be said.
        let (status, judged) = if has_thresholds {
            verdict(thresholds, metric.good, now, None, settings)
        } else {
            (Status::Unknown, String::new())
        };
        let reason = match (has_thresholds && now.is_finite(), short) {
            (true, true) => format!(
                "{judged}; too little history before the asked time to look for a cause ({with_data} points, at least {needed} needed)"
            ),
            (true, false) => format!("{judged}; no data in the baseline to look for a cause"),
            (false, true) => format!(
                "not enough history before the asked time to judge it ({with_data} points of baseline with data, at least {needed} needed)"
            ),
            (false, false) => "no data in the baseline".to_string(),
        };
        return Judgement {
            status,
            reason,
            change: None,
            windows: None,
        };
    };
    let (observed, z) = if explicit {
        periods_level(y, &windows, &base)
    } else {
        // The last three points of the incident: on found windows (three
        // points or more) that is the level now; a given incident of one
        // point is judged on that point.
        let tail = windows
            .incident
            .end
            .saturating_sub(3)
            .max(windows.incident.start);
        let observed = median(&y[tail..windows.incident.end]).unwrap_or(f64::NAN);
        (observed, base.z(observed))
    };
    let (status, reason) = verdict(thresholds, metric.good, observed, Some(z), settings);
    Judgement {
        status,
        reason,
        change: Some(Change {
            baseline: base.center,
            observed,
            relative: relative(base.center, observed),
            sigma: z,
        }),
        windows: Some(windows),
    }
}

/// Two periods: their medians, against the standard error of a median
/// (about 1.2533 sigma / sqrt(n), Kenney & Keeping 1962).
fn periods_level(y: &[f64], windows: &Windows, base: &RobustBaseline) -> (f64, f64) {
    let level = median(&y[windows.incident.clone()]).unwrap_or(f64::NAN);
    let count = |r: Range<usize>| y[r].iter().filter(|v| !v.is_nan()).count().max(1) as f64;
    let (n_base, n_incident) = (
        count(windows.baseline.clone()),
        count(windows.incident.clone()),
    );
    // A single point is its own median: its error is one sigma.
    let variance = |n: f64| {
        if n <= 1.0 {
            1.0
        } else {
            whyline_stats::median_variance(n)
        }
    };
    let standard_error = base.scale * (variance(n_base) + variance(n_incident)).sqrt();
    (
        level,
        (level - base.center) / standard_error.max(f64::MIN_POSITIVE),
    )
}

/// Status from thresholds when the metric has them, else from the robust z
/// (unknown without one).
fn verdict(
    (red, amber): (Option<Bound>, Option<Bound>),
    good: Option<Good>,
    observed: f64,
    z: Option<f64>,
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
    let Some(z) = z else {
        return (Status::Unknown, "no baseline to judge it".to_string());
    };
    let bad = match good {
        Some(Good::Higher) => -z,
        Some(Good::Lower) => z,
        None => z.abs(),
    };
    if bad >= settings.z_red {
        (
            Status::Red,
            format!("red: {} sigma against its baseline", sigma_text(z)),
        )
    } else if bad >= settings.z_amber {
        (
            Status::Amber,
            format!("amber: {} sigma against its baseline", sigma_text(z)),
        )
    } else {
        (
            Status::Green,
            format!(
                "no significant move in its bad direction ({} sigma)",
                sigma_text(z)
            ),
        )
    }
}

/// A z-score in words: `+3.4`, and past 10,000 in scientific notation
/// (`+3.4e19`), never a row of digits.
pub(crate) fn sigma_text(z: f64) -> String {
    if z.abs() >= 1e4 {
        format!("{z:+.1e}")
    } else {
        format!("{z:+.1}")
    }
}

/// Applies the practical-significance floor to a baseline's scale.
pub(crate) fn floored(mut base: RobustBaseline, settings: &Settings) -> RobustBaseline {
    base.scale = base
        .scale
        .max(base.center.abs() * settings.min_relative_move);
    base
}

pub(crate) fn relative(baseline: f64, observed: f64) -> f64 {
    if baseline == 0.0 {
        f64::NAN
    } else {
        (observed - baseline) / baseline.abs()
    }
}

/// Incident = from the most likely change in mean within the search range to
/// `at`; baseline = the stretch before it.
pub(crate) fn find_windows(y: &[f64], at: usize, settings: &Settings) -> Windows {
    let end = (at + 1).min(y.len());
    let lo = end.saturating_sub(settings.search + settings.baseline);
    let earliest = end.saturating_sub(settings.search).saturating_sub(lo);
    let region = &y[lo..end];
    let start = match mean_shift_after(region, settings.min_segment, earliest) {
        Some(shift) if shift.statistic >= CHANGE_STATISTIC => lo + shift.index,
        // No clear start: judge the last few points against what came before.
        _ => end.saturating_sub(settings.min_segment.max(5)),
    };
    Windows {
        baseline: start.saturating_sub(settings.baseline).max(lo.min(start))..start,
        incident: start..end,
        periods: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_catalog::{SourceFile, Thresholds};

    fn metric(thresholds: Option<Thresholds>, good: Option<Good>) -> Metric {
        let text = "version: 1\nmetrics:\n  - id: m\n    layer: system\n";
        let parsed = whyline_catalog::parse(vec![SourceFile {
            path: "m.yaml".into(),
            text: text.to_string(),
        }]);
        let mut m = parsed.catalog.metrics[0].clone();
        m.thresholds = thresholds;
        m.good = good;
        m
    }

    fn noisy(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| 100.0 + ((t * 7919 % 13) as f64 - 6.0) * 0.5)
            .collect()
    }

    #[test]
    fn the_level_now_is_the_median_of_three_so_one_sample_raises_no_alarm() {
        let mut y = vec![10.0; 50];
        y[49] = 99.0;
        assert_eq!(level_now(&y, 49), 10.0);
        y[48] = 99.0;
        assert_eq!(level_now(&y, 49), 99.0);
        assert!(level_now(&[], 3).is_nan());
    }

    #[test]
    fn thresholds_judge_without_history() {
        let m = metric(
            Some(Thresholds {
                red: Some(Bound::Below(5.0)),
                amber: Some(Bound::Below(8.0)),
            }),
            Some(Good::Higher),
        );
        let y = [7.0, 7.0, 7.0];
        let j = judge_at(&m, &y, 2, &Settings::default());
        assert_eq!(j.status, Status::Amber);
        assert!(j.reason.contains("too little history"), "{}", j.reason);
    }

    #[test]
    fn statuses_equal_the_judgement_at_every_point() {
        let mut y = noisy(900);
        for v in &mut y[500..560] {
            *v -= 30.0;
        }
        for v in &mut y[700..720] {
            *v -= 2.2;
        }
        let settings = Settings::default();
        let plain = metric(None, Some(Good::Higher));
        let every = statuses(&plain, &y, &settings);
        for (t, s) in every.iter().enumerate() {
            assert_eq!(*s, judge_at(&plain, &y, t, &settings).status, "t = {t}");
        }
        assert_eq!(every[520], Status::Red);
        assert!(every[..400].iter().all(|s| *s != Status::Red));
    }

    #[test]
    fn seasonal_statuses_equal_the_judgement_at_every_point() {
        let period = 60;
        let mut y: Vec<f64> = (0..400)
            .map(|t| {
                100.0
                    + 20.0 * (std::f64::consts::TAU * t as f64 / period as f64).sin()
                    + ((t * 7919 % 13) as f64 - 6.0) * 0.2
            })
            .collect();
        for v in &mut y[300..330] {
            *v -= 15.0;
        }
        let settings = Settings {
            season: Some(period),
            search: 30,
            baseline: 60,
            ..Settings::default()
        };
        let plain = metric(None, Some(Good::Higher));
        let every = statuses(&plain, &y, &settings);
        for (t, s) in every.iter().enumerate() {
            assert_eq!(*s, judge_at(&plain, &y, t, &settings).status, "t = {t}");
        }
        assert_eq!(every[310], Status::Red);
    }
}
