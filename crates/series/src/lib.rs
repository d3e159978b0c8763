//! Time series: raw points as sources return them, repaired by documented
//! rules, then resampled onto one time grid shared by every metric.
//!
//! Times are Unix milliseconds (`i64`). A missing value on a grid is `NaN`;
//! non-finite input values are *not* kept as data: they become missing and are
//! counted in [`Repairs`], so an analysis never mistakes `+Inf` for a spike.
//!
//! Architecture invariant: pure; no I/O.

pub mod time;

use std::ops::Range;

pub use time::{
    TimeError, TimeRange, format_time, is_bare_date, parse_duration_ms, parse_time, parse_window,
};

/// What had to be repaired in a raw series, so callers can report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Points that arrived before an earlier timestamp; they were sorted into place.
    pub out_of_order: usize,
    /// Points sharing a timestamp with another; the last one read was kept.
    pub duplicates: usize,
    /// NaN or infinite values; they were dropped (treated as missing).
    pub non_finite: usize,
    /// Cells that could not be read as numbers; they are holes in the series.
    pub unreadable: usize,
    /// Where the first unreadable cell is and what it held (`file:line:column: ...`).
    pub first_unreadable: Option<String>,
}

impl Repairs {
    /// True when nothing was repaired.
    pub fn is_clean(&self) -> bool {
        *self == Repairs::default()
    }

    /// Adds another series' repairs to this one.
    pub fn add(&mut self, other: Repairs) {
        self.out_of_order += other.out_of_order;
        self.duplicates += other.duplicates;
        self.non_finite += other.non_finite;
        self.unreadable += other.unreadable;
        if self.first_unreadable.is_none() {
            self.first_unreadable = other.first_unreadable;
        }
    }
}

/// Raw points of one metric, sorted by time with unique timestamps and finite values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

impl Series {
    /// Builds a series from points in any order.
    ///
    /// Rules: points are sorted by time (stable, so for equal timestamps the
    /// read order is kept); of points with equal timestamps the last one read
    /// wins, as a later write overrides an earlier one; NaN and ±Inf values are
    /// dropped.
    pub fn from_points(mut points: Vec<(i64, f64)>) -> (Series, Repairs) {
        let mut repairs = Repairs::default();
        let before = points.len();
        points.retain(|(_, v)| v.is_finite());
        repairs.non_finite = before - points.len();
        repairs.out_of_order = points.windows(2).filter(|w| w[1].0 < w[0].0).count();
        if repairs.out_of_order > 0 {
            points.sort_by_key(|(t, _)| *t);
        }
        let mut timestamps = Vec::with_capacity(points.len());
        let mut values: Vec<f64> = Vec::with_capacity(points.len());
        for (t, v) in points {
            if timestamps.last() == Some(&t) {
                repairs.duplicates += 1;
                if let Some(last) = values.last_mut() {
                    *last = v;
                }
            } else {
                timestamps.push(t);
                values.push(v);
            }
        }
        (Series { timestamps, values }, repairs)
    }

    /// Timestamps, ascending and unique.
    pub fn timestamps(&self) -> &[i64] {
        &self.timestamps
    }

    /// Values, finite, one per timestamp.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// The points inside `range` (start inclusive, end exclusive).
    pub fn slice(&self, range: TimeRange) -> Series {
        let from = self.timestamps.partition_point(|&t| t < range.start);
        let to = self.timestamps.partition_point(|&t| t < range.end);
        Series {
            timestamps: self.timestamps[from..to].to_vec(),
            values: self.values[from..to].to_vec(),
        }
    }

    /// First and one-past-last timestamp, if any.
    pub fn span(&self) -> Option<TimeRange> {
        Some(TimeRange {
            start: *self.timestamps.first()?,
            end: *self.timestamps.last()? + 1,
        })
    }

