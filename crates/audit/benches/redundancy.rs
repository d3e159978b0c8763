//! Redundancy scan at scale (issue "context that flows upward"): 10,000
//! metrics over 90 days of 5-minute data (25,920 points each), 100 planted
//! near-duplicate pairs. Prints the time of the scan, how many planted pairs it
//! found and how many other pairs it reported.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use whyline_audit::redundancy::{near_duplicates, standardised_diffs};

fn main() {
    let metrics: usize = std::env::var("WHYLINE_BENCH_METRICS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let points = 90 * 288;
    let planted = 100;
    let t = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    // Random walks; the last `planted` metrics copy an earlier one, rescaled, with a little noise.
    let mut series: Vec<Option<Vec<f64>>> = Vec::with_capacity(metrics);
    let mut originals: Vec<Vec<f64>> = Vec::new();
    for m in 0..metrics {
        let x: Vec<f64> = if m >= metrics - planted {
            let source = &originals[m - (metrics - planted)];
            source
                .iter()
                .map(|v| 2.5 * v + 100.0 + (rng.random::<f64>() - 0.5) * 0.05)
                .collect()
        } else {
            let mut level = 0.0;
            (0..points)
                .map(|_| {
                    level += rng.random::<f64>() - 0.5;
                    level
                })
                .collect()
        };
        if m < planted {
            originals.push(x.clone());
        }
        series.push(standardised_diffs(&x));
    }
    drop(originals);
    println!(
        "redundancy: {metrics} metrics x {points} points (90 days of 5-minute data), {planted} planted duplicates; generated in {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    let pairs = near_duplicates(&series, 0.98, 17);
    let seconds = t.elapsed().as_secs_f64();
    let found = pairs
        .iter()
        .filter(|(i, j, _)| *j >= metrics - planted && *i == *j - (metrics - planted))
        .count();
    println!(
        "  scan: {seconds:.2} s; planted pairs found {found}/{planted}; other pairs reported {}  [target: < 60 s]",
        pairs.len() - found
    );
}
