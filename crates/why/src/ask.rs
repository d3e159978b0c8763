//! The question-answering layer every front end calls (`why`, the `serve`
//! API, the benchmarks): explain on the written map; where the walk stops
//! short of a root, name the metrics that may be unmapped drivers, let the
//! front end read them, and follow an edge the data suggests; then the lead
//! the CLI contract carries. The front ends only read data and draw answers.

use std::collections::HashMap;

use whyline_catalog::Catalog;
use whyline_map::MetricGraph;

use crate::beyond::{SuspectedEdge, explain_beyond};
use crate::engine::{Explanation, Settings, Status, Windows, explain};
use crate::tuning::{EXPLAINED_ENOUGH, MAX_SUGGESTED_HOPS, WIDE_SEARCH_METRICS};

/// Series read on request, by catalog position (see [`answer`]).
pub type Read = HashMap<usize, Vec<f64>>;

/// What `why` answers.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The engine's explanation (over the map plus any edge it followed).
    pub explanation: Explanation,
    /// Edges not in the catalog that the answer followed.
    pub suspected: Vec<SuspectedEdge>,
    /// When the map ends at the asked metric: the path from it through the
    /// data-suggested edge(s) and on down the written map (`lead` in
    /// `../shared/spec/cli.md`). Never the answer itself.
    pub lead: Option<Vec<usize>>,
}

impl Answer {
    /// The answer's root, as accuracy is scored: the lead's end when there
    /// is one, else the first cause.
    pub fn root(&self) -> Option<usize> {
        self.lead
            .as_ref()
            .and_then(|p| p.last().copied())
            .or_else(|| self.explanation.causes.first().map(|c| c.metric))
    }

    /// The answer's metrics in the order a reader meets them: the lead's end
    /// first when there is one, then the causes.
    pub fn order(&self) -> Vec<usize> {
        let lead = self.lead.as_ref().and_then(|p| p.last().copied());
        lead.into_iter()
            .chain(
                self.explanation
                    .causes
                    .iter()
                    .map(|c| c.metric)
                    .filter(|m| Some(*m) != lead),
            )
            .collect()
    }
}

/// Where the walk stopped short of a root: the first cause, when the asked
/// metric is red or amber and that cause is the asked metric itself or a
/// metric its mapped drivers do not explain.
pub fn stops_short(graph: &MetricGraph, explanation: &Explanation) -> Option<usize> {
    if !matches!(explanation.status, Status::Red | Status::Amber) {
        return None;
    }
    let stop = explanation.causes.first()?.metric;
    let explained: f64 = graph
        .drivers_of(stop)
        .map(|d| explanation.shares.get(&(stop, d)).copied().unwrap_or(0.0))
        .sum();
    (stop == explanation.target || explained < EXPLAINED_ENOUGH).then_some(stop)
}

/// The metrics that may be unmapped drivers of `stop`: in a lower layer than
/// it (drivers point upward), neither explored already nor downstream of the
/// asked metric; on a catalog over [`WIDE_SEARCH_METRICS`] metrics, only those
/// of the services the explored map touches.
pub fn suspects(catalog: &Catalog, graph: &MetricGraph, target: usize, stop: usize) -> Vec<usize> {
    let explored = graph.upstream(target);
    // A mask: one scan of the catalog per question.
    let mut taken = vec![false; catalog.metrics.len()];
    for m in explored.iter().chain(&graph.downstream(target)) {
        taken[*m] = true;
    }
    let services: std::collections::HashSet<&str> = explored
        .iter()
        .filter_map(|&m| catalog.metrics[m].service.as_deref())
        .collect();
    let large = catalog.metrics.len() > WIDE_SEARCH_METRICS;
    (0..catalog.metrics.len())
        .filter(|&m| !taken[m] && catalog.metrics[m].layer > catalog.metrics[stop].layer)
        .filter(|&m| {
            !large
                || catalog.metrics[m]
                    .service
                    .as_deref()
                    .is_some_and(|s| services.contains(&s))
        })
        .collect()
}

/// The lead (see [`Answer::lead`]) of an explanation that followed `suspected`.
pub fn lead(explanation: &Explanation, suspected: &[SuspectedEdge]) -> Option<Vec<usize>> {
    let target = explanation.target;
    let map_ends = explanation
        .causes
        .first()
        .is_some_and(|c| c.metric == target);
    if !map_ends || suspected.is_empty() {
        return None;
    }
    // The deepest ranked cause reached through a suggested edge into the asked metric.
    let through = explanation.causes.iter().skip(1).find(|c| {
        c.path.len() >= 2
            && suspected
                .iter()
                .any(|x| x.to == target && c.path.get(1) == Some(&x.from))
    });
    match through {
        Some(c) => Some(c.path.clone()),
        None => suspected
            .iter()
            .find(|x| x.to == target)
            .map(|x| vec![target, x.from]),
    }
}

