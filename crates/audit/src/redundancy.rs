//! Near-duplicate metrics, at scale.
//!
//! Two metrics are near-duplicates when their first differences are almost
//! perfectly correlated (|r| >= 0.98 by default): one says nothing the other
//! does not. Comparing all pairs is quadratic, so candidates come from
//! locality-sensitive hashing first: each standardised series is projected on
//! a few random hyperplanes and the signs form a signature (SimHash, Charikar,
//! "Similarity estimation techniques from rounding algorithms", STOC 2002);
//! signatures are cut into bands, and series sharing a band are candidates
//! (the banding of Indyk & Motwani 1998, as in *Mining of Massive Datasets*,
//! Leskovec, Rajaraman & Ullman, ch. 3). Only candidates get an exact Pearson
//! correlation. Projections are very sparse +/-1 vectors with about sqrt(n)
//! non-zero entries (Li, Hastie & Church, "Very sparse random projections",
//! KDD 2006), so hashing 10,000 long series takes seconds.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Signature bits per series.
const BITS: usize = 120;
/// Bits per band: two series are candidates if any band matches exactly. With
/// 10 bands of 12 bits, a pair at r = 0.98 (11.5 degrees) shares some band with
/// probability 0.997, an unrelated pair with probability 0.005.
const BAND: usize = 12;

/// Standardised first differences (mean 0, unit variance; `NaN` -> 0), or
/// `None` for a series that never moves.
pub fn standardised_diffs(x: &[f64]) -> Option<Vec<f64>> {
    let mut d: Vec<f64> = (1..x.len()).map(|t| x[t] - x[t - 1]).collect();
    let present: Vec<f64> = d.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len();
    if n < 3 {
        return None;
    }
    let mean = present.iter().sum::<f64>() / n as f64;
    let var = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    if var.is_nan() || var <= 1e-300 {
        return None;
    }
    let sd = var.sqrt();
    for v in &mut d {
        *v = if v.is_nan() { 0.0 } else { (*v - mean) / sd };
    }
    Some(d)
}

fn signature(z: &[f64], planes: &[Vec<(usize, f64)>]) -> u128 {
    let mut bits = 0u128;
    for (b, plane) in planes.iter().enumerate() {
        let dot: f64 = plane
            .iter()
            .map(|&(i, s)| z.get(i).copied().unwrap_or(0.0) * s)
            .sum();
        if dot >= 0.0 {
            bits |= 1u128 << b;
        }
    }
    bits
}

/// Pearson correlation of two standardised series of equal length.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()).max(1) as f64;
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / n
}

/// Pairs `(i, j, r)` of near-duplicates among `series` (`None` = no data or flat).
pub fn near_duplicates(
    series: &[Option<Vec<f64>>],
    threshold: f64,
    seed: u64,
) -> Vec<(usize, usize, f64)> {
    let len = series.iter().flatten().map(Vec::len).max().unwrap_or(0);
    if len == 0 {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // Very sparse random hyperplanes: each coordinate is +1 or -1 with
    // probability 1/(2 sqrt n) each, 0 otherwise (at least 64 non-zeros).
    let density = (1.0 / (len as f64).sqrt()).max(64.0 / len as f64).min(1.0);
    let planes: Vec<Vec<(usize, f64)>> = (0..BITS)
        .map(|_| {
            (0..len)
                .filter_map(|i| {
                    let u: f64 = rng.random();
                    if u < density / 2.0 {
                        Some((i, 1.0))
                    } else if u < density {
                        Some((i, -1.0))
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect();
    let signatures: Vec<Option<u128>> = series
        .iter()
        .map(|s| s.as_ref().map(|z| signature(z, &planes)))
        .collect();
    let mut buckets: HashMap<(usize, u128), Vec<usize>> = HashMap::new();
    for (i, sig) in signatures.iter().enumerate() {
        let Some(sig) = sig else { continue };
        for band in 0..BITS / BAND {
            // A perfectly anti-correlated twin has the complement signature.
            let key = (sig >> (band * BAND)) & ((1u128 << BAND) - 1);
            let canonical = key.min(!key & ((1u128 << BAND) - 1));
            buckets.entry((band, canonical)).or_default().push(i);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for members in buckets.values() {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                let pair = (i.min(j), i.max(j));
                if !seen.insert(pair) {
                    continue;
                }
                if let (Some(a), Some(b)) = (&series[pair.0], &series[pair.1]) {
                    let r = correlation(a, b);
                    if r.abs() >= threshold {
                        out.push((pair.0, pair.1, r));
                    }
                }
            }
        }
    }
    out.sort_by_key(|a| (a.0, a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_twins_and_ignores_strangers() {
        let mut rng = StdRng::seed_from_u64(1);
        let base: Vec<f64> = (0..500)
            .map(|_| rng.random::<f64>())
            .scan(0.0, |s, v| {
                *s += v - 0.5;
                Some(*s)
            })
            .collect();
        let twin: Vec<f64> = base
            .iter()
            .map(|v| 3.0 * v + 10.0 + rng.random::<f64>() * 0.01)
            .collect();
        let mirror: Vec<f64> = base.iter().map(|v| 100.0 - v).collect();
        let stranger: Vec<f64> = (0..500).map(|_| rng.random::<f64>()).collect();
        let series: Vec<Option<Vec<f64>>> = [&base, &twin, &mirror, &stranger]
            .iter()
            .map(|x| standardised_diffs(x))
            .collect();
        let pairs: Vec<(usize, usize)> = near_duplicates(&series, 0.98, 7)
            .into_iter()
            .map(|(i, j, _)| (i, j))
            .collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 2)]);
        assert!(
            standardised_diffs(&[5.0; 10]).is_none(),
            "a flat series has no direction"
        );
    }
}
