//! Scale benchmark for issue "the metric map as code": load and check a generated
//! catalog of 100,000 metrics and 300,000 edges spread over 1,000 files.
//!
//! Prints the time of each phase in-process, then the end-to-end time and peak
//! resident memory of `whyline check --format json` as a user would run it.
//! Run with `cargo bench -p whyline --bench catalog_scale`; set
//! `WHYLINE_BENCH_METRICS` to change the size (edges are always 3 per metric).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 1_000;
const DRIVERS_PER_METRIC: usize = 3;

/// A cheap deterministic hash so the catalog is the same on every run.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

/// Writes the catalog: the first 10% of metrics are business, the next 30%
/// service, the rest system. Drivers point to later (lower) metrics; the few
/// that wrap around to earlier ones carry a lag, so cycles are legal.
fn generate(dir: &Path, metrics: usize) -> std::io::Result<u64> {
    let per_file = metrics.div_ceil(FILES);
    let mut bytes = 0u64;
    for file in 0..FILES {
        let mut text = String::with_capacity(per_file * 400);
        let _ = writeln!(
            text,
            "version: 1\ndefaults:\n  owner: team-{}\n  service: svc-{}\nmetrics:",
            file % 50,
            file
        );
        for k in file * per_file..((file + 1) * per_file).min(metrics) {
            let layer = if k < metrics / 10 {
                "business"
            } else if k < metrics * 4 / 10 {
                "service"
            } else {
                "system"
            };
            let _ = writeln!(
                text,
                "  - id: m{k}\n    name: Metric {k}\n    description: Generated metric number {k}\n    layer: {layer}\n    unit: ms\n    good: lower"
            );
            if layer == "business" {
                let _ = writeln!(
                    text,
                    "    decision: Whether to invest in area {k}\n    audience: [leadership]\n    thresholds:\n      red: {{ above: 900 }}\n      amber: {{ above: 800 }}"
                );
            }
            let _ = writeln!(text, "    drivers:");
            for d in 0..DRIVERS_PER_METRIC {
                let step =
                    1 + (mix((k * DRIVERS_PER_METRIC + d) as u64) % 2_000) as usize + d * 2_000;
                let target = (k + step) % metrics;
                let lag = if target < k { "\n        lag: 5m" } else { "" };
                let _ = writeln!(
                    text,
                    "      - metric: m{target}\n        effect: increases{lag}"
                );
            }
        }
        bytes += text.len() as u64;
        std::fs::write(dir.join(format!("team_{file:04}.yaml")), text)?;
    }
    Ok(bytes)
}

fn peak_rss_of_children_kib() -> i64 {
    // SAFETY: getrusage only writes into the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    }
}

fn main() {
    let metrics: usize = std::env::var("WHYLINE_BENCH_METRICS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let bytes = generate(dir.path(), metrics).expect("write catalog");
    println!(
        "catalog_scale: {metrics} metrics, {} edges, {FILES} files, {:.1} MiB of YAML (generated in {:.2?})",
        metrics * DRIVERS_PER_METRIC,
        bytes as f64 / 1048576.0,
        started.elapsed()
    );

    let t = Instant::now();
    let checked = whyline_catalog::load(dir.path()).expect("load");
    let load_time = t.elapsed();
    assert!(
        checked.is_valid(),
        "generated catalog must be valid: {:?}",
        checked.diagnostics.first()
    );
    let edges: usize = checked
        .catalog
        .metrics
        .iter()
        .map(|m| m.drivers.len())
        .sum();
    assert_eq!(edges, metrics * DRIVERS_PER_METRIC);
    let t = Instant::now();
    let assessed = whyline_map::Assessed::new(&checked.catalog);
    let assess_time = t.elapsed();
    let kept = assessed
        .assessments
        .iter()
        .filter(|a| a.verdict.is_keep())
        .count();
    println!(
        "  in-process: read+parse+validate {load_time:.2?}, two tests {assess_time:.2?} ({kept} kept)"
    );
    drop(assessed);
    drop(checked);

    let runs = 3;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_whyline"))
            .args(["check", "--format", "json", "--catalog"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run whyline");
        times.push(t.elapsed());
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "check must succeed on a valid catalog: {status}"
        );
    }
    times.sort();
    let median: Duration = times[runs / 2];
    let rss_mib = peak_rss_of_children_kib() as f64 / 1024.0;
    println!(
        "  whyline check --format json: median {median:.2?} of {runs} (min {:.2?}, max {:.2?}), peak RSS {rss_mib:.0} MiB",
        times[0],
        times[runs - 1]
    );
    println!(
        "  targets: < 2 s and < 1024 MiB -> {}",
        if median < Duration::from_secs(2) && rss_mib < 1024.0 {
            "met"
        } else {
            "MISSED"
        }
    );
}
