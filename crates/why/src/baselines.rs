//! Graph-free reference rankers, run beside the engine in the accuracy
//! benchmark so its numbers are compared in the same run on the same data.

use std::ops::Range;

use whyline_stats::{mean_std, median, quantile};

/// Which deviations a reference ranker scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// As published (RCAEval's `nsigma` and `baro`: `score = max(zscores)`):
    /// only rises count, which suits CPU hogs and memory leaks.
    Up,
    /// `max |z|`: a fall counts as much as a rise, for faults that go either way.
    Both,
}

/// The largest z of the abnormal window, signed or absolute.
fn largest(zs: impl Iterator<Item = f64>, sides: Sides) -> f64 {
    let zs = zs.filter(|z| !z.is_nan());
    match sides {
        Sides::Up => zs.fold(f64::NEG_INFINITY, f64::max),
        Sides::Both => zs.map(f64::abs).fold(0.0, f64::max),
    }
}

/// NSigma: per metric, the largest (x - mean) / std of the abnormal window
/// against the normal window, as RCAEval implements it (Pham et al., ASE
/// 2024: sklearn's `StandardScaler` fitted on the normal window, population
/// std, a zero std replaced by 1). Larger = more likely the root cause.
pub fn nsigma(series: &[f64], normal: Range<usize>, abnormal: Range<usize>, sides: Sides) -> f64 {
    let Some((mean, sample_std)) = mean_std(&series[normal.clone()]) else {
        return 0.0;
    };
    let n = series[normal].iter().filter(|v| !v.is_nan()).count() as f64;
    // StandardScaler divides by n, not n - 1.
    let std = if n > 1.0 {
        sample_std * ((n - 1.0) / n).sqrt()
    } else {
        0.0
    };
    let std = if std > 0.0 { std } else { 1.0 };
    largest(series[abnormal].iter().map(|v| (v - mean) / std), sides)
}

/// BARO's scorer (Pham et al., FSE 2024, as in RCAEval): the largest
/// (x - median) / IQR of the abnormal window against the normal one
/// (sklearn's `RobustScaler`, an IQR of 0 replaced by 1).
pub fn baro(series: &[f64], normal: Range<usize>, abnormal: Range<usize>, sides: Sides) -> f64 {
    let normal_values = &series[normal];
    let Some(center) = median(normal_values) else {
        return 0.0;
    };
    let iqr = match (quantile(normal_values, 0.75), quantile(normal_values, 0.25)) {
        (Some(hi), Some(lo)) if hi - lo > 0.0 => hi - lo,
        _ => 1.0,
    };
    largest(series[abnormal].iter().map(|v| (v - center) / iqr), sides)
}

