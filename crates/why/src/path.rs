//! Walking the explored part of the map: signs of paths and breadcrumb paths.

use std::collections::{BTreeSet, BinaryHeap, HashMap};

use whyline_catalog::Catalog;
use whyline_map::MetricGraph;

/// For each metric upstream of `target`, the signs (+1 / -1) that some path
/// from it to the target multiplies to. A fixpoint over the drivers: each set
/// changes at most twice, so cycles terminate.
pub(crate) fn path_signs(
    catalog: &Catalog,
    graph: &MetricGraph,
    target: usize,
) -> HashMap<usize, BTreeSet<i8>> {
    let mut signs: HashMap<usize, BTreeSet<i8>> = HashMap::new();
    signs.insert(target, BTreeSet::from([1]));
    let mut queue = vec![target];
    while let Some(child) = queue.pop() {
        let child_signs = signs.get(&child).cloned().unwrap_or_default();
        for (driver, edge) in graph.driver_edges(catalog, child) {
            let edge_sign: i8 = if edge.effect.sign() > 0.0 { 1 } else { -1 };
            let entry = signs.entry(driver).or_default();
            let before = entry.len();
            entry.extend(child_signs.iter().map(|s| s * edge_sign));
            if entry.len() != before {
                queue.push(driver);
            }
        }
    }
    signs
}

/// The path from `target` down to `cause` through drivers, preferring metrics
/// that moved (cost 1) over calm ones (cost 8). Dijkstra over the explored part.
pub(crate) fn breadcrumb(
    catalog: &Catalog,
    graph: &MetricGraph,
    target: usize,
    cause: usize,
    moved: &dyn Fn(usize) -> bool,
) -> Vec<usize> {
    let mut best: HashMap<usize, (u32, usize)> = HashMap::new();
    let mut heap = BinaryHeap::new();
    best.insert(target, (0, target));
    heap.push(std::cmp::Reverse((0u32, target)));
    while let Some(std::cmp::Reverse((cost, node))) = heap.pop() {
        if node == cause {
            break;
        }
        if best.get(&node).is_some_and(|(c, _)| *c < cost) {
            continue;
        }
        for (driver, _) in graph.driver_edges(catalog, node) {
            let next = cost + if moved(driver) { 1 } else { 8 };
            if best.get(&driver).is_none_or(|(c, _)| next < *c) {
                best.insert(driver, (next, node));
                heap.push(std::cmp::Reverse((next, driver)));
            }
        }
    }
    if !best.contains_key(&cause) {
        return vec![target, cause];
    }
    let mut path = vec![cause];
    let mut at = cause;
    while at != target {
        let Some(&(_, previous)) = best.get(&at) else {
            break;
        };
        if previous == at {
            break;
        }
        path.push(previous);
        at = previous;
    }
    path.reverse();
    path
}
