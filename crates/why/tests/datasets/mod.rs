//! Loading the public RCA datasets of `../shared/datasets/` (read in place,
//! never copied) into cases the engine and the reference rankers can run on.
//! Each function returns `None` when the folder is absent, so a checkout
//! without `../shared` still passes.
//!
//! Sources (see each folder's README): Sock Shop fault injection from RCD
//! (Ikram et al., NeurIPS 2022; "Sock Shop 1" in RCAEval, Pham et al., ASE
//! 2024); DoWhy's online-shop, microservice-latency and supply-chain examples
//! (py-why/dowhy, MIT).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, Normal};
use whyline_catalog::{Catalog, SourceFile, parse};
use whyline_why::Windows;

pub mod petshop;

/// One RCA question with its answer.
pub struct Case {
    /// A label for reports.
    pub name: String,
    /// The map.
    pub catalog: Catalog,
    /// Series by metric id, all the same length.
    pub data: BTreeMap<String, Vec<f64>>,
    /// Normal and abnormal windows (true fault time).
    pub windows: Windows,
    /// The metric asked about.
    pub target: String,
    /// The true root causes (ids).
    pub truth: Vec<String>,
}

/// `../shared/datasets` beside the repository, if present.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    dir.is_dir().then_some(dir)
}

fn catalog(text: &str) -> Catalog {
    let checked = parse(vec![SourceFile {
        path: PathBuf::from("dataset.yaml"),
        text: text.to_string(),
    }]);
    assert!(checked.is_valid(), "{:?}", checked.diagnostics.first());
    checked.catalog
}

/// Reads a CSV with a header into columns (booleans as 0/1).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let mut columns = vec![Vec::new(); headers.len()];
    for record in reader.records() {
        let record = record.expect("row");
        for (i, cell) in record.iter().enumerate() {
            let v = match cell {
                "True" => 1.0,
                "False" => 0.0,
                c => c.parse().unwrap_or(f64::NAN),
            };
            columns[i].push(v);
        }
    }
    (headers, columns)
}

/// The service a Sock Shop metric belongs to, as RCAEval maps it.
pub fn sockshop_service(metric: &str) -> String {
    metric
        .split('_')
        .next()
        .unwrap_or(metric)
        .replace("-db", "")
}

/// Sock Shop's map, written from its call graph: each service latency is
/// driven by its own and its database's CPU and memory, and by its load; the
/// request rate drives CPU; every signal drives the shop's health (no data).
fn sockshop_catalog(metrics: &[String]) -> String {
    let mut text = String::from(
        "version: 1\ndefaults: { owner: sre }\nmetrics:\n  - id: sockshop_health\n    layer: business\n    decision: Whether to page the on-call team\n    audience: [sre]\n    drivers:\n",
    );
    let tops: Vec<&String> = metrics.iter().filter(|m| !m.ends_with("_lod")).collect();
    for m in &tops {
        let _ = writeln!(text, "      - {{ metric: {m}, effect: increases }}");
    }
    for m in metrics {
        let layer = if m.contains("_lat_") || m.ends_with("_lod") {
            "service"
        } else {
            "system"
        };
        let _ = writeln!(text, "  - id: {m}\n    layer: {layer}");
        let service = m.split('_').next().unwrap_or("");
        let mut drivers = Vec::new();
        if m.contains("_lat_") {
            for kind in ["cpu", "mem"] {
                for who in [service.to_string(), format!("{service}-db")] {
                    let d = format!("{who}_{kind}");
                    if metrics.contains(&d) {
                        drivers.push(d);
                    }
                }
            }
            let load = format!("{service}_lod");
            if metrics.contains(&load) {
                drivers.push(load);
            }
        }
        if m.ends_with("_cpu") {
            let load = format!("{service}_lod");
            if metrics.contains(&load) {
                drivers.push(load);
            }
        }
        if !drivers.is_empty() {
            let _ = writeln!(text, "    drivers:");
            for d in drivers {
                let _ = writeln!(text, "      - {{ metric: {d}, effect: increases }}");
            }
        }
    }
    text
}

/// The 50 Sock Shop cases: the last 300 normal rows, then the first 300
/// anomalous ones (RCAEval's protocol), `_lat_50`/`_lat_99` dropped and memory
/// in MB, as RCAEval does for this data.
pub fn sockshop() -> Option<Vec<Case>> {
    let root = shared()?.join("sockshop-rcd");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut cases = Vec::new();
    for folder in folders {
        let name = folder.file_name()?.to_string_lossy().into_owned();
        let service = name.split('-').next()?.to_string();
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&folder)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        runs.sort();
        for run in runs {
            let (headers, normal) = read_csv(&run.join("normal.csv"));
            let (headers2, anomalous) = read_csv(&run.join("anomalous.csv"));
            assert_eq!(headers, headers2, "{}", run.display());
            let n_rows = normal[0].len();
            let a_rows = anomalous[0].len();
            let n_from = n_rows.saturating_sub(300);
            let a_to = a_rows.min(300);
            let mut data = BTreeMap::new();
            for (i, h) in headers.iter().enumerate().skip(1) {
                if h.ends_with("_lat_50") || h.ends_with("_lat_99") {
                    continue;
                }
                let scale = if h.ends_with("_mem") { 1e-6 } else { 1.0 };
                let mut column: Vec<f64> = normal[i][n_from..].iter().map(|v| v * scale).collect();
                column.extend(anomalous[i][..a_to].iter().map(|v| v * scale));
                data.insert(h.clone(), column);
            }
            let metrics: Vec<String> = data.keys().cloned().collect();
            let split = n_rows - n_from;
            cases.push(Case {
                name: format!("{name}/{}", run.file_name()?.to_string_lossy()),
                catalog: catalog(&sockshop_catalog(&metrics)),
                windows: Windows {
                    baseline: 0..split,
                    incident: split..split + a_to,
                    periods: false,
                },
                data,
                target: "sockshop_health".to_string(),
                truth: vec![service.clone()],
            });
        }
    }
    Some(cases)
}

