//! Correlation and the series transforms around it: first differences,
//! delays, residuals on other series, the Fisher z test of a (partial)
//! correlation and Benjamini–Hochberg adjustment of many p-values.
//! `NaN` marks a missing point; pairwise-complete points are used.

use crate::regression::ols;

/// First differences `x[t] - x[t-1]`; `NaN` at 0 and where either point is missing.
pub fn first_differences(x: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    for t in 1..x.len() {
        out[t] = x[t] - x[t - 1];
    }
    out
}

/// `x` delayed by `lag` points (`NaN` before the start).
pub fn delayed(x: &[f64], lag: usize) -> Vec<f64> {
    (0..x.len())
        .map(|t| if t >= lag { x[t - lag] } else { f64::NAN })
        .collect()
}

/// A lag in milliseconds as a whole number of grid steps (rounded to the
/// nearest; a step of 0 or less counts as 1 ms).
pub fn lag_steps(lag_ms: u64, step_ms: i64) -> usize {
    ((lag_ms as f64) / (step_ms.max(1) as f64)).round() as usize
}

/// Pearson's product-moment correlation over the points where both series
/// are present, and how many there were. `NaN` when fewer than two points
/// remain or either series is flat over them; callers decide how many
/// points they need.
pub fn pearson(a: &[f64], b: &[f64]) -> (f64, usize) {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| (*x, *y))
        .collect();
    let n = pairs.len();
    if n < 2 {
        return (f64::NAN, n);
    }
    let (sa, sb) = pairs
        .iter()
        .fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x, sb + y));
    let (ma, mb) = (sa / n as f64, sb / n as f64);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return (f64::NAN, n);
    }
    (sab / (saa * sbb).sqrt(), n)
}

/// Residuals of `y` regressed by least squares on the columns `z` (with no
/// column, `y` minus its mean); `NaN` where any input is missing. `None`
/// when the regression cannot be fitted.
pub fn residuals_on(y: &[f64], z: &[&[f64]]) -> Option<Vec<f64>> {
    let complete = |t: usize| !y[t].is_nan() && z.iter().all(|c| !c[t].is_nan());
    if z.is_empty() {
        let (sum, n) = (0..y.len())
            .filter(|&t| complete(t))
            .fold((0.0, 0usize), |(s, n), t| (s + y[t], n + 1));
        let mean = sum / n.max(1) as f64;
        return Some(
            (0..y.len())
                .map(|t| if complete(t) { y[t] - mean } else { f64::NAN })
                .collect(),
        );
    }
    let fit = ols(z, y)?;
    Some(
        (0..y.len())
            .map(|t| {
                if complete(t) {
                    let row: Vec<f64> = z.iter().map(|c| c[t]).collect();
                    y[t] - fit.predict(&row)
                } else {
                    f64::NAN
                }
            })
            .collect(),
    )
}

