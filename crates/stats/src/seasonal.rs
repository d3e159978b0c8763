//! Seasonal profiles: what a metric does at the same time of every day, as
//! the median of each phase's values (the seasonal subseries of STL,
//! Cleveland, Cleveland, McRae & Terpenning, J. Official Statistics 1990,
//! with medians for robustness instead of loess).

use crate::robust::median;

/// Removes a repeating profile of `period` points learnt from `x[..cut]`
/// (the median at each phase, over at least two seasons), keeping the level.
/// Returns the series unchanged, and `false`, when there is too little history
/// or the profile explains under a quarter of the variance: subtracting a
/// noisy profile would only add noise.
pub fn deseasonalize(x: &[f64], period: usize, cut: usize) -> (Vec<f64>, bool) {
    if cut < 2 * period {
        return (x.to_vec(), false);
    }
    let profile: Vec<f64> = (0..period)
        .map(|phase| {
            let same: Vec<f64> = (phase..cut).step_by(period).map(|t| x[t]).collect();
            median(&same).unwrap_or(f64::NAN)
        })
        .collect();
    let level = median(&profile).unwrap_or(0.0);
    let history = &x[..cut];
    let mean = history.iter().filter(|v| !v.is_nan()).sum::<f64>()
        / history.iter().filter(|v| !v.is_nan()).count().max(1) as f64;
    let total: f64 = history
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean).powi(2))
        .sum();
    let explained: f64 = (0..cut)
        .filter(|&t| !x[t].is_nan() && !profile[t % period].is_nan())
        .map(|t| (profile[t % period] - level).powi(2))
        .sum();
    if total <= 0.0 || explained < 0.25 * total {
        return (x.to_vec(), false);
    }
    let values = x
        .iter()
        .enumerate()
        .map(|(t, v)| v - profile[t % period] + level)
        .collect();
    (values, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A period-4 profile (0, 10, 0, -10) on a level of 100 with a little
    /// noise: the profile is the median at each phase (Cleveland et al.'s
    /// seasonal subseries, taken with medians), so removing it leaves the
    /// level plus the noise; the values after `cut` are adjusted by the same
    /// profile.
    #[test]
    fn a_clear_profile_is_removed_and_the_level_kept() {
        let profile = [0.0, 10.0, 0.0, -10.0];
        let noise = [0.1, -0.1, 0.0, 0.05, -0.05, 0.0, 0.1, -0.1];
        let x: Vec<f64> = (0..40)
            .map(|t| 100.0 + profile[t % 4] + noise[t % 8])
            .collect();
        let (values, seasonal) = deseasonalize(&x, 4, 32);
        assert!(seasonal);
        for (t, v) in values.iter().enumerate() {
            assert!((v - 100.0 - noise[t % 8]).abs() < 0.2, "{t}: {v}");
        }
    }

    /// Too little history (under two seasons) or a profile that explains
    /// under a quarter of the variance: the series comes back as it was.
    #[test]
    fn a_weak_or_short_profile_is_left_alone() {
        let x: Vec<f64> = (0..40).map(|t| ((t * 7919) % 13) as f64).collect();
        let (same, seasonal) = deseasonalize(&x, 4, 7);
        assert!(!seasonal);
        assert_eq!(same, x);
        let (same, seasonal) = deseasonalize(&x, 4, 40);
        assert!(!seasonal, "noise is no profile");
        assert_eq!(same, x);
    }
}