    /// The most common spacing between points: the series' natural step.
    pub fn typical_step(&self) -> Option<i64> {
        let mut diffs: Vec<i64> = self.timestamps.windows(2).map(|w| w[1] - w[0]).collect();
        if diffs.is_empty() {
            return None;
        }
        diffs.sort_unstable();
        Some(diffs[diffs.len() / 2])
    }
}

/// How the points that fall into one grid bucket become one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Arithmetic mean: gauges, ratios, latencies.
    #[default]
    Mean,
    /// The last point: cumulative counters, states.
    Last,
    /// The sum: counts per interval (deploys, errors).
    Sum,
    /// The maximum: peaks that a mean would hide.
    Max,
}

impl Aggregation {
    /// Parses the catalog spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "mean" => Some(Aggregation::Mean),
            "last" => Some(Aggregation::Last),
            "sum" => Some(Aggregation::Sum),
            "max" => Some(Aggregation::Max),
            _ => None,
        }
    }
}

/// A regular time grid: bucket `i` covers `[start + i*step, start + (i+1)*step)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Start of bucket 0, Unix ms.
    pub start: i64,
    /// Bucket width, ms (> 0).
    pub step: i64,
    /// Number of buckets.
    pub len: usize,
}

impl Grid {
    /// The grid of `step` covering `range`, aligned to multiples of `step`
    /// so that grids of different requests line up.
    pub fn covering(range: TimeRange, step: i64) -> Grid {
        let step = step.max(1);
        let start = range.start.div_euclid(step) * step;
        let end = range.end.max(range.start + 1);
        let len = ((end - start) + step - 1) / step;
        Grid {
            start,
            step,
            len: len.max(0) as usize,
        }
    }

    /// The grid of `step` starting exactly at `range.start`: the times a
    /// Prometheus range query returns, and a file's own rows when it is regular.
    pub fn anchored(range: TimeRange, step: i64) -> Grid {
        let step = step.max(1);
        let span = (range.end - range.start).max(1);
        Grid {
            start: range.start,
            step,
            len: ((span + step - 1) / step) as usize,
        }
    }

    /// Start time of bucket `i`.
    pub fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// The bucket containing time `t`, if inside the grid.
    pub fn index(&self, t: i64) -> Option<usize> {
        if t < self.start {
            return None;
        }
        let i = ((t - self.start) / self.step) as usize;
        (i < self.len).then_some(i)
    }

    /// The time span the grid covers.
    pub fn range(&self) -> TimeRange {
        TimeRange {
            start: self.start,
            end: self.time(self.len),
        }
    }

    /// The buckets whose start lies in `range`.
    pub fn indices(&self, range: TimeRange) -> Range<usize> {
        let first = if range.start <= self.start {
            0
        } else {
            ((range.start - self.start + self.step - 1) / self.step) as usize
        };
        let last = if range.end <= self.start {
            0
        } else {
            ((range.end - self.start + self.step - 1) / self.step) as usize
        };
        first.min(self.len)..last.min(self.len)
    }
}

/// A metric resampled onto a grid; `NaN` marks a bucket with no data.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// The grid.
    pub grid: Grid,
    /// One value per bucket.
    pub values: Vec<f64>,
}

impl Aligned {
    /// Number of buckets without data.
    pub fn missing(&self) -> usize {
        self.values.iter().filter(|v| v.is_nan()).count()
    }

