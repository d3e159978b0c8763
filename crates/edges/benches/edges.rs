//! Edge validation and discovery on simulated maps with known truth (issue
//! "edges that hold up"): 200-metric layered maps, one day of 1-minute data,
//! with 20% of the true edges left out of the catalog and 2 signs flipped.
//! Prints precision and recall of the suggested edges, detection of the
//! flipped signs, and time; then 1,000-metric maps for time.
//!
//! When `WHYLINE_EDGES_REFERENCE=1`, the same data is written to CSV and
//! `benches/reference_pc.py` (causal-learn's PC, installed into a venv by
//! `benches/reference.sh`) is run on it for a side-by-side line.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use whyline_catalog::{SourceFile, parse};
use whyline_edges::{Settings, Verdict, analyse};
use whyline_map::MetricGraph;
use whyline_sim::{MapFlaws, random_map};

struct Totals {
    true_positive: usize,
    suggested: usize,
    hidden: usize,
    recovered: usize,
    flipped: usize,
    flipped_found: usize,
    seconds: f64,
    reference: Option<String>,
}

fn one(business: usize, service: usize, system: usize, seed: u64, reference: bool) -> Totals {
    let flaws = MapFlaws {
        missing_edges: 0.2,
        wrong_edges: 0,
        flipped_signs: 2,
    };
    let map = random_map(business, service, system, 8, flaws, seed);
    let catalog = parse(vec![SourceFile {
        path: PathBuf::from("sim.yaml"),
        text: map.catalog_yaml.clone(),
    }])
    .catalog;
    let graph = MetricGraph::new(&catalog);
    let model = &map.model;
    let data = model.simulate(1440, 1440, &[], seed);
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
    let series = |m: usize| Some(columns[m]);
    // Truth: (from, to, sign) by id.
    let mut truth: HashMap<(String, String), f64> = HashMap::new();
    for node in &model.nodes {
        for e in &node.parents {
            truth.insert((model.nodes[e.from].id.clone(), node.id.clone()), e.sign);
        }
    }
    let written: HashSet<(String, String)> = catalog
        .metrics
        .iter()
        .flat_map(|m| m.drivers.iter().map(|d| (d.metric.clone(), m.id.clone())))
        .collect();
    let hidden: HashSet<&(String, String)> =
        truth.keys().filter(|k| !written.contains(*k)).collect();
    let t = Instant::now();
    let settings = Settings {
        min_strength: std::env::var("WHYLINE_EDGES_MIN_STRENGTH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Settings::default().min_strength),
        ..Settings::default()
    };
    let report = analyse(&catalog, &graph, &series, 60_000, &settings);
    let seconds = t.elapsed().as_secs_f64();
    let id = |m: usize| catalog.metrics[m].id.clone();
    let mut totals = Totals {
        true_positive: 0,
        suggested: report.suggested.len(),
        hidden: hidden.len(),
        recovered: 0,
        flipped: 0,
        flipped_found: 0,
        seconds,
        reference: None,
    };
    for s in &report.suggested {
        let key = (id(s.from), id(s.to));
        if truth.contains_key(&key) {
            totals.true_positive += 1;
        }
        if hidden.contains(&key) {
            totals.recovered += 1;
        }
    }
    for c in &report.declared {
        let key = (id(c.from), id(c.to));
        if let Some(sign) = truth.get(&key) {
            if *sign != c.effect.sign() {
                totals.flipped += 1;
                if c.verdict == Verdict::Contradicted {
                    totals.flipped_found += 1;
                }
            }
        }
    }
    if reference {
        totals.reference = Some(run_reference(&catalog, &columns, &truth, &written, seed));
    }
    totals
}

/// Writes the data and runs causal-learn's PC on it (see benches/reference.sh).
fn run_reference(
    catalog: &whyline_catalog::Catalog,
    columns: &[&[f64]],
    truth: &HashMap<(String, String), f64>,
    written: &HashSet<(String, String)>,
    seed: u64,
) -> String {
    let dir = std::env::temp_dir().join(format!("whyline-edges-{seed}"));
    let _ = std::fs::create_dir_all(&dir);
    let mut csv = catalog
        .metrics
        .iter()
        .map(|m| m.id.clone())
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for t in 1..columns[0].len() {
        let row: Vec<String> = columns
            .iter()
            .map(|c| format!("{}", c[t] - c[t - 1]))
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let _ = std::fs::write(dir.join("data.csv"), csv);
    let edges = |set: Vec<&(String, String)>| {
        set.iter()
            .map(|(a, b)| format!("{a},{b}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let _ = std::fs::write(dir.join("truth.csv"), edges(truth.keys().collect()));
    let _ = std::fs::write(dir.join("written.csv"), edges(written.iter().collect()));
    let python = std::env::var("WHYLINE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/reference_pc.py");
    match std::process::Command::new(python)
        .arg(script)
        .arg(&dir)
        .output()
    {
        Ok(out) if out.status.success() => {
            format!("      {}", String::from_utf8_lossy(&out.stdout).trim())
        }
        Ok(out) => format!(
            "      reference failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => format!("      reference skipped: {e}"),
    }
}

fn main() {
    let reference = std::env::var("WHYLINE_EDGES_REFERENCE").is_ok_and(|v| v == "1");
    println!(
        "edges: 200-metric maps (20 business, 80 service, 100 system), 1,440 points, 20% of edges hidden, 2 signs flipped"
    );
    let mut sum = Totals {
        true_positive: 0,
        suggested: 0,
        hidden: 0,
        recovered: 0,
        flipped: 0,
        flipped_found: 0,
        seconds: 0.0,
        reference: None,
    };
    let maps = 5;
    for seed in 0..maps {
        let t = one(20, 80, 100, 800 + seed, reference);
        println!(
            "    map {seed}: suggested {} ({} true), recovered {}/{} hidden, flipped signs caught {}/{}, {:.2} s",
            t.suggested,
            t.true_positive,
            t.recovered,
            t.hidden,
            t.flipped_found,
            t.flipped,
            t.seconds
        );
        sum.true_positive += t.true_positive;
        sum.suggested += t.suggested;
        sum.hidden += t.hidden;
        sum.recovered += t.recovered;
        sum.flipped += t.flipped;
        sum.flipped_found += t.flipped_found;
        sum.seconds += t.seconds;
    }
    println!(
        "  whyline: precision {:.3}, recall {:.3} (of hidden edges), wrong signs caught {}/{}, {:.2} s per map  [target: precision >= 0.8 at recall >= 0.6]",
        sum.true_positive as f64 / sum.suggested.max(1) as f64,
        sum.recovered as f64 / sum.hidden.max(1) as f64,
        sum.flipped_found,
        sum.flipped,
        sum.seconds / maps as f64
    );
    let t = one(100, 400, 500, 9_000, false);
    println!(
        "  1,000-metric map: {:.2} s (suggested {}, {} true)  [target: < 60 s]",
        t.seconds, t.suggested, t.true_positive
    );
}
