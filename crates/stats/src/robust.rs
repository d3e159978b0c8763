//! Robust location and scale.
//!
//! Median and MAD (Hampel 1974; Rousseeuw & Croux 1993): a baseline that an
//! incident inside it cannot drag along, unlike mean and standard deviation.
//! The MAD is scaled by 1.4826 so it estimates the standard deviation of
//! normal data, as `scipy.stats.median_abs_deviation(scale='normal')` does.

/// Values that are not `NaN`, sorted.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Quantile `q` in [0, 1] with linear interpolation between order statistics
/// (Hyndman & Fan 1996, definition 7; numpy's default). `None` without data.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    quantile_sorted(&sorted(values), q)
}

fn quantile_sorted(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// The median.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The variance of the median of `n` independent normal points, in units of
/// sigma squared: pi / (2n), asymptotically (Kenney & Keeping, *Mathematics
/// of Statistics*, 1962; the median's standard error is about 1.2533 sigma /
/// sqrt(n)). Callers decide what a single point's median is worth.
pub fn median_variance(n: f64) -> f64 {
    std::f64::consts::FRAC_PI_2 / n
}

/// Median absolute deviation, scaled by 1.4826 to estimate a normal sigma.
pub fn mad(values: &[f64]) -> Option<f64> {
    let m = median(values)?;
    let deviations: Vec<f64> = values
        .iter()
        .filter(|x| !x.is_nan())
        .map(|x| (x - m).abs())
        .collect();
    median(&deviations).map(|d| d * 1.482_602_218_505_602)
}

/// Interquartile range (q75 - q25).
pub fn iqr(values: &[f64]) -> Option<f64> {
    let v = sorted(values);
    Some(quantile_sorted(&v, 0.75)? - quantile_sorted(&v, 0.25)?)
}

/// Mean and sample standard deviation (n - 1), skipping `NaN`.
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    // Welford's online algorithm: stable for large offsets (Welford 1962).
    let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
    for &x in values.iter().filter(|x| !x.is_nan()) {
        n += 1.0;
        let delta = x - mean;
        mean += delta / n;
        m2 += delta * (x - mean);
    }
    if n < 1.0 {
        return None;
    }
    Some((
        mean,
        if n > 1.0 {
            (m2 / (n - 1.0)).sqrt()
        } else {
            0.0
        },
    ))
}

/// A baseline to score new values against: `(x - center) / scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobustBaseline {
    /// The median of the baseline window.
    pub center: f64,
    /// A robust sigma: the scaled MAD, else IQR / 1.349, else a floor from the
    /// data's magnitude, so a flat baseline does not make every change infinite.
    pub scale: f64,
}

impl RobustBaseline {
    /// Fits the baseline; `None` without data.
    pub fn fit(values: &[f64]) -> Option<Self> {
        let center = median(values)?;
        let mut scale = mad(values).unwrap_or(0.0);
        if scale <= 0.0 {
            scale = iqr(values).unwrap_or(0.0) / 1.349;
        }
        if scale <= 0.0 {
            let (_, std) = mean_std(values).unwrap_or((0.0, 0.0));
            scale = std;
        }
        // Floor: 1e-3 of the level (or 1e-9): a constant metric that moves by
        // 1% scores 10, not infinity.
        let floor = (center.abs() * 1e-3).max(1e-9);
        Some(RobustBaseline {
            center,
            scale: scale.max(floor),
        })
    }

    /// The robust z-score of `x`.
    pub fn z(&self, x: f64) -> f64 {
        (x - self.center) / self.scale
    }
}

#[cfg(test)]
mod tests {

    /// pi / 2 for one point (the asymptotic efficiency of the median
    /// against the mean is 2 / pi, Kenney & Keeping 1962); sqrt gives the
    /// textbook 1.2533 sigma for one point's worth.
    #[test]
    fn median_variance_is_pi_over_2n() {
        assert!((median_variance(1.0) - std::f64::consts::FRAC_PI_2).abs() < 1e-15);
        assert!((median_variance(1.0).sqrt() - 1.2533).abs() < 1e-4);
        assert!((median_variance(100.0) - 0.015_707_963_267_948_967).abs() < 1e-15);
    }

    use super::*;
    use proptest::prelude::*;

    /// Expected values computed once with numpy 2.4.6 / scipy 1.17.1:
    /// `np.median`, `np.quantile` and `scipy.stats.median_abs_deviation(x, scale='normal')`.
    #[test]
    fn matches_numpy_and_scipy() {
        let x = [
            3.1,
            4.7,
            1.2,
            9.9,
            5.5,
            5.0,
            2.2,
            8.8,
            7.1,
            6.3,
            4.4,
            f64::NAN,
        ];
        assert_eq!(median(&x), Some(5.0));
        assert!((quantile(&x, 0.25).unwrap_or(0.0) - 3.75).abs() < 1e-12);
        assert!((quantile(&x, 0.75).unwrap_or(0.0) - 6.699999999999999).abs() < 1e-12);
        assert!((mad(&x).unwrap_or(0.0) - 2.8169442151606434).abs() < 1e-9);
        assert_eq!(median(&[f64::NAN]), None);
    }

    #[test]
    fn mean_std_is_welford() {
        let (m, s) = mean_std(&[1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0]).unwrap_or_default();
        assert_eq!(m, 1e9 + 2.0);
        assert!((s - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_flat_baseline_still_scores_finitely() {
        let b = RobustBaseline::fit(&[100.0; 50]).expect("fit");
        assert!((b.z(101.0) - 10.0).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn median_is_between_min_and_max(v in proptest::collection::vec(-1e9f64..1e9, 1..100)) {
            let m = median(&v).unwrap_or(f64::NAN);
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(lo <= m && m <= hi);
        }

        #[test]
        fn robust_scale_is_positive_and_shift_invariant(v in proptest::collection::vec(-1e3f64..1e3, 2..100), shift in -1e3f64..1e3) {
            let a = RobustBaseline::fit(&v).expect("fit");
            prop_assert!(a.scale > 0.0);
            let shifted: Vec<f64> = v.iter().map(|x| x + shift).collect();
            let b = RobustBaseline::fit(&shifted).expect("fit");
            prop_assert!((a.z(v[0]) - b.z(shifted[0])).abs() < 1e-6 * (1.0 + a.z(v[0]).abs()) || a.scale != b.scale);
        }
    }
}
