//! Edges that hold up: does the data support each declared driver (sign,
//! strength, lag), and which drivers are probably missing?
//!
//! Method. Series are first-differenced (trends and slow cycles out). An edge
//! `X -> Y` at lag `l` is tested with a partial correlation between `dY(t)`
//! and `dX(t - l)` given `dY(t - 1)`, `dX(t - l - 1)` and the other declared
//! drivers of `Y` at their lags: the momentary conditional independence test
//! of PCMCI (Runge et al., "Detecting and quantifying causal associations in
//! large nonlinear time series datasets", Science Advances 2019), with the
//! linear ParCorr statistic and the Fisher z transform for its p-value
//! (Fisher 1921; the same test as PC's `fisherz`, Spirtes, Glymour & Scheines,
//! *Causation, Prediction, and Search*, 2000). The lags tried for one edge are
//! Bonferroni-corrected; across the whole catalog the false discovery rate is
//! controlled with Benjamini & Hochberg (1995).
//!
//! Discovery is seeded by the declared map and restricted to plausible
//! candidates (a driver sits in the same or a lower layer, in the same service
//! or one the metric already depends on), so it scales with the map, not with
//! the square of the catalog.
//!
//! Architecture invariant: pure; series come in aligned through a closure.

use whyline_catalog::{Catalog, Effect};
use whyline_map::MetricGraph;
pub use whyline_stats::{benjamini_hochberg, fisher_p};
use whyline_stats::{
    delayed, first_differences as diff, lag_steps, pearson, residuals_on as residualize,
};

/// Knobs; the defaults suit minute data.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest lag tried, in points.
    pub max_lag: usize,
    /// False discovery rate.
    pub alpha: f64,
    /// Smallest |partial correlation| worth suggesting (0.2: chosen on simulated
    /// maps, seeds 700-704, as the best precision at unchanged recall).
    pub min_strength: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_lag: 5,
            alpha: 0.05,
            min_strength: 0.2,
        }
    }
}

/// What the data says of a declared edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Significant, with the declared sign.
    Supported,
    /// Significant, with the opposite sign.
    Contradicted,
    /// No significant effect either way.
    Unsupported,
    /// One of the two metrics has no usable data.
    NoData,
}

impl Verdict {
    /// The CLI contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Unsupported => "unsupported",
            Verdict::NoData => "no-data",
        }
    }
}

/// One declared edge, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The driver (catalog position).
    pub from: usize,
    /// The driven metric.
    pub to: usize,
    /// The declared sign.
    pub effect: Effect,
    /// What the data says.
    pub verdict: Verdict,
    /// Partial correlation at the best lag (signed).
    pub estimate: f64,
    /// The best lag, in points.
    pub lag: usize,
    /// Its p-value (lags Bonferroni-corrected).
    pub p_value: f64,
    /// Benjamini-Hochberg adjusted p-value over all declared edges.
    pub q_value: f64,
}

/// One suggested edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The proposed driver.
    pub from: usize,
    /// The metric it drives.
    pub to: usize,
    /// The sign the data shows.
    pub effect: Effect,
    /// The lag, in points.
    pub lag: usize,
    /// |partial correlation|.
    pub strength: f64,
    /// Benjamini-Hochberg adjusted p-value over all candidates.
    pub q_value: f64,
}

/// The whole answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Every declared edge, in catalog order.
    pub declared: Vec<Checked>,
    /// Probable missing edges, strongest first.
    pub suggested: Vec<Suggestion>,
    /// How many candidate edges were tested.
    pub candidates_tested: usize,
}

/// Pearson correlation of the complete pairs and their count; 0 with fewer
/// than 4 pairs or a flat series (no evidence either way).
fn correlation(a: &[f64], b: &[f64]) -> (f64, usize) {
    let (r, n) = pearson(a, b);
    if n < 4 || !r.is_finite() {
        (0.0, n)
    } else {
        (r, n)
    }
}

/// The best lag of `x -> y` among `lags`: (partial correlation, lag, p with
/// the lags Bonferroni-corrected). `others` are conditioning columns already
/// aligned with `y` (its own past and its other drivers).
fn best_lag(
    dy: &[f64],
    dx: &[f64],
    lags: &[usize],
    others: &[Vec<f64>],
) -> Option<(f64, usize, f64)> {
    let mut best: Option<(f64, usize, f64)> = None;
    for &lag in lags {
        let x_lag = delayed(dx, lag);
        let x_past = delayed(dx, lag + 1);
        let mut z: Vec<&[f64]> = others.iter().map(Vec::as_slice).collect();
        z.push(&x_past);
        let ry = residualize(dy, &z)?;
        let rx = residualize(&x_lag, &z)?;
        let (r, n) = correlation(&ry, &rx);
        let p = fisher_p(r, n, z.len());
        if best.is_none_or(|(_, _, bp)| p < bp) {
            best = Some((r, lag, p));
        }
    }
    best.map(|(r, lag, p)| (r, lag, (p * lags.len() as f64).min(1.0)))
}

fn lags_around(center: usize, max_lag: usize) -> Vec<usize> {
    (center.saturating_sub(2)..=(center + 2).min(max_lag.max(center))).collect()
}

