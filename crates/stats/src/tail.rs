//! How unusual a value is against a metric's own normal behaviour: an
//! empirical tail probability, extended past the largest normal value by an
//! exponential tail (peaks over threshold).
//!
//! Method: within the observed range, the tail probability is the empirical
//! one, `(1 + #{s_i >= s}) / (n + 1)` (the add-one estimate of a p-value from
//! a reference sample; Davison & Hinkley, *Bootstrap Methods and their
//! Application*, 1997, eq. 4.11), as DoWhy's `ITAnomalyScorer` does with its
//! information score `-ln p` (Budhathoki et al., ICML 2022). Past the largest
//! normal value it decays as an exponential with the mean excess over the
//! 90% quantile as its scale: the generalized Pareto tail with shape 0 that
//! the peaks-over-threshold method fits (Pickands 1975; Balkema & de Haan
//! 1974; used for streaming alert thresholds by SPOT, Siffer et al., KDD
//! 2017). A metric pinned at a bound (availability at 100% with rare dips)
//! has a mean excess from its dips; one that never moved in normal
//! operation gets the caller's floor as its scale, so a first dip is
//! surprising but not infinitely so.

/// The tail of one metric's deviations in one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    /// Deviations `direction * (x - center)` of the normal sample, ascending.
    sorted: Vec<f64>,
    /// Scale of the exponential tail past the largest deviation.
    scale: f64,
}

impl Tail {
    /// Fits the tail of `direction * (x - center)` over `values` (NaNs
    /// skipped); `floor` bounds the tail's scale from below (use a practical
    /// significance floor, e.g. 1% of the level). `None` without data.
    pub fn fit(values: &[f64], center: f64, direction: f64, floor: f64) -> Option<Tail> {
        let mut sorted: Vec<f64> = values
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| direction * (v - center))
            .collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let threshold = sorted[((sorted.len() - 1) as f64 * 0.9).floor() as usize];
        let excesses: Vec<f64> = sorted
            .iter()
            .filter(|s| **s > threshold)
            .map(|s| s - threshold)
            .collect();
        let mean_excess = if excesses.is_empty() {
            0.0
        } else {
            excesses.iter().sum::<f64>() / excesses.len() as f64
        };
        let floor = if floor.is_finite() && floor > 0.0 {
            floor
        } else {
            f64::MIN_POSITIVE
        };
        Some(Tail {
            sorted,
            scale: mean_excess.max(floor),
        })
    }

    /// Normal points the tail was fitted on.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether the tail was fitted on no points (never: `fit` refuses).
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// `P(S >= s)` for a deviation `s` (in the tail's direction).
    pub fn p_deviation(&self, s: f64) -> f64 {
        if s.is_nan() {
            return 1.0;
        }
        let n = self.sorted.len() as f64;
        let at_least = self.sorted.len() - self.sorted.partition_point(|v| *v < s);
        if at_least > 0 {
            return (1.0 + at_least as f64) / (n + 1.0);
        }
        let largest = self.sorted[self.sorted.len() - 1];
        (-(s - largest) / self.scale).exp() / (n + 1.0)
    }

    /// `-ln P(S >= s)`: the information (surprise) of a deviation, in nats.
    pub fn surprise_deviation(&self, s: f64) -> f64 {
        if s.is_nan() {
            return 0.0;
        }
        let n = self.sorted.len() as f64;
        let largest = self.sorted[self.sorted.len() - 1];
        if s > largest {
            // In logs: the exponential tail underflows past ~745 nats.
            (n + 1.0).ln() + (s - largest) / self.scale
        } else {
            -self.p_deviation(s).ln()
        }
    }
}

