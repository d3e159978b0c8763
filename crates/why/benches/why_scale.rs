//! Speed of `why` on large maps (issue "from a red business metric to its
//! root cause"): a 10,000-metric layered map with one day of 1-minute data,
//! and a 1,000-metric one, timing the engine on several targets and printing
//! the size of the explored subgraph beside the time, so that cost per
//! explored metric can be compared across catalog sizes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use whyline_catalog::{Layer, SourceFile, parse};
use whyline_map::MetricGraph;
use whyline_sim::{Fault, FaultKind, MapFlaws, random_map};
use whyline_why::{Settings, explain};

fn run(business: usize, service: usize, system: usize) {
    let total = business + service + system;
    let t = Instant::now();
    let map = random_map(business, service, system, 50, MapFlaws::default(), 42);
    let checked = parse(vec![SourceFile {
        path: PathBuf::from("big.yaml"),
        text: map.catalog_yaml.clone(),
    }]);
    assert!(checked.is_valid());
    let catalog = checked.catalog;
    let graph = MetricGraph::new(&catalog);
    let model = &map.model;
    let root = model
        .nodes
        .iter()
        .position(|n| n.layer == Layer::System)
        .unwrap_or(0);
    let data = model.simulate(
        1440,
        1440,
        &[Fault {
            node: root,
            kind: FaultKind::Step,
            size: 10.0,
            start: 1380,
        }],
        42,
    );
    let by_id: HashMap<&str, usize> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let columns: Vec<&[f64]> = catalog
        .metrics
        .iter()
        .map(|m| data[by_id[m.id.as_str()]].as_slice())
        .collect();
    println!(
        "  {total} metrics ({} edges), 1,440 points each; generated in {:.1?}",
        catalog
            .metrics
            .iter()
            .map(|m| m.drivers.len())
            .sum::<usize>(),
        t.elapsed()
    );
    let series = |m: usize| Some(columns[m]);
    // Targets: the metrics the root drives, from the top layer down.
    let mut targets: Vec<usize> = (0..catalog.metrics.len())
        .filter(|&m| {
            graph.upstream(m).contains(
                &catalog
                    .index_of(&model.nodes[root].id)
                    .unwrap_or(usize::MAX),
            )
        })
        .collect();
    targets.sort_by_key(|&m| (catalog.metrics[m].layer, m));
    targets.truncate(5);
    for target in targets {
        let explored = graph.upstream(target).len();
        let runs = 5;
        let mut times = Vec::new();
        let mut answer = None;
        for _ in 0..runs {
            let t = Instant::now();
            answer = Some(explain(
                &catalog,
                &graph,
                &series,
                target,
                Some(1439),
                None,
                &Settings::default(),
            ));
            times.push(t.elapsed());
        }
        times.sort();
        let median = times[runs / 2];
        let top = answer
            .and_then(|a| {
                a.causes
                    .first()
                    .map(|c| catalog.metrics[c.metric].id.clone())
            })
            .unwrap_or_default();
        println!(
            "    why {:<24} explored {explored:>5} metrics: median {:>8.2?} ({:.1} us per explored metric); top cause {top}",
            catalog.metrics[target].id,
            median,
            median.as_secs_f64() * 1e6 / explored.max(1) as f64
        );
    }
}

/// The business metric with the largest upstream, explained between two
/// explicit periods (always a full ranking, no early exit when calm).
fn worst_case(business: usize, service: usize, system: usize) {
    let map = random_map(business, service, system, 50, MapFlaws::default(), 42);
    let catalog = parse(vec![SourceFile {
        path: PathBuf::from("big.yaml"),
        text: map.catalog_yaml.clone(),
    }])
    .catalog;
    let graph = MetricGraph::new(&catalog);
    let Some((target, explored)) = (0..catalog.metrics.len())
        .filter(|&m| catalog.metrics[m].layer == Layer::Business)
        .map(|m| (m, graph.upstream(m).len()))
        .max_by_key(|(_, n)| *n)
    else {
        return;
    };
    // A fault upstream so the target is red and the whole subgraph is ranked.
    let by_id: HashMap<&str, usize> = map
        .model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let root = graph
        .upstream(target)
        .into_iter()
        .filter(|&m| catalog.metrics[m].layer == Layer::System)
        .map(|m| by_id[catalog.metrics[m].id.as_str()])
        .next()
        .unwrap_or(0);
    let data = map.model.simulate(
        1440,
        1440,
        &[Fault {
            node: root,
            kind: FaultKind::Step,
            size: 30.0,
            start: 1380,
        }],
        42,
    );
    let columns: Vec<&[f64]> = catalog
        .metrics
        .iter()
        .map(|m| data[by_id[m.id.as_str()]].as_slice())
        .collect();
    let series = |m: usize| Some(columns[m]);
    let windows = whyline_why::Windows {
        baseline: 0..1380,
        incident: 1380..1440,
        periods: true,
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let answer = explain(
            &catalog,
            &graph,
            &series,
            target,
            None,
            Some(windows.clone()),
            &Settings::default(),
        );
        times.push(t.elapsed());
        assert!(!answer.causes.is_empty(), "{}", answer.reason);
    }
    times.sort();
    println!(
        "    worst case: why {} between two periods, explored {explored} of {} metrics: median {:.2?} ({:.1} us per explored metric)",
        catalog.metrics[target].id,
        catalog.metrics.len(),
        times[2],
        times[2].as_secs_f64() * 1e6 / explored.max(1) as f64
    );
}

fn main() {
    println!("why_scale: engine time on large maps (data in memory, as the server holds it)");
    run(100, 300, 600);
    run(1_000, 3_000, 6_000);
    worst_case(100, 300, 600);
    worst_case(1_000, 3_000, 6_000);
}
