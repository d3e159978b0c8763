//! The map as a graph: metrics are nodes, drivers are edges from cause to effect.

use std::collections::VecDeque;

use whyline_catalog::{Catalog, Driver};

/// Adjacency in both directions over [`Catalog::metrics`] positions.
///
/// Drivers naming unknown metrics are skipped; the catalog's own validation
/// reports them, and the graph must still be usable for a partial answer.
#[derive(Debug, Clone)]
pub struct MetricGraph {
    /// For each metric, its drivers: (driver position, index into the metric's `drivers`).
    drivers: Vec<Vec<(usize, usize)>>,
    /// For each metric, the metrics it drives.
    dependants: Vec<Vec<usize>>,
}

impl MetricGraph {
    /// Builds the graph of a catalog.
    pub fn new(catalog: &Catalog) -> Self {
        let n = catalog.metrics.len();
        let mut drivers = vec![Vec::new(); n];
        let mut dependants = vec![Vec::new(); n];
        for (to, metric) in catalog.metrics.iter().enumerate() {
            for (k, driver) in metric.drivers.iter().enumerate() {
                if let Some(from) = catalog.index_of(&driver.metric) {
                    drivers[to].push((from, k));
                    dependants[from].push(to);
                }
            }
        }
        MetricGraph {
            drivers,
            dependants,
        }
    }

    /// Number of metrics.
    pub fn len(&self) -> usize {
        self.drivers.len()
    }

    /// True when the catalog has no metrics.
    pub fn is_empty(&self) -> bool {
        self.drivers.is_empty()
    }

    /// Positions of the metrics that drive `metric`.
    pub fn drivers_of(&self, metric: usize) -> impl Iterator<Item = usize> + '_ {
        self.drivers[metric].iter().map(|(from, _)| *from)
    }

    /// The driver entries of `metric` that resolve to a known metric, with their positions.
    pub fn driver_edges<'c>(
        &'c self,
        catalog: &'c Catalog,
        metric: usize,
    ) -> impl Iterator<Item = (usize, &'c Driver)> + 'c {
        self.drivers[metric]
            .iter()
            .map(move |(from, k)| (*from, &catalog.metrics[metric].drivers[*k]))
    }

    /// Positions of the metrics that `metric` drives.
    pub fn dependants_of(&self, metric: usize) -> &[usize] {
        &self.dependants[metric]
    }

    /// Every metric reachable from `start` by following drivers (causes), `start` included.
    pub fn upstream(&self, start: usize) -> Vec<usize> {
        self.walk(start, |g, m, out| out.extend(g.drivers_of(m)))
    }

    /// Every metric reachable from `start` by following dependants (effects), `start` included.
    pub fn downstream(&self, start: usize) -> Vec<usize> {
        self.walk(start, |g, m, out| out.extend_from_slice(g.dependants_of(m)))
    }

    fn walk(&self, start: usize, next: impl Fn(&Self, usize, &mut Vec<usize>)) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut order = Vec::new();
        let mut queue = VecDeque::from([start]);
        seen[start] = true;
        let mut buffer = Vec::new();
        while let Some(m) = queue.pop_front() {
            order.push(m);
            buffer.clear();
            next(self, m, &mut buffer);
            for &n in &buffer {
                if !seen[n] {
                    seen[n] = true;
                    queue.push_back(n);
                }
            }
        }
        order
    }
}