/// The surprise of the worst of `k` points, each with surprise `point`:
/// `-ln(1 - (1 - p)^k)` (Šidák 1967), so a longer window does not look more
/// anomalous merely for having more points to pick from.
pub fn window_surprise(point: f64, k: usize) -> f64 {
    if k <= 1 || !point.is_finite() {
        return point.max(0.0);
    }
    let p = (-point).exp();
    // 1 - (1 - p)^k without cancellation for small p.
    let p_window = -(k as f64 * (-p).ln_1p()).exp_m1();
    if p_window <= 0.0 {
        // p so small that k * p is exact.
        return point - (k as f64).ln();
    }
    -p_window.min(1.0).ln()
}

/// The surprise of a window's points taken together, from their single
/// surprises (`-ln p`): for each `k`, the chance that at least `k` of the `n`
/// points are as unusual as the `k`-th most unusual one, `P(Bin(n, p_(k)) >=
/// k)` (the distribution of the `k`-th order statistic of `n` independent
/// uniform p-values; David & Nagaraja, *Order Statistics*, 3rd ed., 2003,
/// eq. 2.1.3); the window's surprise is the largest `-ln` of these over `k`,
/// the minimum-p combination behind Berk & Jones (1979). `k = 1` is
/// [`window_surprise`] of the worst point; three points at p = 0.01 each are
/// far stronger evidence together than any one of them. Callers calibrate it
/// against the same statistic over normal windows, since real points are
/// neither independent nor exactly uniform.
pub fn order_surprise(points: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = points
        .iter()
        .map(|s| if s.is_finite() { s.max(0.0) } else { 0.0 })
        .collect();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let n = sorted.len() as u64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, s)| -crate::binomial_log_sf(i as u64 + 1, n, (-s).exp()))
        .fold(0.0, f64::max)
}

/// Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995), in the
/// input's order, from surprises (`-ln p`); returned as surprises too, so
/// that tiny p-values keep their resolution.
pub fn bh_adjusted_surprise(surprises: &[f64]) -> Vec<f64> {
    let m = surprises.len();
    let mut order: Vec<usize> = (0..m).collect();
    // Ascending p = descending surprise.
    order.sort_by(|&a, &b| surprises[b].total_cmp(&surprises[a]));
    let mut adjusted = vec![0.0; m];
    // Step-up: the adjusted p at rank r is min over ranks >= r of p * m / rank.
    let mut running = 0.0f64; // the largest adjusted surprise allowed so far, from the back
    for (rank0, &i) in order.iter().enumerate().rev() {
        let rank = rank0 + 1;
        let s = (surprises[i] - (m as f64 / rank as f64).ln()).max(0.0);
        running = if rank0 == m - 1 { s } else { running.max(s) };
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empirical_inside_exponential_beyond() {
        // Deviations 0..=9 (center 0, upwards): the 90% quantile is 8, the one
        // excess is 1, so the tail's scale is 1.
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let tail = Tail::fit(&values, 0.0, 1.0, 1e-9).expect("data");
        // 7, 8, 9 are >= 7: (1 + 3) / 11.
        assert!((tail.p_deviation(7.0) - 4.0 / 11.0).abs() < 1e-12);
        assert!((tail.p_deviation(-5.0) - 1.0).abs() < 1e-12);
        // Past 9: exp(-(12 - 9) / 1) / 11.
        assert!((tail.p_deviation(12.0) - (-3.0f64).exp() / 11.0).abs() < 1e-15);
        assert!((tail.surprise_deviation(12.0) - (11f64.ln() + 3.0)).abs() < 1e-12);
        // Far past the data the surprise stays finite and linear.
        assert!((tail.surprise_deviation(2009.0) - (11f64.ln() + 2000.0)).abs() < 1e-9);
    }

    #[test]
    fn a_pinned_metric_uses_its_dips_or_the_floor() {
        // Availability at 100 with two dips of 1 and 3 in 100 points: falls
        // are the bad direction (direction -1); the scale is the mean dip.
        let mut values = vec![100.0; 98];
        values.extend([99.0, 97.0]);
        let tail = Tail::fit(&values, 100.0, -1.0, 0.5).expect("data");
        assert!((tail.p_deviation(1.0) - 3.0 / 101.0).abs() < 1e-12);
        assert!((tail.p_deviation(5.0) - (-(5.0 - 3.0) / 2.0f64).exp() / 101.0).abs() < 1e-15);
        // Never moved: the floor is the scale.
        let flat = Tail::fit(&[100.0; 50], 100.0, -1.0, 0.5).expect("data");
        assert!((flat.surprise_deviation(1.0) - (51f64.ln() + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn window_correction_is_sidak() {
        // p = 0.01 over 5 points: 1 - 0.99^5 = 0.04900995.
        let s = window_surprise(-(0.01f64.ln()), 5);
        assert!(((-s).exp() - 0.049_009_950_1).abs() < 1e-9);
        // Tiny p: k * p.
        assert!((window_surprise(800.0, 5) - (800.0 - 5f64.ln())).abs() < 1e-9);
        assert_eq!(window_surprise(3.0, 1), 3.0);
    }

    /// Expected values computed exactly once with Python's `fractions` and
    /// `math.comb` (sum over j >= k of C(n, j) p^j (1 - p)^(n - j)).
    #[test]
    fn points_together_follow_the_order_statistics() {
        let s = |p: f64| -p.ln();
        // Three points at p = 0.01 among 5: P(Bin(5, 0.01) >= 3) = 9.8506e-6.
        let together = order_surprise(&[s(0.01), s(0.01), s(0.01), s(0.5), s(0.9)]);
        assert!(((-together).exp() - 9.850_6e-6).abs() < 1e-9, "{together}");
        // One point at p = 0.001 among 4, the rest ordinary: the worst point
        // decides, 1 - 0.999^4 = 0.003994004.
        let one = order_surprise(&[s(0.001), s(0.6), s(0.7), s(0.8)]);
        assert!(((-one).exp() - 0.003_994_004).abs() < 1e-9, "{one}");
        assert!((one - window_surprise(s(0.001), 4)).abs() < 1e-9);
        // Nothing unusual: hardly any surprise (both points at least as
        // unusual as p = 0.9: 0.9^2 = 0.81); no points: none.
        let calm = order_surprise(&[s(0.9), s(0.8)]);
        assert!((calm + 0.81f64.ln()).abs() < 1e-12, "{calm}");
        assert_eq!(order_surprise(&[]), 0.0);
    }

    /// Expected adjusted p-values computed once with statsmodels 0.15.0
    /// (`multipletests([0.01, 0.04, 0.03, 0.005], method='fdr_bh')`):
    /// [0.02, 0.04, 0.04, 0.02].
    #[test]
    fn benjamini_hochberg_matches_statsmodels() {
        let p = [0.01f64, 0.04, 0.03, 0.005];
        let s: Vec<f64> = p.iter().map(|p| -p.ln()).collect();
        let adjusted: Vec<f64> = bh_adjusted_surprise(&s)
            .iter()
            .map(|s| (-s).exp())
            .collect();
        for (got, want) in adjusted.iter().zip([0.02, 0.04, 0.04, 0.02]) {
            assert!((got - want).abs() < 1e-12, "{adjusted:?}");
        }
    }

    proptest! {
        #[test]
        fn tail_probability_is_monotone_and_bounded(
            values in proptest::collection::vec(-1e3f64..1e3, 1..200),
            a in -2e3f64..2e3,
            b in -2e3f64..2e3,
        ) {
            let tail = Tail::fit(&values, 0.0, 1.0, 1e-6).expect("data");
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (p_lo, p_hi) = (tail.p_deviation(lo), tail.p_deviation(hi));
            prop_assert!(p_hi <= p_lo + 1e-15);
            // (Far past the data p underflows to 0; its surprise stays finite.)
            prop_assert!((0.0..=1.0).contains(&p_lo));
            prop_assert!(tail.surprise_deviation(lo).is_finite());
            prop_assert!(tail.surprise_deviation(hi) >= tail.surprise_deviation(lo) - 1e-9);
        }
    }
}
