//! `whyline import`: reads the files (and the server) a team already has,
//! drafts a catalog with `whyline_import`, and writes it without ever
//! replacing a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use whyline_import::{Call, Draft, Input, Live, SERVICE_GRAPH_SERIES, Skipped, render};

use crate::Outcome;
use crate::cli::{ImportArgs, ImportFormat};
use crate::contract::{self, import::ImportReport};

/// Files under `path` that may hold something to import, sorted.
fn files_under(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files_under(&entry, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(())
}

/// Asks a live server for its rules and service graph; what failed is
/// returned as a skipped item.
fn ask_live(url: &str, timeout: Duration) -> (Live, Vec<Skipped>) {
    let url = url.trim_end_matches('/').to_string();
    let mut live = Live {
        url: url.clone(),
        ..Live::default()
    };
    let mut skipped = Vec::new();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            skipped.push(Skipped {
                origin: url,
                reason: format!("cannot start the HTTP client: {e}"),
            });
            return (live, skipped);
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => {
            skipped.push(Skipped {
                origin: url,
                reason: format!("cannot start the HTTP client: {e}"),
            });
            return (live, skipped);
        }
    };
    let get = |path: String| {
        let client = client.clone();
        let full = format!("{url}{path}");
        async move {
            let answer = client
                .get(&full)
                .send()
                .await
                .map_err(|e| format!("cannot reach {full}: {e}"))?;
            let status = answer.status();
            let body = answer
                .bytes()
                .await
                .map_err(|e| format!("{full} broke off its answer: {e}"))?;
            if !status.is_success() {
                return Err(format!("{full} answered {status}"));
            }
            serde_json::from_slice::<serde_json::Value>(&body)
                .map_err(|e| format!("{full} did not answer JSON: {e}"))
        }
    };
    let deadline = tokio::time::Instant::now() + timeout;
    runtime.block_on(async {
        match tokio::time::timeout_at(deadline, get("/api/v1/rules".to_string())).await {
            Ok(Ok(rules)) => live.rules = Some(rules),
            Ok(Err(reason)) => skipped.push(Skipped {
                origin: format!("{url}/api/v1/rules"),
                reason,
            }),
            Err(_) => skipped.push(Skipped {
                origin: format!("{url}/api/v1/rules"),
                reason: format!("no answer within {}s", timeout.as_secs_f64()),
            }),
        }
        let series = format!("/api/v1/series?match[]={SERVICE_GRAPH_SERIES}");
        match tokio::time::timeout_at(deadline, get(series.clone())).await {
            Ok(Ok(answer)) => {
                for labels in answer
                    .get("data")
                    .and_then(|d| d.as_array())
                    .into_iter()
                    .flatten()
                {
                    let label =
                        |k: &str| labels.get(k).and_then(|v| v.as_str()).map(str::to_string);
                    if let (Some(client), Some(server)) = (label("client"), label("server")) {
                        live.calls.push(Call { client, server });
                    }
                }
            }
            Ok(Err(reason)) => skipped.push(Skipped {
                origin: format!("{url}{series}"),
                reason,
            }),
            Err(_) => skipped.push(Skipped {
                origin: format!("{url}{series}"),
                reason: format!("no answer within {}s", timeout.as_secs_f64()),
            }),
        }
    });
    (live, skipped)
}

/// What happened to one output file.
enum Written {
    New,
    Unchanged,
    Refused(String),
}

fn write_new(path: &Path, text: &str) -> Written {
    if path.exists() {
        return match std::fs::read_to_string(path) {
            Ok(existing) if existing == text => Written::Unchanged,
            _ => Written::Refused(format!(
                "`{}` exists and differs from the draft: not overwritten (move it away, or import into another folder)",
                path.display()
            )),
        };
    }
    match crate::output::write_file(path, text.as_bytes(), false) {
        Ok(()) => Written::New,
        Err(e) => Written::Refused(e),
    }
}