const SHOP_MAP: &str = "version: 1
defaults: { owner: p-and-l }
metrics:
  - id: profit
    layer: business
    decision: Whether the online shop meets its quarterly plan
    audience: [leadership]
    drivers: [{ metric: revenue, effect: increases }, { metric: operational_cost, effect: decreases }]
  - id: revenue
    layer: business
    drivers: [{ metric: unit_price, effect: increases }, { metric: sold_units, effect: increases }]
  - id: operational_cost
    layer: business
    drivers: [{ metric: ad_spend, effect: increases }, { metric: sold_units, effect: increases }]
  - id: sold_units
    layer: service
    drivers: [{ metric: page_views, effect: increases }, { metric: unit_price, effect: decreases }, { metric: shopping_event, effect: increases }]
  - id: page_views
    layer: service
    drivers: [{ metric: ad_spend, effect: increases }, { metric: shopping_event, effect: increases }]
  - id: unit_price
    layer: system
    drivers: [{ metric: shopping_event, effect: decreases }]
  - id: ad_spend
    layer: system
    drivers: [{ metric: shopping_event, effect: increases }]
  - id: shopping_event
    layer: system
";

/// DoWhy's online shop: Q1-2022 against Q1-2021, profit fell 13% because page
/// views fell (the price cut was deliberate and raises profit).
pub fn online_shop_quarter() -> Option<Case> {
    let root = shared()?.join("dowhy-online-shop");
    let (headers, y2021) = read_csv(&root.join("2021_data.csv"));
    let (_, q2022) = read_csv(&root.join("2022_first_quarter.csv"));
    let ids = [
        "date",
        "shopping_event",
        "ad_spend",
        "page_views",
        "unit_price",
        "sold_units",
        "revenue",
        "operational_cost",
        "profit",
    ];
    assert_eq!(headers.len(), ids.len());
    let mut data = BTreeMap::new();
    for (i, id) in ids.iter().enumerate().skip(1) {
        let mut column = y2021[i].clone();
        column.extend(&q2022[i]);
        data.insert((*id).to_string(), column);
    }
    let days_2021 = y2021[0].len();
    let q1_2021 = 90;
    Some(Case {
        name: "online shop, Q1-2022 vs Q1-2021".to_string(),
        catalog: catalog(SHOP_MAP),
        windows: Windows {
            baseline: 0..q1_2021,
            incident: days_2021..days_2021 + q2022[0].len(),
            periods: true,
        },
        data,
        target: "profit".to_string(),
        truth: vec!["page_views".to_string()],
    })
}

/// truncexpon(b, scale): an exponential of mean `scale` truncated to [0, b*scale], by inversion.
fn truncexpon(rng: &mut StdRng, b: f64, scale: f64) -> f64 {
    let u: f64 = rng.random();
    -scale * (1.0 - u * (1.0 - (-b).exp())).ln()
}

fn halfnorm(rng: &mut StdRng, normal: &Normal<f64>, loc: f64, scale: f64) -> f64 {
    loc + scale * normal.sample(rng).abs()
}

