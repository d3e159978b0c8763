//! Graph-free reference rankers, run beside the engine in the accuracy
//! benchmark so its numbers are compared in the same run on the same data.

use std::ops::Range;

use whyline_stats::{mean_std, median, quantile};

/// NSigma: per metric, the largest (x - mean) / std of the abnormal window
/// against the normal window (as described in RCAEval, Pham et al., ASE 2024).
/// Larger = more likely the root cause. Absolute value: faults go either way.
pub fn nsigma(series: &[f64], normal: Range<usize>, abnormal: Range<usize>) -> f64 {
    let Some((mean, std)) = mean_std(&series[normal]) else {
        return 0.0;
    };
    let std = if std > 0.0 { std } else { 1.0 };
    series[abnormal]
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| ((v - mean) / std).abs())
        .fold(0.0, f64::max)
}

/// BARO's scorer (Pham et al., FSE 2024): the largest |x - median| / IQR of
/// the abnormal window against the normal one, with IQR 0 replaced by 1.
pub fn baro(series: &[f64], normal: Range<usize>, abnormal: Range<usize>) -> f64 {
    let normal_values = &series[normal];
    let Some(center) = median(normal_values) else {
        return 0.0;
    };
    let iqr = match (quantile(normal_values, 0.75), quantile(normal_values, 0.25)) {
        (Some(hi), Some(lo)) if hi - lo > 0.0 => hi - lo,
        _ => 1.0,
    };
    series[abnormal]
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| ((v - center) / iqr).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_shift() {
        let mut x: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        x.extend([20.0; 10]);
        assert!(nsigma(&x, 0..40, 40..50) > 10.0);
        // median 2, q25 1, q75 3 (numpy's linear rule) -> (20 - 2) / 2 = 9
        assert!((baro(&x, 0..40, 40..50) - 9.0).abs() < 1e-9);
        assert_eq!(baro(&[1.0; 10], 0..5, 5..10), 0.0);
    }
}
