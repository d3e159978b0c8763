//! Surprise of an event count (failures among requests) against a metric's
//! own normal rate.
//!
//! Method: per bucket, the bad events `k` among `n` are taken as
//! Binomial(n, p0), `p0` the pooled rate of the normal period with half an
//! event added (so a service that never failed still has a rate; the
//! "add one half" continuity estimate, Agresti & Coull 1998); the surprise of
//! a bucket is `-ln P(X >= k)`. The same share of failures is thus stronger
//! evidence over 1,000 requests than over 50. Real failures come in bursts
//! (overdispersion), so callers calibrate these surprises against the normal
//! buckets' own (the engine runs them through [`crate::Tail`]).

/// `ln P(X >= k)` for `X ~ Binomial(n, p)`; 0 (`P = 1`) for `k <= 0`, and
/// 0 for any `k` at or below the mean: only surprising excesses matter here.
pub fn binomial_log_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 || !(0.0..1.0).contains(&p) {
        return if k == 0 || p >= 1.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let (nf, kf) = (n as f64, k as f64);
    if kf <= nf * p {
        return 0.0;
    }
    let ln_choose =
        |j: f64| libm::lgamma(nf + 1.0) - libm::lgamma(j + 1.0) - libm::lgamma(nf - j + 1.0);
    let first = ln_choose(kf) + kf * p.ln() + (nf - kf) * (-p).ln_1p();
    // Terms fall from the first on (k is above the mean): sum their ratios.
    let odds = p / (1.0 - p);
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    let mut j = kf;
    while j < nf {
        term *= (nf - j) / (j + 1.0) * odds;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
        j += 1.0;
    }
    first + sum.ln()
}

/// The normal rate of bad events per event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRate {
    /// Pooled rate of bad events in the normal period.
    pub rate: f64,
}

impl EventRate {
    /// Fits `(bad events, events)` per normal bucket; buckets without events
    /// are skipped. `None` when no bucket had events.
    pub fn fit(buckets: &[(f64, f64)]) -> Option<Self> {
        let usable = buckets
            .iter()
            .filter(|(k, n)| k.is_finite() && n.is_finite() && *n > 0.0 && *k >= 0.0);
        let (bad, all) = usable.fold((0.0, 0.0), |(b, a), (k, n)| (b + k.min(*n), a + n));
        (all > 0.0).then(|| EventRate {
            rate: ((bad + 0.5) / (all + 1.0)).min(0.5),
        })
    }

    /// Surprise (nats) of `bad` events among `events` in one bucket.
    pub fn surprise(&self, bad: f64, events: f64) -> f64 {
        if !(bad.is_finite() && events.is_finite()) || events < 1.0 {
            return 0.0;
        }
        let n = events.round() as u64;
        let k = (bad.round().max(0.0) as u64).min(n);
        (-binomial_log_sf(k, n, self.rate)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed once with scipy 1.17.1:
    /// `scipy.stats.binom.logsf(k - 1, n, p)`.
    #[test]
    fn binomial_tail_matches_scipy() {
        for (k, n, p, want) in [
            (7, 60, 1.7e-5, -57.10498502740463),
            (3, 10, 0.1, -2.6565376545521717),
            (22, 787, 7.7e-7, -211.75821008767753),
        ] {
            let got = binomial_log_sf(k, n, p);
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "{k} {n} {p}: {got} vs {want}"
            );
        }
        assert_eq!(binomial_log_sf(0, 10, 0.1), 0.0);
        // At or below the mean: no surprise.
        assert_eq!(binomial_log_sf(40, 1000, 0.04), 0.0);
    }

    #[test]
    fn more_events_are_stronger_evidence() {
        // Never failed: 500 buckets of 50 requests and of 1,000 requests.
        let few = EventRate::fit(&vec![(0.0, 50.0); 500]).expect("data");
        let many = EventRate::fit(&vec![(0.0, 1000.0); 500]).expect("data");
        // (0 + 0.5) / (25,000 + 1).
        assert!((few.rate - 0.5 / 25_001.0).abs() < 1e-15);
        // 8% of 50 fail vs 3% of 1,000.
        assert!(many.surprise(30.0, 1000.0) > 3.0 * few.surprise(4.0, 50.0));
        assert_eq!(many.surprise(0.0, 1000.0), 0.0);
        assert!(EventRate::fit(&[(0.0, 0.0)]).is_none());
    }
}