/// Checks every declared edge and suggests missing ones.
pub fn analyse<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    step_ms: i64,
    settings: &Settings,
) -> Report {
    let n = catalog.metrics.len();
    let diffs: Vec<Option<Vec<f64>>> = (0..n).map(|m| series(m).map(diff)).collect();
    let lag_points = |ms: u64| lag_steps(ms, step_ms);

    // Conditioning set of a child: its own past and its declared drivers at their lags.
    let context = |child: usize, except: Option<usize>| -> Vec<Vec<f64>> {
        let Some(dy) = &diffs[child] else {
            return Vec::new();
        };
        let mut z = vec![delayed(dy, 1)];
        for (d, edge) in graph.driver_edges(catalog, child) {
            if Some(d) == except {
                continue;
            }
            if let Some(dd) = &diffs[d] {
                z.push(delayed(dd, lag_points(edge.lag.as_millis())));
            }
        }
        z
    };

    let mut declared = Vec::new();
    for child in 0..n {
        for (d, edge) in graph.driver_edges(catalog, child) {
            let tested = match (&diffs[child], &diffs[d]) {
                (Some(dy), Some(dx)) => best_lag(
                    dy,
                    dx,
                    &lags_around(lag_points(edge.lag.as_millis()), settings.max_lag),
                    &context(child, Some(d)),
                ),
                _ => None,
            };
            declared.push(match tested {
                None => Checked {
                    from: d,
                    to: child,
                    effect: edge.effect,
                    verdict: Verdict::NoData,
                    estimate: f64::NAN,
                    lag: 0,
                    p_value: f64::NAN,
                    q_value: f64::NAN,
                },
                Some((r, lag, p)) => Checked {
                    from: d,
                    to: child,
                    effect: edge.effect,
                    verdict: Verdict::Unsupported,
                    estimate: r,
                    lag,
                    p_value: p,
                    q_value: f64::NAN,
                },
            });
        }
    }
    let tested: Vec<usize> = (0..declared.len())
        .filter(|&i| declared[i].verdict != Verdict::NoData)
        .collect();
    let q = benjamini_hochberg(
        &tested
            .iter()
            .map(|&i| declared[i].p_value)
            .collect::<Vec<_>>(),
    );
    for (k, &i) in tested.iter().enumerate() {
        let c = &mut declared[i];
        c.q_value = q[k];
        if q[k] < settings.alpha {
            c.verdict = if c.estimate.signum() == c.effect.sign() {
                Verdict::Supported
            } else {
                Verdict::Contradicted
            };
        }
    }

    // Discovery among plausible candidates.
    let mut candidates: Vec<(usize, usize, f64, usize, f64)> = Vec::new(); // (from, to, r, lag, p)
    let all_lags: Vec<usize> = (0..=settings.max_lag).collect();
    for child in 0..n {
        let Some(dy) = &diffs[child] else { continue };
        let c = &catalog.metrics[child];
        let declared_drivers: Vec<usize> = graph.drivers_of(child).collect();
        let mut services: Vec<&str> = c.service.iter().map(String::as_str).collect();
        services.extend(
            declared_drivers
                .iter()
                .filter_map(|&d| catalog.metrics[d].service.as_deref()),
        );
        let downstream = graph.downstream(child);
        let z = context(child, None);
        #[allow(clippy::needless_range_loop)] // cand is a metric position used in several tables
        for cand in 0..n {
            let m = &catalog.metrics[cand];
            if cand == child
                || declared_drivers.contains(&cand)
                || downstream.contains(&cand)
                || m.layer < c.layer
            {
                continue;
            }
            let same_place = match m.service.as_deref() {
                Some(s) => services.contains(&s),
                None => true,
            };
            if !same_place {
                continue;
            }
            let Some(dx) = &diffs[cand] else { continue };
            // Screen first, as PC's order-0 step does: a candidate with no
            // marginal association at any lag is not tested conditionally.
            let marginal = all_lags
                .iter()
                .map(|&l| correlation(dy, &delayed(dx, l)).0.abs())
                .fold(0.0, f64::max);
            if marginal < settings.min_strength / 2.0 {
                continue;
            }
            if let Some((r, lag, p)) = best_lag(dy, dx, &all_lags, &z) {
                candidates.push((cand, child, r, lag, p));
            }
        }
    }
    let q = benjamini_hochberg(&candidates.iter().map(|c| c.4).collect::<Vec<_>>());
    let first_round: Vec<(usize, usize, f64, usize, f64)> = candidates
        .iter()
        .zip(&q)
        .filter(|((_, _, r, _, _), q)| **q < settings.alpha && r.abs() >= settings.min_strength)
        .map(|(&(from, to, r, lag, _), &q)| (from, to, r, lag, q))
        .collect();
    // Second round, as PC removes edges explained by adjacent nodes: per
    // metric, accept candidates strongest first, each re-tested given the
    // ones already accepted, so a grandparent seen through a missing parent
    // drops out once that parent is in.
    let mut suggested: Vec<Suggestion> = Vec::new();
    let mut children: Vec<usize> = first_round.iter().map(|c| c.1).collect();
    children.sort_unstable();
    children.dedup();
    for child in children {
        let Some(dy) = &diffs[child] else { continue };
        let mut mine: Vec<&(usize, usize, f64, usize, f64)> =
            first_round.iter().filter(|c| c.1 == child).collect();
        mine.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
        let mut z = context(child, None);
        let budget = mine.len();
        for &&(from, to, _, lag, q) in &mine {
            let Some(dx) = &diffs[from] else { continue };
            let Some((r, lag_now, p)) = best_lag(dy, dx, &[lag], &z) else {
                continue;
            };
            // Bonferroni within this metric's candidates, on top of the BH screen.
            if p * budget as f64 >= settings.alpha || r.abs() < settings.min_strength {
                continue;
            }
            z.push(delayed(dx, lag_now));
            suggested.push(Suggestion {
                from,
                to,
                effect: if r >= 0.0 {
                    Effect::Increases
                } else {
                    Effect::Decreases
                },
                lag: lag_now,
                strength: r.abs(),
                q_value: q,
            });
        }
    }
    suggested.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    Report {
        declared,
        suggested,
        candidates_tested: candidates.len(),
    }
}
