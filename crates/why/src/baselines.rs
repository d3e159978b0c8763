//! Graph-free reference rankers, run beside the engine in the accuracy
//! benchmark so its numbers are compared in the same run on the same data.

use std::ops::Range;

use whyline_stats::{mean_std, median, quantile};

/// Which deviations a reference ranker scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// As published (RCAEval's `nsigma` and `baro`: `score = max(zscores)`):
    /// only rises count, which suits CPU hogs and memory leaks.
    Up,
    /// `max |z|`: a fall counts as much as a rise, for faults that go either way.
    Both,
}

/// The largest z of the abnormal window, signed or absolute.
fn largest(zs: impl Iterator<Item = f64>, sides: Sides) -> f64 {
    let zs = zs.filter(|z| !z.is_nan());
    match sides {
        Sides::Up => zs.fold(f64::NEG_INFINITY, f64::max),
        Sides::Both => zs.map(f64::abs).fold(0.0, f64::max),
    }
}

/// NSigma: per metric, the largest (x - mean) / std of the abnormal window
/// against the normal window, as RCAEval implements it (Pham et al., ASE
/// 2024: sklearn's `StandardScaler` fitted on the normal window, population
/// std, a zero std replaced by 1). Larger = more likely the root cause.
pub fn nsigma(series: &[f64], normal: Range<usize>, abnormal: Range<usize>, sides: Sides) -> f64 {
    let Some((mean, sample_std)) = mean_std(&series[normal.clone()]) else {
        return 0.0;
    };
    let n = series[normal].iter().filter(|v| !v.is_nan()).count() as f64;
    // StandardScaler divides by n, not n - 1.
    let std = if n > 1.0 {
        sample_std * ((n - 1.0) / n).sqrt()
    } else {
        0.0
    };
    let std = if std > 0.0 { std } else { 1.0 };
    largest(series[abnormal].iter().map(|v| (v - mean) / std), sides)
}

/// BARO's scorer (Pham et al., FSE 2024, as in RCAEval): the largest
/// (x - median) / IQR of the abnormal window against the normal one
/// (sklearn's `RobustScaler`, an IQR of 0 replaced by 1).
pub fn baro(series: &[f64], normal: Range<usize>, abnormal: Range<usize>, sides: Sides) -> f64 {
    let normal_values = &series[normal];
    let Some(center) = median(normal_values) else {
        return 0.0;
    };
    let iqr = match (quantile(normal_values, 0.75), quantile(normal_values, 0.25)) {
        (Some(hi), Some(lo)) if hi - lo > 0.0 => hi - lo,
        _ => 1.0,
    };
    largest(series[abnormal].iter().map(|v| (v - center) / iqr), sides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_shift() {
        let mut x: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        x.extend([20.0; 10]);
        // mean 2, population std sqrt(2) -> (20 - 2) / 1.41421 = 12.7279
        // (sklearn: StandardScaler().fit(x[:40]).transform([[20]]) = 12.7279).
        assert!((nsigma(&x, 0..40, 40..50, Sides::Up) - 18.0 / 2f64.sqrt()).abs() < 1e-9);
        // median 2, q25 1, q75 3 (numpy's linear rule) -> (20 - 2) / 2 = 9
        assert!((baro(&x, 0..40, 40..50, Sides::Up) - 9.0).abs() < 1e-9);
        assert_eq!(baro(&[1.0; 10], 0..5, 5..10, Sides::Both), 0.0);
    }

    #[test]
    fn the_published_form_scores_only_rises() {
        let mut x: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        x.extend([-16.0; 10]);
        // A fall: (-16 - 2) / 2 = -9 signed, 9 absolute.
        assert!((baro(&x, 0..40, 40..50, Sides::Up) + 9.0).abs() < 1e-9);
        assert!((baro(&x, 0..40, 40..50, Sides::Both) - 9.0).abs() < 1e-9);
        assert!(nsigma(&x, 0..40, 40..50, Sides::Up) < 0.0);
        assert!(nsigma(&x, 0..40, 40..50, Sides::Both) > 12.0);
    }
}
