//! The audit: the two tests with evidence from the data. For every metric:
//! its verdict and reasons, how often it went red in the period and how many
//! of those episodes the map explained (by asking the why engine at each one:
//! no second RCA implementation), whether it is a near-duplicate of another
//! metric, flat or dead; and for the organisation, the share of business
//! metrics' red episodes the map explains ("explainability coverage").
//!
//! Architecture invariant: pure; series come in aligned through a closure.

pub mod focus;
pub mod redundancy;

use whyline_catalog::Catalog;
use whyline_map::{Assessment, MetricGraph, Verdict};
use whyline_why::{Settings as WhySettings, Status, Windows, explain, statuses};

/// Knobs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The engine's settings (step, thresholds of "moved").
    pub why: WhySettings,
    /// Red runs shorter than this are noise, not episodes.
    pub min_episode_points: usize,
    /// Red runs separated by at most this many points are one episode (a
    /// metric flapping around its threshold is one incident, not several).
    pub merge_gap: usize,
    /// Points of baseline before an episode when asking why.
    pub baseline_points: usize,
    /// |correlation of first differences| from which two metrics are duplicates.
    pub duplicate_correlation: f64,
    /// Metrics whose source failed (unreachable, timed out, damaged): their
    /// missing data says nothing about them, so they are never called dead.
    pub unread: Vec<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            why: WhySettings::default(),
            min_episode_points: 3,
            merge_gap: 15,
            baseline_points: 240,
            duplicate_correlation: 0.98,
            unread: Vec::new(),
        }
    }
}

/// One red episode and what the map made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// First red point (grid index).
    pub start: usize,
    /// One past the last red point.
    pub end: usize,
    /// Whether the map explained it (the top cause is not the metric itself).
    pub explained: bool,
    /// The top cause, when there is one.
    pub cause: Option<usize>,
    /// The breadcrumb from the metric down to that cause.
    pub path: Vec<usize>,
}

/// The audit of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricAudit {
    /// Catalog position.
    pub metric: usize,
    /// The verdict, after the evidence.
    pub verdict: Verdict,
    /// Why, in sentences.
    pub reasons: Vec<String>,
    /// Red episodes in the period.
    pub episodes: Vec<Episode>,
    /// Amber episodes: runs past amber (merged and long enough as red ones
    /// are) that never became a red episode.
    pub amber_episodes: Vec<std::ops::Range<usize>>,
    /// The status at every point, as `why` would give it there (empty without data).
    pub statuses: Vec<Status>,
    /// The metric to keep when this one is a near-duplicate of it.
    pub duplicate_of: Option<usize>,
    /// Data, but it never moves.
    pub flat: bool,
    /// No data in the period.
    pub dead: bool,
}

impl MetricAudit {
    /// Number of red episodes.
    pub fn red_episodes(&self) -> usize {
        self.episodes.len()
    }
    /// Number the map explained.
    pub fn explained_episodes(&self) -> usize {
        self.episodes.iter().filter(|e| e.explained).count()
    }
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// Explained share of business metrics' red episodes; `None` without any.
    pub coverage: Option<f64>,
    /// One entry per catalog metric, in catalog order.
    pub metrics: Vec<MetricAudit>,
}

/// Runs of flagged points, merged over short gaps, long enough to count.
fn episodes_of(red: &[bool], settings: &Settings) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut t = 0;
    while t < red.len() {
        if !red[t] {
            t += 1;
            continue;
        }
        let start = t;
        while t < red.len() && red[t] {
            t += 1;
        }
        match runs.last_mut() {
            Some(last) if start - last.1 <= settings.merge_gap => last.1 = t,
            _ => runs.push((start, t)),
        }
    }
    runs.retain(|(a, b)| b - a >= settings.min_episode_points);
    runs
}