    /// Runs of consecutive buckets without data, as index ranges.
    pub fn gaps(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, v) in self.values.iter().enumerate() {
            match (v.is_nan(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push(s..self.values.len());
        }
        out
    }

    /// The values of buckets starting inside `range`.
    pub fn window(&self, range: TimeRange) -> &[f64] {
        &self.values[self.grid.indices(range)]
    }
}

/// Resamples `series` onto `grid`, combining points per bucket with `aggregation`.
pub fn align(series: &Series, grid: &Grid, aggregation: Aggregation) -> Aligned {
    let mut values = vec![f64::NAN; grid.len];
    let mut counts = vec![0u32; grid.len];
    for (&t, &v) in series.timestamps.iter().zip(&series.values) {
        let Some(i) = grid.index(t) else { continue };
        let slot = &mut values[i];
        *slot = match (counts[i], aggregation) {
            (0, _) => v,
            (_, Aggregation::Mean | Aggregation::Sum) => *slot + v,
            (_, Aggregation::Last) => v,
            (_, Aggregation::Max) => slot.max(v),
        };
        counts[i] += 1;
    }
    if aggregation == Aggregation::Mean {
        for (v, &n) in values.iter_mut().zip(&counts) {
            if n > 1 {
                *v /= f64::from(n);
            }
        }
    }
    Aligned {
        grid: *grid,
        values,
    }
}

/// Like [`align`] for points already sorted by strictly increasing time (as
/// most files are), without building an intermediate series; `NaN` values
/// are skipped as missing.
pub fn align_sorted(
    timestamps: &[i64],
    values: &[f64],
    grid: &Grid,
    aggregation: Aggregation,
) -> Aligned {
    debug_assert!(timestamps.windows(2).all(|w| w[0] < w[1]));
    let mut out = vec![f64::NAN; grid.len];
    let mut count = 0u32;
    let mut current = usize::MAX;
    for (&t, &v) in timestamps.iter().zip(values) {
        if v.is_nan() {
            continue;
        }
        let Some(i) = grid.index(t) else { continue };
        if i != current {
            if aggregation == Aggregation::Mean && count > 1 && current != usize::MAX {
                out[current] /= f64::from(count);
            }
            current = i;
            count = 0;
        }
        let slot = &mut out[i];
        *slot = match (count, aggregation) {
            (0, _) => v,
            (_, Aggregation::Mean | Aggregation::Sum) => *slot + v,
            (_, Aggregation::Last) => v,
            (_, Aggregation::Max) => slot.max(v),
        };
        count += 1;
    }
    if aggregation == Aggregation::Mean && count > 1 && current != usize::MAX {
        out[current] /= f64::from(count);
    }
    Aligned {
        grid: *grid,
        values: out,
    }
}

/// A step that gives about `target_points` buckets over `range`, rounded up to
/// a value people use (1s, 5s, 15s, 30s, 1m, 5m, 15m, 30m, 1h, 6h, 1d).
pub fn step_for(range: TimeRange, target_points: i64) -> i64 {
    const NICE: [i64; 11] = [
        1_000, 5_000, 15_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000, 21_600_000,
        86_400_000,
    ];
    let raw = (range.end - range.start).max(1) / target_points.max(1);
    NICE.into_iter()
        .find(|&s| s >= raw)
        .unwrap_or_else(|| ((raw + 86_399_999) / 86_400_000) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repairs_are_counted_and_applied() {
        let (s, r) = Series::from_points(vec![
            (3, 3.0),
            (1, 1.0),
            (2, f64::NAN),
            (3, 4.0),
            (2, 2.0),
            (5, f64::INFINITY),
        ]);
        assert_eq!(s.timestamps(), [1, 2, 3]);
        assert_eq!(
            s.values(),
            [1.0, 2.0, 4.0],
            "the last value read for t=3 wins"
        );
        assert_eq!(
            r,
            Repairs {
                out_of_order: 2,
                duplicates: 1,
                non_finite: 2,
                ..Repairs::default()
            }
        );
    }

    #[test]
    fn alignment_aggregates_per_bucket_and_marks_gaps() {
        let (s, _) = Series::from_points(vec![(0, 1.0), (500, 3.0), (1000, 5.0), (3000, 7.0)]);
        let grid = Grid::covering(
            TimeRange {
                start: 0,
                end: 4000,
            },
            1000,
        );
        assert_eq!(grid.len, 4);
        let mean = align(&s, &grid, Aggregation::Mean);
        assert_eq!(&mean.values[..2], [2.0, 5.0]);
        assert!(mean.values[2].is_nan());
        assert_eq!(mean.gaps(), vec![2..3_usize]);
        assert_eq!(align(&s, &grid, Aggregation::Sum).values[0], 4.0);
        assert_eq!(align(&s, &grid, Aggregation::Last).values[0], 3.0);
        assert_eq!(align(&s, &grid, Aggregation::Max).values[0], 3.0);
        assert_eq!(
            mean.window(TimeRange {
                start: 1000,
                end: 2000
            }),
            [5.0]
        );
    }

    #[test]
    fn grids_line_up_on_step_multiples() {
        let g = Grid::covering(
            TimeRange {
                start: 61_500,
                end: 180_000,
            },
            60_000,
        );
        assert_eq!((g.start, g.len), (60_000, 2));
        assert_eq!(g.index(179_999), Some(1));
        assert_eq!(g.index(180_000), None);
        assert_eq!(
            g.indices(TimeRange {
                start: 60_001,
                end: 120_001
            }),
            1..2
        );
    }

    #[test]
    fn steps_are_rounded_to_nice_values() {
        let day = TimeRange {
            start: 0,
            end: 86_400_000,
        };
        assert_eq!(step_for(day, 1_440), 60_000);
        assert_eq!(step_for(day, 1_000), 300_000);
        assert_eq!(
            step_for(
                TimeRange {
                    start: 0,
                    end: 3_600_000
                },
                1_000
            ),
            5_000
        );
    }

    proptest! {
        #[test]
        fn sorted_alignment_equals_general_alignment(
            gaps in proptest::collection::vec(1i64..500, 1..300),
            values in proptest::collection::vec(prop_oneof![-1e6f64..1e6, Just(f64::NAN)], 300),
            step in 1i64..1_000,
            which in 0usize..4,
        ) {
            let timestamps: Vec<i64> = gaps.iter().scan(0i64, |t, g| { *t += g; Some(*t) }).collect();
            let values = &values[..timestamps.len()];
            let how = [Aggregation::Mean, Aggregation::Last, Aggregation::Sum, Aggregation::Max][which];
            let grid = Grid::anchored(TimeRange { start: timestamps[0], end: timestamps[timestamps.len() - 1] + 1 }, step);
            let (series, _) = Series::from_points(timestamps.iter().copied().zip(values.iter().copied()).collect());
            let general = align(&series, &grid, how);
            let fast = align_sorted(&timestamps, values, &grid, how);
            prop_assert_eq!(general.values.len(), fast.values.len());
            for (a, b) in general.values.iter().zip(&fast.values) {
                prop_assert!((a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{} vs {}", a, b);
            }
        }

        #[test]
        fn repaired_series_are_sorted_unique_and_finite(points in proptest::collection::vec((-1000i64..1000, prop_oneof![any::<f64>(), Just(f64::NAN)]), 0..200)) {
            let n = points.len();
            let (s, r) = Series::from_points(points);
            prop_assert!(s.timestamps().windows(2).all(|w| w[0] < w[1]));
            prop_assert!(s.values().iter().all(|v| v.is_finite()));
            prop_assert_eq!(s.len() + r.duplicates + r.non_finite, n);
        }

        #[test]
        fn mean_alignment_preserves_the_total_of_sums(points in proptest::collection::vec((0i64..10_000, -1e6f64..1e6), 1..200), step in 1i64..2_000) {
            let (s, _) = Series::from_points(points);
            let grid = Grid::covering(TimeRange { start: 0, end: 10_000 }, step);
            let summed: f64 = align(&s, &grid, Aggregation::Sum).values.iter().filter(|v| !v.is_nan()).sum();
            let total: f64 = s.values().iter().sum();
            prop_assert!((summed - total).abs() <= 1e-6 * (1.0 + total.abs()));
        }
    }
}