/// DoWhy's microservice latency example: 10,000 normal requests from the
/// notebook's generator (seeded), then the published anomalous request.
pub fn microservice() -> Option<Case> {
    let root = shared()?.join("dowhy-microservice-latency");
    let (headers, anomaly) = read_csv(&root.join("rca_microservice_architecture_anomaly.csv"));
    let ids: Vec<String> = headers
        .iter()
        .map(|h| h.to_lowercase().replace(' ', "_"))
        .collect();
    let mut rng = StdRng::seed_from_u64(2022);
    let normal = Normal::new(0.0, 1.0).ok()?;
    let rows = 10_000;
    let mut columns: BTreeMap<String, Vec<f64>> = ids
        .iter()
        .map(|id| (id.clone(), Vec::with_capacity(rows + 1)))
        .collect();
    for _ in 0..rows {
        let product_db = truncexpon(&mut rng, 10.0, 0.2);
        let customer_db = truncexpon(&mut rng, 6.0, 0.2);
        let order_db = truncexpon(&mut rng, 5.0, 0.2);
        let shipping = halfnorm(&mut rng, &normal, 0.1, 0.2);
        let miss = if rng.random_bool(0.5) { 1.0 } else { 0.0 };
        let caching = miss * product_db + halfnorm(&mut rng, &normal, 0.1, 0.1);
        let product =
            shipping.max(caching).max(customer_db) + halfnorm(&mut rng, &normal, 0.1, 0.2);
        let auth = customer_db + halfnorm(&mut rng, &normal, 0.1, 0.2);
        let order = order_db + halfnorm(&mut rng, &normal, 0.5, 0.2);
        let api = product + customer_db + auth + order + halfnorm(&mut rng, &normal, 0.5, 0.2);
        let www = api + auth + truncexpon(&mut rng, 2.0, 0.2);
        let website = www + truncexpon(&mut rng, 3.0, 0.2);
        for (id, v) in [
            ("product_db", product_db),
            ("customer_db", customer_db),
            ("order_db", order_db),
            ("shipping_cost_service", shipping),
            ("caching_service", caching),
            ("product_service", product),
            ("auth_service", auth),
            ("order_service", order),
            ("api", api),
            ("www", www),
            ("website", website),
        ] {
            if let Some(c) = columns.get_mut(id) {
                c.push(v);
            }
        }
    }
    for (i, id) in ids.iter().enumerate() {
        if let Some(c) = columns.get_mut(id) {
            c.push(anomaly[i][0]);
        }
    }
    let map = "version: 1
defaults: { owner: platform }
metrics:
  - id: website
    layer: business
    decision: Whether to roll back today's release
    audience: [leadership]
    drivers: [{ metric: www, effect: increases }]
  - { id: www, layer: service, drivers: [{ metric: api, effect: increases }, { metric: auth_service, effect: increases }] }
  - { id: api, layer: service, drivers: [{ metric: product_service, effect: increases }, { metric: customer_db, effect: increases }, { metric: auth_service, effect: increases }, { metric: order_service, effect: increases }] }
  - { id: product_service, layer: service, drivers: [{ metric: shipping_cost_service, effect: increases }, { metric: caching_service, effect: increases }, { metric: customer_db, effect: increases }] }
  - { id: auth_service, layer: service, drivers: [{ metric: customer_db, effect: increases }] }
  - { id: order_service, layer: service, drivers: [{ metric: order_db, effect: increases }] }
  - { id: caching_service, layer: service, drivers: [{ metric: product_db, effect: increases }] }
  - { id: shipping_cost_service, layer: system }
  - { id: product_db, layer: system }
  - { id: customer_db, layer: system }
  - { id: order_db, layer: system }
";
    Some(Case {
        name: "microservice latency, one slow request".to_string(),
        catalog: catalog(map),
        windows: Windows {
            baseline: 0..rows,
            incident: rows..rows + 1,
            periods: false,
        },
        data: columns,
        target: "website".to_string(),
        truth: vec!["caching_service".to_string()],
    })
}

/// DoWhy's supply chain, week over week, from the notebook's generator:
/// received rose because demand and the confirmation ratio both changed.
pub fn supply_chain() -> Option<Case> {
    shared()?
        .join("dowhy-supply-chain")
        .is_dir()
        .then_some(())?;
    let mut rng = StdRng::seed_from_u64(2021);
    let mut columns: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (alpha, beta, demand_mean) in [(1.0, 1.0, 2.0), (2.0, 1.0, 4.0)] {
        let gamma = |shape: f64| Gamma::new(shape, 1.0).ok();
        let (g1, gd, g01) = (gamma(1.0)?, gamma(demand_mean)?, gamma(0.1)?);
        for _ in 0..1000 {
            let constraint = g1.sample(&mut rng);
            let demand = gd.sample(&mut rng);
            let submitted = demand - constraint + g1.sample(&mut rng);
            let confirmed = alpha * submitted + g01.sample(&mut rng);
            let received = beta * confirmed + g01.sample(&mut rng);
            for (id, v) in [
                ("constraint", constraint),
                ("demand", demand),
                ("submitted", submitted),
                ("confirmed", confirmed),
                ("received", received),
            ] {
                columns.entry(id.to_string()).or_default().push(v.round());
            }
        }
    }
    let map = "version: 1
defaults: { owner: supply }
metrics:
  - id: received
    layer: business
    decision: How much warehouse space to book next week
    audience: [operations]
    drivers: [{ metric: confirmed, effect: increases }]
  - { id: confirmed, layer: service, drivers: [{ metric: submitted, effect: increases }] }
  - { id: submitted, layer: service, drivers: [{ metric: demand, effect: increases }, { metric: constraint, effect: decreases }] }
  - { id: demand, layer: system }
  - { id: constraint, layer: system }
";
    Some(Case {
        name: "supply chain, week 2 vs week 1".to_string(),
        catalog: catalog(map),
        windows: Windows {
            baseline: 0..1000,
            incident: 1000..2000,
            periods: true,
        },
        data: columns,
        target: "received".to_string(),
        truth: vec!["demand".to_string(), "confirmed".to_string()],
    })
}