/// Runs `whyline import`.
pub(crate) fn run(args: &ImportArgs) -> Outcome {
    if args.paths.is_empty() && args.prometheus.is_none() {
        eprintln!(
            "error: nothing to import: name rule, SLO, Backstage, dbt or dashboard files (or folders), or --prometheus URL"
        );
        return Outcome::Invalid;
    }
    let mut inputs = Vec::new();
    for path in &args.paths {
        let mut files = Vec::new();
        if let Err(e) = files_under(path, &mut files) {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            return Outcome::Invalid;
        }
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => inputs.push(Input {
                    name: file.display().to_string(),
                    text,
                }),
                Err(e) => {
                    eprintln!("error: cannot read `{}`: {e}", file.display());
                    return Outcome::Invalid;
                }
            }
        }
    }
    let (live, mut live_skipped) = match &args.prometheus {
        Some(url) => {
            let (live, skipped) = ask_live(url, args.timeout);
            (Some(live), skipped)
        }
        None => (None, Vec::new()),
    };
    let mut draft = whyline_import::import(&inputs, live.as_ref());
    draft.skipped.append(&mut live_skipped);
    let mut written = Vec::new();
    let mut unchanged = Vec::new();
    let mut outputs: Vec<(PathBuf, String)> = draft
        .files
        .iter()
        .map(|f| (args.output.join(&f.name), render(f)))
        .collect();
    if draft.needs_prometheus() {
        outputs.push((
            args.output.join("prometheus-connection.yaml"),
            draft.connection_file(),
        ));
    }
    for (path, text) in &outputs {
        match write_new(path, text) {
            Written::New => written.push(path.display().to_string()),
            Written::Unchanged => unchanged.push(path.display().to_string()),
            Written::Refused(reason) => draft.skipped.push(Skipped {
                origin: path.display().to_string(),
                reason,
            }),
        }
    }
    // The folder must read as a valid catalog (it may hold older files too).
    let mut invalid = Vec::new();
    if !written.is_empty() || !unchanged.is_empty() {
        match whyline_catalog::load(&args.output) {
            Ok(checked) if !checked.is_valid() => {
                invalid = checked
                    .diagnostics
                    .iter()
                    .take(10)
                    .map(|d| d.message.clone())
                    .collect();
            }
            Ok(_) => {}
            Err(e) => invalid.push(e.to_string()),
        }
    }
    match args.format {
        ImportFormat::Human => print!(
            "{}",
            human(&draft, &args.output, &written, &unchanged, &invalid)
        ),
        ImportFormat::Json => {
            let value = json(&draft, &written, &unchanged, &invalid);
            match serde_json::to_string_pretty(&value) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: cannot encode JSON: {e}"),
            }
        }
    }
    if written.is_empty() && unchanged.is_empty() {
        Outcome::Invalid
    } else if !draft.skipped.is_empty() || !invalid.is_empty() {
        Outcome::Fails
    } else {
        Outcome::Ok
    }
}

fn counts(draft: &Draft) -> (usize, usize, usize) {
    let metrics = draft.files.iter().map(|f| f.metrics.len()).sum();
    let edges = draft
        .files
        .iter()
        .flat_map(|f| &f.metrics)
        .map(|m| m.drivers.len())
        .sum();
    let proposed = draft
        .files
        .iter()
        .flat_map(|f| &f.metrics)
        .flat_map(|m| &m.drivers)
        .filter(|d| d.proposed)
        .count();
    (metrics, edges, proposed)
}

fn human(
    draft: &Draft,
    dir: &Path,
    written: &[String],
    unchanged: &[String],
    invalid: &[String],
) -> String {
    use std::fmt::Write as _;
    let (metrics, edges, proposed) = counts(draft);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "whyline import: {metrics} metrics and {edges} edges ({proposed} proposed) drafted into {}",
        dir.display()
    );
    for w in written {
        let _ = writeln!(out, "  wrote {w}");
    }
    for u in unchanged {
        let _ = writeln!(out, "  unchanged {u}");
    }
    if !draft.skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped ({}):", draft.skipped.len());
        for s in &draft.skipped {
            let _ = writeln!(out, "  {}: {}", s.origin, s.reason);
        }
    }
    if !draft.warnings.is_empty() {
        let _ = writeln!(out, "\nTaken with a caveat ({}):", draft.warnings.len());
        for s in &draft.warnings {
            let _ = writeln!(out, "  {}: {}", s.origin, s.reason);
        }
    }
    if !invalid.is_empty() {
        let _ = writeln!(
            out,
            "\nThe folder does not read as a valid catalog (other files in it?):"
        );
        for i in invalid {
            let _ = writeln!(out, "  {i}");
        }
    }
    let _ = writeln!(
        out,
        "\nNext: `whyline check --catalog {0}` (every metric needs a decision a person writes), \
         then `whyline edges --catalog {0}` (which proposed edges the data supports).",
        dir.display()
    );
    out
}

fn json(
    draft: &Draft,
    written: &[String],
    unchanged: &[String],
    invalid: &[String],
) -> ImportReport {
    use contract::import::{ImportedEdge, ImportedMetric, Skipped as Item};
    let metrics = draft.files.iter().flat_map(|f| &f.metrics);
    let items = |list: &[Skipped]| -> Vec<Item> {
        list.iter()
            .map(|s| Item {
                origin: s.origin.clone(),
                reason: s.reason.clone(),
            })
            .collect()
    };
    ImportReport {
        written: written.to_vec(),
        unchanged: unchanged.to_vec(),
        metrics: metrics
            .clone()
            .map(|m| ImportedMetric {
                id: m.id.clone(),
                origin: m.origin.clone(),
                layer: m.layer.into(),
            })
            .collect(),
        edges: metrics
            .flat_map(|m| {
                m.drivers.iter().map(move |d| ImportedEdge {
                    from: d.metric.clone(),
                    to: m.id.clone(),
                    origin: d.origin.clone(),
                    proposed: d.proposed,
                })
            })
            .collect(),
        skipped: items(&draft.skipped),
        warnings: items(&draft.warnings),
        invalid: invalid.to_vec(),
    }
}