/// Two-sided p-value of a (partial) correlation `r` over `n` points with `k`
/// conditioning variables, by the Fisher z transform (Fisher 1921; the
/// partial form as in Kalisch & Bühlmann, JMLR 2007): `z = atanh(r) √(n-k-3)`.
pub fn fisher_p(r: f64, n: usize, k: usize) -> f64 {
    let dof = n as f64 - k as f64 - 3.0;
    if dof <= 0.0 || !r.is_finite() {
        return 1.0;
    }
    let z = r.clamp(-0.999_999, 0.999_999).atanh() * dof.sqrt();
    // Two-sided normal tail: erfc(|z| / sqrt 2).
    libm::erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg, JRSS B 1995;
/// step-up, made monotone), in input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![1.0; m];
    let mut running: f64 = 1.0;
    for rank in (0..m).rev() {
        let i = order[rank];
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// x = 1..5, y = 2,4,5,4,5: Sxy = 6, Sxx = 10, Syy = 6, so r = 6 / √60
    /// = 0.7745966692414834 (exact arithmetic, by hand).
    #[test]
    fn pearson_matches_the_hand_computed_value() {
        let (r, n) = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]);
        assert_eq!(n, 5);
        assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-15, "{r}");
        // Missing points are left out pairwise.
        let (r, n) = pearson(
            &[1.0, f64::NAN, 2.0, 3.0, 4.0, 5.0],
            &[2.0, 9.0, 4.0, 5.0, 4.0, 5.0],
        );
        assert_eq!(n, 5);
        assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-15, "{r}");
        // Flat or too short: no correlation.
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).0.is_nan());
        assert!(pearson(&[1.0], &[1.0]).0.is_nan());
    }

    #[test]
    fn differences_delays_and_lags() {
        let d = first_differences(&[1.0, 3.0, f64::NAN, 4.0]);
        assert!(d[0].is_nan() && d[2].is_nan() && d[3].is_nan());
        assert_eq!(d[1], 2.0);
        let x = delayed(&[1.0, 2.0, 3.0], 2);
        assert!(x[0].is_nan() && x[1].is_nan());
        assert_eq!(x[2], 1.0);
        assert_eq!(lag_steps(90_000, 60_000), 2);
        assert_eq!(lag_steps(0, 60_000), 0);
        assert_eq!(lag_steps(300_000, 0), 300_000);
    }

    /// With one column, the residual is y minus its least-squares line:
    /// y = 2x + 1 exactly leaves zeros; with no column, y minus its mean.
    #[test]
    fn residuals_on_a_line_are_zero() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [3.0, 5.0, 7.0, 9.0];
        let r = residuals_on(&y, &[&x]).expect("fit");
        assert!(r.iter().all(|v| v.abs() < 1e-12), "{r:?}");
        assert_eq!(
            residuals_on(&[1.0, 3.0], &[]).expect("mean"),
            vec![-1.0, 1.0]
        );
    }

    /// Values computed once with scipy 1.17.1:
    /// `2 * scipy.stats.norm.sf(abs(np.arctanh(r)) * np.sqrt(n - k - 3))`.
    #[test]
    fn fisher_p_matches_scipy() {
        assert!(
            (fisher_p(0.3, 50, 0) - 0.033_841_139_314_946_34).abs() < 1e-9,
            "{}",
            fisher_p(0.3, 50, 0)
        );
        assert!(
            (fisher_p(0.1, 1000, 2) - 0.001_551_148_591_481_423_5).abs() < 1e-9,
            "{}",
            fisher_p(0.1, 1000, 2)
        );
        assert_eq!(fisher_p(0.5, 3, 0), 1.0);
    }

    /// Benjamini & Hochberg (1995) on a textbook example, checked against
    /// `statsmodels.stats.multitest.multipletests(p, method='fdr_bh')`.
    #[test]
    fn bh_matches_statsmodels() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.2];
        let q = benjamini_hochberg(&p);
        let expected = [0.025, 0.05, 0.05, 0.025, 0.2];
        for (a, b) in q.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }

    proptest! {
        /// A correlation is within [-1, 1], symmetric, and unchanged by a
        /// positive affine map of either series.
        #[test]
        fn pearson_is_bounded_symmetric_and_affine_invariant(
            pairs in proptest::collection::vec((-1e3f64..1e3, -1e3f64..1e3), 3..50),
            scale in 0.1f64..10.0,
            shift in -100f64..100.0,
        ) {
            let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let (r, _) = pearson(&a, &b);
            prop_assume!(r.is_finite());
            prop_assert!((-1.0 - 1e-12..=1.0 + 1e-12).contains(&r));
            prop_assert!((pearson(&b, &a).0 - r).abs() < 1e-9);
            let moved: Vec<f64> = a.iter().map(|x| x * scale + shift).collect();
            prop_assert!((pearson(&moved, &b).0 - r).abs() < 1e-6);
        }
    }
}
