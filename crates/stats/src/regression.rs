//! Ordinary least squares, `y = b0 + X b + e`, by Householder QR.
//!
//! QR rather than the normal equations: the lagged copies of one metric that
//! the why engine regresses on are nearly collinear, and QR keeps the
//! condition number from being squared (Golub & Van Loan, *Matrix
//! Computations*, 4th ed., section 5.3). Rows with any `NaN` are dropped.

/// A fitted linear model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Intercept.
    pub intercept: f64,
    /// One coefficient per regressor column.
    pub coefficients: Vec<f64>,
    /// Residual standard error, sqrt(RSS / (n - p - 1)).
    pub sigma: f64,
    /// Rows used.
    pub n: usize,
}

impl Fit {
    /// The prediction for one row of regressors.
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.intercept
            + self
                .coefficients
                .iter()
                .zip(row)
                .map(|(b, x)| b * x)
                .sum::<f64>()
    }
}

/// Fits `y` on the `columns` (each as long as `y`). `None` when fewer complete
/// rows than parameters + 2, or when a column is (numerically) constant or a
/// copy of others; callers then fall back to a model without it.
pub fn ols(columns: &[&[f64]], y: &[f64]) -> Option<Fit> {
    let p = columns.len() + 1;
    let rows: Vec<usize> = (0..y.len())
        .filter(|&i| {
            !y[i].is_nan()
                && columns
                    .iter()
                    .all(|c| c.get(i).is_some_and(|v| !v.is_nan()))
        })
        .collect();
    let n = rows.len();
    if n < p + 2 {
        return None;
    }
    // Column-major design matrix with an intercept column, centred and scaled
    // for conditioning; coefficients are mapped back at the end.
    let mut means = vec![0.0; p];
    let mut scales = vec![1.0; p];
    let mut a: Vec<Vec<f64>> = Vec::with_capacity(p);
    a.push(vec![1.0; n]);
    for (j, column) in columns.iter().enumerate() {
        let values: Vec<f64> = rows.iter().map(|&i| column[i]).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let scale = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        if scale.is_nan() || scale <= 0.0 || !scale.is_finite() {
            return None;
        }
        means[j + 1] = mean;
        scales[j + 1] = scale;
        a.push(values.iter().map(|v| (v - mean) / scale).collect());
    }
    let mut b: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
    // Householder QR, applied to b as we go.
    for k in 0..p {
        let norm = a[k][k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-10 * (n as f64).sqrt() {
            return None;
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = a[k][k..].to_vec();
        v[0] -= alpha;
        let vnorm2 = v.iter().map(|x| x * x).sum::<f64>();
        if vnorm2 == 0.0 {
            continue;
        }
        for col in a.iter_mut().skip(k) {
            let dot: f64 = v.iter().zip(&col[k..]).map(|(x, y)| x * y).sum();
            let f = 2.0 * dot / vnorm2;
            for (c, x) in col[k..].iter_mut().zip(&v) {
                *c -= f * x;
            }
        }
        let dot: f64 = v.iter().zip(&b[k..]).map(|(x, y)| x * y).sum();
        let f = 2.0 * dot / vnorm2;
        for (c, x) in b[k..].iter_mut().zip(&v) {
            *c -= f * x;
        }
    }
    // Back substitution on R.
    let mut beta = vec![0.0; p];
    for k in (0..p).rev() {
        let mut s = b[k];
        for j in k + 1..p {
            s -= a[j][k] * beta[j];
        }
        if a[k][k].abs() < 1e-12 {
            return None;
        }
        beta[k] = s / a[k][k];
    }
    let rss: f64 = b[p..].iter().map(|x| x * x).sum();
    let coefficients: Vec<f64> = (1..p).map(|j| beta[j] / scales[j]).collect();
    let intercept = beta[0] - (1..p).map(|j| beta[j] * means[j] / scales[j]).sum::<f64>();
    Some(Fit {
        intercept,
        coefficients,
        sigma: (rss / (n - p) as f64).sqrt(),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed once with statsmodels 0.15.0:
    /// `sm.OLS(y, sm.add_constant(np.column_stack([x1, x2]))).fit()`,
    /// `params` and `np.sqrt(scale)`.
    #[test]
    fn matches_statsmodels() {
        let x1 = [
            0.001, 0.299, -0.274, -0.891, -0.455, -0.992, 0.06, 1.34, -0.492, -0.62, 0.49, 0.357,
        ];
        let x2 = [
            0.105, -0.93, -0.029, 0.695, -1.344, -0.458, -1.901, -1.29, -1.842, -0.235, -1.267,
            0.271,
        ];
        let y = [
            1.476, 2.693, 0.217, -0.93, 1.516, -0.129, 2.492, 4.94, 1.512, 0.182, 3.685, 1.782,
        ];
        let fit = ols(&[&x1, &x2], &y).expect("fit");
        assert!((fit.intercept - 1.3326042228182802).abs() < 1e-9, "{fit:?}");
        assert!((fit.coefficients[0] - 2.048762193710308).abs() < 1e-9);
        assert!((fit.coefficients[1] + 0.7119930003863432).abs() < 1e-9);
        assert!((fit.sigma - 0.29841887017421076).abs() < 1e-9);
        assert!((y[0] - fit.predict(&[x1[0], x2[0]]) - 0.21610628002857535).abs() < 1e-9);
    }

    #[test]
    fn degenerate_designs_are_refused() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0];
        assert!(ols(&[&x, &x], &y).is_none(), "collinear");
        assert!(ols(&[&[1.0; 6]], &y).is_none(), "constant");
        assert!(ols(&[&x[..3]], &y[..3]).is_none(), "too few rows");
        let with_gap = [1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0, 7.0];
        let fit = ols(&[&with_gap], &[2.0, 0.0, 6.0, 8.0, 10.0, 12.0, 14.0])
            .expect("rows with NaN are dropped");
        assert!((fit.coefficients[0] - 2.0).abs() < 1e-9 && fit.n == 6);
    }
}
