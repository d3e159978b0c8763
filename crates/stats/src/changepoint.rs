//! Where did it start? One change in mean.
//!
//! The maximum-likelihood split of a series into two segments with different
//! means and a common variance (Hinkley 1970, "Inference about the
//! change-point in a sequence of random variables", Biometrika 57(1)): the
//! split `k` maximising `n1 n2 / n (mean1 - mean2)^2`, computed with prefix
//! sums in O(n). The statistic is reported as a t-like value against the
//! pooled within-segment standard deviation.

/// A detected change in mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanShift {
    /// First index of the second segment.
    pub index: usize,
    /// Mean before.
    pub before: f64,
    /// Mean after.
    pub after: f64,
    /// |after - before| / pooled sigma * sqrt(n1 n2 / n).
    pub statistic: f64,
}

/// The best single change in mean of `x` with segments of at least `min_size`
/// points. Missing values are carried forward from the last seen value (and
/// leading ones backward) so gaps neither split nor shift the segments.
pub fn mean_shift(x: &[f64], min_size: usize) -> Option<MeanShift> {
    mean_shift_after(x, min_size, 0)
}

/// Like [`mean_shift`], but the change may only start at `earliest` or later:
/// the points before it serve as extra baseline.
pub fn mean_shift_after(x: &[f64], min_size: usize, earliest: usize) -> Option<MeanShift> {
    let first = x.iter().copied().find(|v| !v.is_nan())?;
    let mut last = first;
    let filled: Vec<f64> = x
        .iter()
        .map(|&v| {
            if !v.is_nan() {
                last = v;
            }
            last
        })
        .collect();
    let n = filled.len();
    let min_size = min_size.max(1);
    if n < 2 * min_size {
        return None;
    }
    let mut prefix = vec![0.0; n + 1];
    let mut prefix2 = vec![0.0; n + 1];
    // Centre first: sums of squares of large values lose precision.
    let offset = filled[0];
    for (i, v) in filled.iter().enumerate() {
        let c = v - offset;
        prefix[i + 1] = prefix[i] + c;
        prefix2[i + 1] = prefix2[i] + c * c;
    }
    let total = prefix[n];
    let mut best: Option<(usize, f64)> = None;
    #[allow(clippy::needless_range_loop)] // k is the split point, not just an index
    for k in min_size.max(earliest)..=n - min_size {
        let (n1, n2) = (k as f64, (n - k) as f64);
        let (m1, m2) = (prefix[k] / n1, (total - prefix[k]) / n2);
        let gain = n1 * n2 / n as f64 * (m1 - m2).powi(2);
        if best.is_none_or(|(_, g)| gain > g) {
            best = Some((k, gain));
        }
    }
    let (k, gain) = best?;
    let (n1, n2) = (k as f64, (n - k) as f64);
    let (m1, m2) = (prefix[k] / n1, (total - prefix[k]) / n2);
    let ss1 = prefix2[k] - n1 * m1 * m1;
    let ss2 = (prefix2[n] - prefix2[k]) - n2 * m2 * m2;
    let pooled = ((ss1 + ss2).max(0.0) / (n as f64 - 2.0).max(1.0)).sqrt();
    let statistic = if pooled > 0.0 {
        gain.sqrt() / pooled
    } else if gain > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Some(MeanShift {
        index: k,
        before: m1 + offset,
        after: m2 + offset,
        statistic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_step() {
        let mut x: Vec<f64> = (0..60)
            .map(|i| 10.0 + ((i * 7919) % 13) as f64 * 0.1)
            .collect();
        for v in &mut x[40..] {
            *v += 5.0;
        }
        let shift = mean_shift(&x, 3).expect("shift");
        assert_eq!(shift.index, 40);
        assert!((shift.after - shift.before - 5.0).abs() < 0.3);
        assert!(shift.statistic > 10.0);
    }

    #[test]
    fn gaps_do_not_move_the_change() {
        let mut x = vec![1.0; 30];
        x.extend(vec![3.0; 30]);
        x[10] = f64::NAN;
        x[45] = f64::NAN;
        assert_eq!(mean_shift(&x, 3).map(|s| s.index), Some(30));
        assert!(mean_shift(&[f64::NAN; 10], 2).is_none());
        assert!(mean_shift(&[1.0, 2.0], 2).is_none());
    }
}
