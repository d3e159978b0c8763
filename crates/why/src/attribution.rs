//! How the asked metric's move divides among the metrics of its map, in parts
//! that add up to the whole for a reader.
//!
//! Each metric's move is split by the fitted responses of its drivers (the
//! `shares` of the explanation: the part of its move each driver's response
//! predicts); what its drivers leave is its *own* part. Starting from the
//! asked metric with the whole move (1), every metric passes each driver its
//! share of what reached it and keeps its own part. Over a map without
//! feedback the own parts of all metrics sum to 1: the asked metric's own
//! part is what the map leaves unexplained, a root's own part is how much of
//! the asked move its own change accounts for (path analysis of a linear
//! structural model, Wright 1921: the effect along a path is the product of
//! its coefficients, here of its fitted shares).

use std::collections::HashMap;

use crate::engine::Explanation;

/// Each explored metric's own part of the asked metric's move (0..=1).
/// Where a metric's drivers' shares add to more than 1, they are scaled to 1.
pub fn own_parts(explanation: &Explanation) -> HashMap<usize, f64> {
    let mut drivers: HashMap<usize, Vec<(usize, f64)>> = HashMap::new();
    for (&(m, d), &share) in &explanation.shares {
        if m != d && share.is_finite() && share > 0.0 {
            drivers.entry(m).or_default().push((d, share));
        }
    }
    for list in drivers.values_mut() {
        list.sort_by_key(|(d, _)| *d);
    }
    // Kahn's order from the asked metric down: a metric passes its part on
    // once everything above it has passed theirs.
    let mut reachable = vec![explanation.target];
    let mut seen: std::collections::HashSet<usize> = reachable.iter().copied().collect();
    let mut i = 0;
    while i < reachable.len() {
        for (d, _) in drivers.get(&reachable[i]).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(*d) {
                reachable.push(*d);
            }
        }
        i += 1;
    }
    let mut above: HashMap<usize, usize> = reachable.iter().map(|&m| (m, 0)).collect();
    for m in &reachable {
        for (d, _) in drivers.get(m).map(Vec::as_slice).unwrap_or(&[]) {
            *above.entry(*d).or_default() += 1;
        }
    }
    let mut weight: HashMap<usize, f64> = HashMap::from([(explanation.target, 1.0)]);
    let mut own: HashMap<usize, f64> = HashMap::new();
    let mut ready: Vec<usize> = vec![explanation.target];
    let mut done: std::collections::HashSet<usize> = std::collections::HashSet::new();
    loop {
        let m = match ready.pop() {
            Some(m) => m,
            // A feedback loop: take the rest in order; each passes once.
            None => match reachable.iter().find(|m| !done.contains(*m)) {
                Some(&m) => m,
                None => break,
            },
        };
        if !done.insert(m) {
            continue;
        }
        let w = weight.get(&m).copied().unwrap_or(0.0);
        let list = drivers.get(&m).map(Vec::as_slice).unwrap_or(&[]);
        let total: f64 = list.iter().map(|(_, s)| s).sum();
        let scale = if total > 1.0 { 1.0 / total } else { 1.0 };
        own.insert(m, w * (1.0 - total * scale));
        for &(d, s) in list {
            if done.contains(&d) {
                // Back into a loop already passed: kept as the metric's own.
                *own.entry(m).or_default() += w * s * scale;
                continue;
            }
            *weight.entry(d).or_default() += w * s * scale;
            if let Some(n) = above.get_mut(&d) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    ready.push(d);
                }
            }
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    fn explanation(shares: &[((usize, usize), f64)]) -> Explanation {
        Explanation {
            target: 0,
            at: 0,
            status: Status::Red,
            reason: String::new(),
            windows: None,
            change: None,
            causes: Vec::new(),
            unexplained: 0.0,
            blind: Vec::new(),
            moves: HashMap::new(),
            shares: shares.iter().copied().collect(),
        }
    }

    #[test]
    fn the_parts_add_up_to_the_whole_move() {
        // revenue(0) <- conversion(1) 0.95 <- latency(2) 0.98 <- cpu(3) 0.5,
        // revenue <- sessions(4) 0.03: latency moved half on its own.
        let e = explanation(&[
            ((0, 1), 0.95),
            ((1, 2), 0.98),
            ((2, 3), 0.5),
            ((0, 4), 0.03),
        ]);
        let own = own_parts(&e);
        let sum: f64 = own.values().sum();
        assert!((sum - 1.0).abs() < 1e-12, "{own:?}");
        assert!((own[&0] - 0.02).abs() < 1e-12);
        assert!((own[&3] - 0.95 * 0.98 * 0.5).abs() < 1e-12);
        assert!((own[&2] - 0.95 * 0.98 * 0.5).abs() < 1e-12);
        assert!((own[&1] - 0.95 * 0.02).abs() < 1e-12);
        assert!((own[&4] - 0.03).abs() < 1e-12);
    }

    #[test]
    fn shares_over_one_are_scaled_and_a_shared_driver_collects_both_paths() {
        // 0 <- 1 (0.8), 0 <- 2 (0.6): scaled to 4/7 and 3/7; both <- 3 fully.
        let e = explanation(&[((0, 1), 0.8), ((0, 2), 0.6), ((1, 3), 1.0), ((2, 3), 1.0)]);
        let own = own_parts(&e);
        assert!((own.values().sum::<f64>() - 1.0).abs() < 1e-12, "{own:?}");
        assert!((own[&3] - 1.0).abs() < 1e-12, "{own:?}");
        assert!(own[&0].abs() < 1e-12);
    }

    #[test]
    fn a_feedback_loop_passes_once_and_still_adds_up() {
        let e = explanation(&[((0, 1), 0.9), ((1, 2), 0.5), ((2, 1), 0.5)]);
        let own = own_parts(&e);
        assert!((own.values().sum::<f64>() - 1.0).abs() < 1e-12, "{own:?}");
    }
}
