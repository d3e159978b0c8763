//! `whyline simulate` and `whyline demo`.

use std::fmt::Write as _;
use std::path::PathBuf;

use whyline_catalog::{Catalog, diagnostic::did_you_mean};
use whyline_series::format_time;
use whyline_sim::{Fault, FaultKind, MapFlaws, Model, random_map};

use crate::Outcome;
use crate::cli::{CatalogArg, CheckArgs, CheckFormat, DataFormat, DemoArgs, SimulateArgs, WhyArgs};
use crate::output::write_file;

/// Parses `METRIC:KIND[:SIZE]`.
fn fault(text: &str, model: &Model, start: usize) -> Result<Fault, String> {
    let mut parts = text.split(':');
    let id = parts.next().unwrap_or("");
    let kind = parts.next().unwrap_or("step");
    let size = parts
        .next()
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| format!("--fault {text}: `{s}` is not a number"))
        })
        .transpose()?
        .unwrap_or(8.0);
    let Some(node) = model.index_of(id) else {
        let hint = did_you_mean(id, model.nodes.iter().map(|n| n.id.as_str()))
            .map(|s| format!(": did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!("--fault {text}: no metric `{id}` in the map{hint}"));
    };
    let kind = FaultKind::parse(kind).ok_or_else(|| {
        format!("--fault {text}: `{kind}` is not a fault kind; write step, ramp or spike")
    })?;
    Ok(Fault {
        node,
        kind,
        size,
        start,
    })
}

/// The largest random map `--random` draws: past it the data no longer fits a CSV a person opens.
const MAX_RANDOM_METRICS: usize = 100_000;

/// Simulates and writes data.csv and truth.json (and the map with --random).
pub(crate) fn simulate(
    args: &SimulateArgs,
    catalog: Option<&Catalog>,
) -> Result<(PathBuf, String), String> {
    let start_ms = args.start;
    if args.points > whyline_sources::MAX_GRID_POINTS {
        return Err(format!(
            "--points {} is more than the {} points whyline aligns per metric",
            args.points,
            whyline_sources::MAX_GRID_POINTS
        ));
    }
    if args.points < 10 || args.fault_age >= args.points {
        return Err("--points must be at least 10 and larger than --fault-age".to_string());
    }
    let (model, catalog_yaml) = match (args.random.as_slice(), catalog) {
        ([b, s, y], _) => {
            if [*b, *s, *y].contains(&0) {
                return Err(format!(
                    "--random {b},{s},{y}: every layer needs at least one metric (BUSINESS,SERVICE,SYSTEM), e.g. --random 3,10,14"
                ));
            }
            if b + s + y > MAX_RANDOM_METRICS {
                return Err(format!(
                    "--random {b},{s},{y}: at most {MAX_RANDOM_METRICS} metrics in all; a map that large is a benchmark (cargo bench -p whyline-why --bench why_scale)"
                ));
            }
            let map = random_map(*b, *s, *y, 4, MapFlaws::default(), args.seed);
            (map.model, Some(map.catalog_yaml))
        }
        ([_, ..], _) => {
            return Err(
                "--random takes three counts: BUSINESS,SERVICE,SYSTEM, e.g. --random 3,10,14"
                    .to_string(),
            );
        }
        (_, Some(catalog)) => (
            Model::from_catalog(catalog, args.seed).map_err(|e| e.to_string())?,
            None,
        ),
        (_, None) => return Err("give --catalog (your map) or --random B,S,Y".to_string()),
    };
    let start = args.points - args.fault_age;
    let mut faults: Vec<Fault> = args
        .fault
        .iter()
        .map(|f| fault(f, &model, start))
        .collect::<Result<_, _>>()?;
    if faults.is_empty() {
        match catalog_yaml {
            Some(_) => {
                let system = model.nodes.iter().position(|n| n.layer == whyline_catalog::Layer::System).unwrap_or(0);
                faults.push(Fault { node: system, kind: FaultKind::Step, size: 8.0, start });
            }
            None => return Err("give at least one --fault METRIC:KIND[:SIZE], e.g. --fault checkout_cpu_utilization:step".to_string()),
        }
    }
    let points_per_day = (86_400 / args.step_seconds.max(1)).max(1) as usize;
    let data = model.simulate(args.points, points_per_day, &faults, args.seed);
    let mut csv = String::with_capacity(args.points * model.nodes.len() * 10);
    csv.push_str("timestamp");
    for n in &model.nodes {
        csv.push(',');
        csv.push_str(&n.id);
    }
    csv.push('\n');
    for t in 0..args.points {
        csv.push_str(&format_time(start_ms + t as i64 * args.step_seconds * 1000));
        for series in &data {
            let _ = write!(csv, ",{:.6}", series[t]);
        }
        csv.push('\n');
    }
    let out = &args.output;
    if let Some(yaml) = &catalog_yaml {
        write_file(&out.join("metrics/sim.yaml"), yaml.as_bytes(), args.force)?;
    }
    let data_path = out.join("data.csv");
    write_file(&data_path, csv.as_bytes(), args.force)?;
    let truth = crate::contract::simulate::Truth {
        faults: faults
            .iter()
            .map(|f| crate::contract::simulate::Fault {
                metric: model.nodes[f.node].id.clone(),
                kind: f.kind.into(),
                size: f.size,
                start: format_time(start_ms + f.start as i64 * args.step_seconds * 1000),
            })
            .collect(),
        points: args.points,
        step_seconds: args.step_seconds,
        seed: args.seed,
    };
    let truth = serde_json::to_string_pretty(&truth)
        .map_err(|e| format!("cannot encode truth.json: {e}"))?;
    write_file(
        &out.join("truth.json"),
        format!("{truth}\n").as_bytes(),
        args.force,
    )?;
    let summary = format!(
        "simulated {} metrics x {} points into {} (faults: {})",
        model.nodes.len(),
        args.points,
        data_path.display(),
        faults
            .iter()
            .map(|f| format!(
                "{} {} at {}",
                model.nodes[f.node].id,
                f.kind.as_str(),
                format_time(start_ms + f.start as i64 * args.step_seconds * 1000)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((data_path, summary))
}

/// Runs `simulate`.
pub(crate) fn run(args: &SimulateArgs) -> Outcome {
    let loaded = if args.random.is_empty() {
        match crate::load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) if checked.is_valid() => Some(checked.catalog),
            Ok((_, checked)) => {
                eprint!(
                    "{}",
                    crate::diagnostics::render_human(&checked.catalog, &checked.diagnostics)
                );
                eprintln!("error: the catalog is invalid; fix it first (see `whyline check`)");
                return Outcome::Invalid;
            }
            Err(_) => return Outcome::Invalid,
        }
    } else {
        None
    };
    match simulate(args, loaded.as_ref()) {
        Ok((_, summary)) => {
            eprintln!("{summary}");
            Outcome::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Invalid
        }
    }
}

/// The example shop's catalog, built into the binary so `demo` runs from any
/// folder: (file name, YAML).
const EXAMPLE_SHOP: [(&str, &str); 6] = [
    (
        "business.yaml",
        include_str!("../../../examples/shop/metrics/business.yaml"),
    ),
    (
        "checkout.yaml",
        include_str!("../../../examples/shop/metrics/checkout.yaml"),
    ),
    (
        "frontend.yaml",
        include_str!("../../../examples/shop/metrics/frontend.yaml"),
    ),
    (
        "payments.yaml",
        include_str!("../../../examples/shop/metrics/payments.yaml"),
    ),
    (
        "platform.yaml",
        include_str!("../../../examples/shop/metrics/platform.yaml"),
    ),
    (
        "search.yaml",
        include_str!("../../../examples/shop/metrics/search.yaml"),
    ),
];

/// Runs `demo`: simulate a CPU fault on the shop, check the map, explain revenue.
pub(crate) fn demo(args: &DemoArgs) -> Outcome {
    let catalog = match &args.catalog {
        Some(path) => path.clone(),
        None => {
            // The built-in shop, written where the demo writes; a copy already
            // there is the user's to edit, and is used as it is.
            let dir = args.output.join("shop/metrics");
            for (name, text) in EXAMPLE_SHOP {
                let path = dir.join(name);
                if path.exists() {
                    continue;
                }
                if let Err(e) = write_file(&path, text.as_bytes(), false) {
                    eprintln!("error: {e}");
                    return Outcome::Invalid;
                }
            }
            println!(
                "The example shop's map is in {} (edit it and run `whyline check --catalog {}`).\n",
                dir.display(),
                dir.display()
            );
            dir
        }
    };
    let Ok((catalog_path, checked)) = crate::load(Some(&catalog)) else {
        return Outcome::Invalid;
    };
    if !checked.is_valid() {
        eprint!(
            "{}",
            crate::diagnostics::render_human(&checked.catalog, &checked.diagnostics)
        );
        return Outcome::Invalid;
    }
    let sim = SimulateArgs {
        catalog: CatalogArg {
            catalog: Some(catalog.clone()),
        },
        random: Vec::new(),
        fault: vec!["checkout_cpu_utilization:step:8".to_string()],
        points: 1440,
        fault_age: 60,
        start: 1_772_409_600_000, // 2026-03-02T00:00:00Z
        step_seconds: 60,
        seed: 7,
        output: args.output.clone(),
        force: true,
    };
    println!(
        "== 1. whyline simulate: one day of minute data for the shop, CPU fault on the checkout hosts at 23:00\n"
    );
    let data = match simulate(&sim, Some(&checked.catalog)) {
        Ok((path, summary)) => {
            println!("{summary}\n");
            path
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Invalid;
        }
    };
    println!("== 2. whyline check --catalog {}\n", catalog_path.display());
    let check_args = CheckArgs {
        catalog: CatalogArg {
            catalog: Some(catalog_path.clone()),
        },
        format: CheckFormat::Human,
        base: None,
    };
    let _ = crate::check::run(&check_args, &checked, &catalog_path);
    println!(
        "\n== 3. whyline why revenue --catalog {} --data {}\n",
        catalog_path.display(),
        data.display()
    );
    let serve_hint = format!(
        "\n== Next: the same map live in a browser\n\n  whyline serve --catalog {} --data {}   # then open http://127.0.0.1:8080/",
        catalog_path.display(),
        data.display()
    );
    let why_args = WhyArgs {
        metric: "revenue".to_string(),
        catalog: CatalogArg {
            catalog: Some(catalog_path),
        },
        data: Some(data),
        at: None,
        lookback: 6 * 3_600_000,
        baseline: None,
        window: None,
        step: None,
        format: DataFormat::Human,
        timeout: whyline_sources::DEFAULT_DEADLINE,
    };
    let outcome = crate::why::run(&why_args, &checked);
    println!("{serve_hint}");
    outcome
}