/// The PetShop dataset's "anomaly traversal" baseline (Hardt et al., CLeaR
/// 2024; `code/baseline_anomaly_traversal.py` of
/// amazon-science/petshop-root-cause-analysis), re-implemented to run in the
/// same benchmark as the engine. Nodes carry one series each (the target's
/// metric and statistic); `parents[i]` are the causes of node `i` (the call
/// graph reversed: a node's callees).
///
/// Per node, a scorer is fitted on `normal` (NaNs dropped): under 10 points,
/// none (never anomalous); a zero standard deviation, `|x - mean|` with
/// threshold 0; else DoWhy's `MedianDeviationScorer`, `|x - median| / MAD`
/// (unscaled MAD; a zero MAD gives `inf`, and `0 / 0` counts as 0) with
/// threshold 5. The row analysed is the third of `abnormal`, or the first
/// later one at which the target is anomalous; when the target is not
/// anomalous there, nothing is returned. Roots are anomalous nodes without an
/// anomalous parent that reach the target through anomalous nodes only,
/// scored by the largest sum of scores along such a path, best first. Ties
/// (the original breaks them by Python's set order) go by node position.
pub fn anomaly_traversal(
    parents: &[Vec<usize>],
    series: &[Option<&[f64]>],
    target: usize,
    normal: Range<usize>,
    abnormal: Range<usize>,
) -> Vec<(usize, f64)> {
    enum Scorer {
        Mean(f64),
        Median(f64, f64),
    }
    let scorers: Vec<Option<Scorer>> = series
        .iter()
        .map(|x| {
            let x = (*x)?;
            let values: Vec<f64> = x[normal.clone()]
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if values.len() < 10 {
                return None;
            }
            let (mean, std) = mean_std(&values)?;
            if std == 0.0 {
                return Some(Scorer::Mean(mean));
            }
            let center = median(&values)?;
            let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
            Some(Scorer::Median(center, median(&deviations)?))
        })
        .collect();
    // (anomalous, score) of node `i` at abnormal row `row`.
    let judge = |i: usize, row: usize| -> (bool, f64) {
        let (Some(x), Some(scorer)) = (series[i], &scorers[i]) else {
            return (false, 0.0);
        };
        let v = x.get(abnormal.start + row).copied().unwrap_or(f64::NAN);
        if v.is_nan() {
            return (false, 0.0);
        }
        match scorer {
            Scorer::Mean(mean) => {
                let score = (v - mean).abs();
                (score > 0.0, score)
            }
            Scorer::Median(center, mad) => {
                let score = (v - center).abs() / mad;
                let score = if score.is_nan() { 0.0 } else { score };
                (score > 5.0, score)
            }
        }
    };
    let rows = abnormal.len();
    let Some(row) = (2..rows).find(|&r| judge(target, r).0) else {
        return Vec::new();
    };
    let anomalous: Vec<Option<f64>> = (0..series.len())
        .map(|i| {
            let (hit, score) = judge(i, row);
            hit.then_some(score)
        })
        .collect();
    let mut children = vec![Vec::new(); parents.len()];
    for (child, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p].push(child);
        }
    }
    let mut found: Vec<(usize, f64)> = Vec::new();
    for root in 0..series.len() {
        if root == target || anomalous[root].is_none() {
            continue;
        }
        if parents[root].iter().any(|&p| anomalous[p].is_some()) {
            continue;
        }
        // Best sum over simple paths root -> target through anomalous nodes.
        let mut best = f64::NEG_INFINITY;
        let mut stack = vec![(root, vec![root])];
        while let Some((node, path)) = stack.pop() {
            if node == target {
                let sum: f64 = path.iter().filter_map(|&n| anomalous[n]).sum();
                best = best.max(sum);
                continue;
            }
            for &next in &children[node] {
                if anomalous[next].is_some() && !path.contains(&next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
        if best > f64::NEG_INFINITY {
            found.push((root, best));
        }
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_shift() {
        let mut x: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        x.extend([20.0; 10]);
        // mean 2, population std sqrt(2) -> (20 - 2) / 1.41421 = 12.7279
        // (sklearn: StandardScaler().fit(x[:40]).transform([[20]]) = 12.7279).
        assert!((nsigma(&x, 0..40, 40..50, Sides::Up) - 18.0 / 2f64.sqrt()).abs() < 1e-9);
        // median 2, q25 1, q75 3 (numpy's linear rule) -> (20 - 2) / 2 = 9
        assert!((baro(&x, 0..40, 40..50, Sides::Up) - 9.0).abs() < 1e-9);
        assert_eq!(baro(&[1.0; 10], 0..5, 5..10, Sides::Both), 0.0);
    }

    #[test]
    fn the_published_form_scores_only_rises() {
        let mut x: Vec<f64> = (0..40).map(|i| (i % 5) as f64).collect();
        x.extend([-16.0; 10]);
        // A fall: (-16 - 2) / 2 = -9 signed, 9 absolute.
        assert!((baro(&x, 0..40, 40..50, Sides::Up) + 9.0).abs() < 1e-9);
        assert!((baro(&x, 0..40, 40..50, Sides::Both) - 9.0).abs() < 1e-9);
        assert!(nsigma(&x, 0..40, 40..50, Sides::Up) < 0.0);
        assert!(nsigma(&x, 0..40, 40..50, Sides::Both) > 12.0);
    }
    #[test]
    fn traversal_names_the_most_upstream_anomaly_on_an_anomalous_path() {
        // 0 <- 1 <- 2 (2 causes 1 causes 0) and 0 <- 3; 4 is anomalous but
        // reaches 0 only through the calm 3.
        let parents = vec![vec![1, 3], vec![2], vec![], vec![4], vec![]];
        let calm: Vec<f64> = (0..20).map(|i| 10.0 + (i % 4) as f64).collect();
        let with = |tail: [f64; 3]| {
            let mut x = calm.clone();
            x.extend(tail);
            x
        };
        // median 11.5, MAD 1: scores are |x - 11.5|.
        let target = with([11.0, 11.0, 31.5]);
        let middle = with([11.0, 11.0, 21.5]);
        let root = with([11.0, 11.0, 61.5]);
        let side = with([11.0, 11.0, 11.5]);
        let loose = with([11.0, 11.0, 91.5]);
        let series: Vec<Option<&[f64]>> = vec![
            Some(&target),
            Some(&middle),
            Some(&root),
            Some(&side),
            Some(&loose),
        ];
        let ranked = anomaly_traversal(&parents, &series, 0, 0..20, 20..23);
        // 20 + 10 + 50 along 2 -> 1 -> 0.
        assert_eq!(ranked, vec![(2, 80.0)]);
        // The target calm at the third row: nothing.
        let calm_target = with([11.0, 11.0, 11.0]);
        let series = vec![
            Some(calm_target.as_slice()),
            Some(&middle),
            Some(&root),
            None,
            None,
        ];
        assert!(anomaly_traversal(&parents, &series, 0, 0..20, 20..23).is_empty());
    }
}