/// Audits every metric of the catalog over the series given (all on one grid).
pub fn audit<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    assessments: &[Assessment],
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    settings: &Settings,
) -> Audit {
    let n = catalog.metrics.len();
    let standardised: Vec<Option<Vec<f64>>> = (0..n)
        .map(|m| series(m).and_then(redundancy::standardised_diffs))
        .collect();
    let pairs = redundancy::near_duplicates(&standardised, settings.duplicate_correlation, 17);
    // Keep the better of each pair: a decision of its own, then more dependants, then catalog order.
    let keeps = |a: usize, b: usize| -> usize {
        let rank = |m: usize| {
            (
                catalog.metrics[m].has_decision(),
                graph.dependants_of(m).len(),
                std::cmp::Reverse(m),
            )
        };
        if rank(a) >= rank(b) { a } else { b }
    };
    let mut duplicate_of: Vec<Option<usize>> = vec![None; n];
    for &(i, j, _) in &pairs {
        let keep = keeps(i, j);
        let drop = if keep == i { j } else { i };
        if duplicate_of[keep].is_none() && duplicate_of[drop].is_none() {
            duplicate_of[drop] = Some(keep);
        }
    }
    let mut out = Vec::with_capacity(n);
    for m in 0..n {
        let metric = &catalog.metrics[m];
        let assessment = &assessments[m];
        let mut reasons: Vec<String> = assessment
            .problems
            .iter()
            .map(|p| p.message.clone())
            .collect();
        let data = series(m);
        let unread = settings.unread.contains(&m);
        let dead = !unread && data.is_none_or(|x| x.iter().all(|v| v.is_nan()));
        let flat = !dead && standardised[m].is_none();
        let mut episodes = Vec::new();
        let mut amber_episodes = Vec::new();
        let mut status = Vec::new();
        if let Some(x) = data.filter(|_| !dead) {
            // The one judge `why` uses, at every point.
            status = statuses(metric, x, &settings.why);
            let red: Vec<bool> = status.iter().map(|s| *s == Status::Red).collect();
            let red_runs = episodes_of(&red, settings);
            let amber_or_red: Vec<bool> = status
                .iter()
                .map(|s| matches!(s, Status::Red | Status::Amber))
                .collect();
            amber_episodes = episodes_of(&amber_or_red, settings)
                .into_iter()
                .filter(|(a, b)| !red_runs.iter().any(|(c, d)| c < b && a < d))
                .map(|(a, b)| a..b)
                .collect();
            for (start, end) in red_runs {
                let windows = Windows {
                    baseline: start.saturating_sub(settings.baseline_points)..start,
                    incident: start..end,
                    periods: false,
                };
                let answer = explain(
                    catalog,
                    graph,
                    series,
                    m,
                    Some(end - 1),
                    Some(windows),
                    &settings.why,
                );
                let cause = answer.causes.first().map(|c| c.metric);
                episodes.push(Episode {
                    start,
                    end,
                    explained: cause.is_some_and(|c| c != m),
                    cause,
                    path: answer
                        .causes
                        .first()
                        .map(|c| c.path.clone())
                        .unwrap_or_default(),
                });
            }
        }
        let mut verdict = assessment.verdict;
        if dead {
            reasons.push("dead: no data in the period".to_string());
        }
        if unread && data.is_none() {
            reasons.push(
                "could not be read: nothing is concluded from its data (see what could not be read)"
                    .to_string(),
            );
        }
        if flat {
            reasons.push("flat: it never moved in the period".to_string());
        }
        if let Some(keep) = duplicate_of[m] {
            reasons.push(format!(
                "a near-duplicate of `{}`: keep that one",
                catalog.metrics[keep].id
            ));
            verdict = Verdict::Discard;
        }
        let red = episodes.len();
        let explained = episodes.iter().filter(|e| e.explained).count();
        let system = metric.layer == whyline_catalog::Layer::System;
        if red > 0 && system {
            // A system signal is a root by design: its episodes are not
            // "unexplained" (the review and the audit say the same).
            reasons.push(format!(
                "red {red} time{} (a system signal: explanations end here)",
                if red == 1 { "" } else { "s" }
            ));
        } else if red > 0 {
            reasons.push(format!(
                "red {red} time{}, explained {explained}",
                if red == 1 { "" } else { "s" }
            ));
            // A system signal is where explanations end by design: its own
            // red episodes do not make it unexplained.
            if explained == 0 && verdict.is_keep() && metric.layer != whyline_catalog::Layer::System
            {
                verdict = Verdict::Unexplained;
            }
        }
        if (dead || flat) && !metric.has_decision() && verdict.is_keep() {
            verdict = Verdict::Discard;
        }
        out.push(MetricAudit {
            metric: m,
            verdict,
            reasons,
            episodes,
            amber_episodes,
            statuses: status,
            duplicate_of: duplicate_of[m],
            flat,
            dead,
        });
    }
    let business: Vec<&MetricAudit> = out
        .iter()
        .filter(|a| catalog.metrics[a.metric].layer == whyline_catalog::Layer::Business)
        .collect();
    let red: usize = business.iter().map(|a| a.red_episodes()).sum();
    let explained: usize = business.iter().map(|a| a.explained_episodes()).sum();
    Audit {
        coverage: (red > 0).then(|| explained as f64 / red as f64),
        metrics: out,
    }
}