/// Answers why `target` is (or is not) red at `at` (or between `windows`).
///
/// `read(suspects)` is asked for the series of metrics `series` may not hold,
/// only when the walk stops short: it returns them on the same grid (an empty
/// map when they could not be read so), or `None` when `series` holds every
/// metric already.
#[allow(clippy::too_many_arguments)]
pub fn answer<'a>(
    catalog: &Catalog,
    graph: &MetricGraph,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    target: usize,
    at: Option<usize>,
    windows: Option<Windows>,
    settings: &Settings,
    read: &dyn Fn(&[usize]) -> Option<Read>,
) -> Answer {
    let explanation = explain(
        catalog,
        graph,
        series,
        target,
        at,
        windows.clone(),
        settings,
    );
    let plain = |explanation: Explanation| Answer {
        explanation,
        suspected: Vec::new(),
        lead: None,
    };
    let Some(stop) = stops_short(graph, &explanation) else {
        return plain(explanation);
    };
    let candidates = suspects(catalog, graph, target, stop);
    if candidates.is_empty() {
        return plain(explanation);
    }
    let extra = read(&candidates).unwrap_or_default();
    let series_all = |m: usize| series(m).or_else(|| extra.get(&m).map(Vec::as_slice));
    let (beyond, suspected) = explain_beyond(
        catalog,
        &series_all,
        target,
        at,
        windows,
        settings,
        &candidates,
        MAX_SUGGESTED_HOPS,
    );
    if suspected.is_empty() {
        return plain(explanation);
    }
    let lead = lead(&beyond, &suspected);
    Answer {
        explanation: beyond,
        suspected,
        lead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Cause, Change};
    use whyline_catalog::{Effect, SourceFile};

    const MAP: &str = "version: 1
metrics:
  - id: revenue
    layer: business
    decision: Whether to keep the release
    audience: [leadership]
    drivers: [{ metric: sessions, effect: increases }]
  - id: sessions
    layer: business
  - id: checkout_latency
    layer: service
  - id: checkout_cpu
    layer: system
  - id: refunds
    layer: business
    decision: Whether to change the policy
    audience: [finance]
    drivers: [{ metric: revenue, effect: increases }]
";

    fn catalog() -> Catalog {
        let checked = whyline_catalog::parse(vec![SourceFile {
            path: "map.yaml".into(),
            text: MAP.to_string(),
        }]);
        assert!(checked.is_valid(), "{:?}", checked.diagnostics);
        checked.catalog
    }

    fn cause(metric: usize, path: Vec<usize>) -> Cause {
        Cause {
            metric,
            score: 1.0,
            evidence: 5.0,
            path,
            explained: 1.0,
            change: Change {
                baseline: 1.0,
                observed: 0.5,
                relative: -0.5,
                sigma: -6.0,
            },
            since: None,
            consistent: true,
        }
    }

    fn explanation(status: Status, causes: Vec<Cause>) -> Explanation {
        Explanation {
            target: 0,
            at: 0,
            status,
            reason: String::new(),
            windows: None,
            change: None,
            causes,
            unexplained: 1.0,
            blind: Vec::new(),
            moves: HashMap::new(),
            shares: HashMap::new(),
        }
    }

    #[test]
    fn the_walk_stops_short_only_of_a_red_or_amber_metric_its_drivers_do_not_explain() {
        let catalog = catalog();
        let graph = MetricGraph::new(&catalog);
        let ends = explanation(Status::Red, vec![cause(0, vec![0])]);
        assert_eq!(stops_short(&graph, &ends), Some(0));
        let calm = explanation(Status::Green, vec![cause(0, vec![0])]);
        assert_eq!(stops_short(&graph, &calm), None);
        // Sessions has no drivers: it explains nothing of its own move.
        let deeper = explanation(Status::Amber, vec![cause(1, vec![0, 1])]);
        assert_eq!(stops_short(&graph, &deeper), Some(1));
    }

    #[test]
    fn suspects_sit_lower_and_are_neither_explored_nor_downstream() {
        let catalog = catalog();
        let graph = MetricGraph::new(&catalog);
        let id = |m: usize| catalog.metrics[m].id.as_str();
        let found: Vec<&str> = suspects(&catalog, &graph, 0, 1)
            .into_iter()
            .map(id)
            .collect();
        assert_eq!(found, ["checkout_latency", "checkout_cpu"]);
    }

    #[test]
    fn the_lead_follows_the_suggested_edge_into_the_asked_metric_only_where_the_map_ends() {
        let edge = SuspectedEdge {
            from: 2,
            to: 0,
            effect: Effect::Decreases,
            strength: 0.4,
            lag: 0,
        };
        let ends = explanation(
            Status::Red,
            vec![
                cause(0, vec![0]),
                cause(3, vec![0, 2, 3]),
                cause(1, vec![0, 1]),
            ],
        );
        assert_eq!(
            lead(&ends, std::slice::from_ref(&edge)),
            Some(vec![0, 2, 3])
        );
        assert_eq!(lead(&ends, &[]), None);
        let found = explanation(Status::Red, vec![cause(3, vec![0, 2, 3])]);
        assert_eq!(
            lead(&found, &[edge]),
            None,
            "the map does not end at the asked metric"
        );
        let answer = Answer {
            explanation: ends,
            suspected: Vec::new(),
            lead: Some(vec![0, 2, 3]),
        };
        assert_eq!(answer.root(), Some(3));
        assert_eq!(answer.order(), vec![3, 0, 1]);
    }
}
