//! `whyline report`: one page where every red number carries its why.
//!
//! The HTML is self-contained (inline CSS and SVG, no script, no external
//! resource), so it opens offline and prints to PDF. Plots are drawn by
//! `plotters` on the server side, with thresholds and the incident shaded.

use std::fmt::Write as _;

use plotters::prelude::*;
use whyline_catalog::{Bound, Catalog, Checked, Layer};
use whyline_map::MetricGraph;
use whyline_series::{Grid, format_time};
use whyline_why::{Explanation, Status, explain};

use crate::cli::{Audience, ReportArgs, ReportFormat};
use crate::output::write_file;
use crate::{Outcome, common};

/// Escapes text for HTML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One metric's section.
struct Entry {
    metric: usize,
    answer: Explanation,
}

/// Runs the command.
pub(crate) fn run(args: &ReportArgs, checked: &Checked) -> Outcome {
    match render(args, checked) {
        Ok(()) => Outcome::Ok,
        Err(outcome) => outcome,
    }
}

fn render(args: &ReportArgs, checked: &Checked) -> Result<(), Outcome> {
    let catalog = &checked.catalog;
    common::require_valid(checked)?;
    let range = common::period(
        args.from.as_deref(),
        args.to.as_deref(),
        args.since.as_deref(),
        common::reads_history(catalog, args.data.as_deref()),
    )?;
    let (data, grid) = common::fetch_all(catalog, range, args.data.clone(), args.timeout)?;
    let graph = MetricGraph::new(catalog);
    let by_metric = common::by_metric(catalog, &data);
    let series = |m: usize| by_metric.get(&m).copied();
    let settings = crate::why::settings_for(grid);
    let shown = |layer: Layer| match args.audience {
        Audience::Leadership => layer == Layer::Business,
        Audience::Manager => layer != Layer::System,
        Audience::Engineering => true,
    };
    let mut order: Vec<usize> = (0..catalog.metrics.len())
        .filter(|&m| shown(catalog.metrics[m].layer))
        .collect();
    order.sort_by_key(|&m| (catalog.metrics[m].layer, m));
    let entries: Vec<Entry> = order
        .into_iter()
        .map(|m| Entry {
            metric: m,
            answer: explain(catalog, &graph, &series, m, None, None, &settings),
        })
        .collect();
    let text = match args.format {
        ReportFormat::Html => html(catalog, &entries, &grid, &series, args.audience),
        ReportFormat::Md => markdown(catalog, &entries, &grid),
    };
    // `-o -` is standard output, as for most Unix tools (not a file named `-`).
    if args.output.as_os_str() == "-" {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            eprintln!("error: cannot write the report to standard output: {e}");
            return Err(Outcome::Invalid);
        }
        eprintln!(
            "wrote the report to standard output ({} metrics)",
            entries.len()
        );
    } else {
        if let Err(e) = write_file(&args.output, text.as_bytes(), args.force) {
            eprintln!("error: {e}");
            return Err(Outcome::Invalid);
        }
        eprintln!(
            "wrote {} ({} metrics)",
            args.output.display(),
            entries.len()
        );
    }
    common::report_missing(&data);
    Ok(())
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Red => "red",
        Status::Amber => "amber",
        Status::Green => "green",
        Status::Unknown => "no data",
    }
}

/// The why of one red or amber metric, in words.
fn why_line(catalog: &Catalog, e: &Explanation) -> Option<String> {
    if !matches!(e.status, Status::Red | Status::Amber) {
        return None;
    }
    let id = |m: usize| catalog.metrics[m].name.as_str();
    let top = e.causes.first()?;
    if top.metric == e.target {
        let owner = catalog.metrics[e.target]
            .owner
            .as_deref()
            .unwrap_or("no owner");
        return Some(format!(
            "Not explained by the map: mapping work owed by {owner}."
        ));
    }
    let path: Vec<&str> = top.path.iter().map(|m| id(*m)).collect();
    let owner = catalog.metrics[top.metric]
        .owner
        .as_deref()
        .unwrap_or("no owner");
    Some(format!(
        "Why: {} (root cause owned by {owner}; explains ~{:.0}% of the move).",
        path.join(" ← "),
        top.explained * 100.0
    ))
}

/// A trend plot as an SVG string: the series, its thresholds, the incident shaded.
fn plot(catalog: &Catalog, m: usize, values: &[f64], e: &Explanation) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 160)).into_drawing_area();
        let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let (mut lo, mut hi) = present
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let thresholds: Vec<(f64, RGBColor)> = [
            catalog.metrics[m]
                .thresholds
                .as_ref()
                .and_then(|t| t.red)
                .map(|b| (b, RGBColor(200, 40, 40))),
            catalog.metrics[m]
                .thresholds
                .as_ref()
                .and_then(|t| t.amber)
                .map(|b| (b, RGBColor(220, 150, 0))),
        ]
        .into_iter()
        .flatten()
        .map(|(b, c)| {
            (
                match b {
                    Bound::Below(v) | Bound::Above(v) => v,
                },
                c,
            )
        })
        .collect();
        for (v, _) in &thresholds {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        if !(lo.is_finite() && hi.is_finite()) {
            drop(root);
            return String::new();
        }
        if hi <= lo {
            hi = lo + 1.0;
        }
        let pad = (hi - lo) * 0.05;
        let n = values.len().max(2);
        let chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(0)
            .y_label_area_size(48)
            .build_cartesian_2d(0usize..n, (lo - pad)..(hi + pad));
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let _ = chart.configure_mesh().disable_x_mesh().y_labels(4).draw();
        if let Some(w) = &e.windows {
            if matches!(e.status, Status::Red | Status::Amber) {
                let _ = chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (w.incident.start, lo - pad),
                        (w.incident.end.min(n), hi + pad),
                    ],
                    RGBColor(255, 220, 220).filled(),
                )));
            }
        }
        for (v, colour) in &thresholds {
            let _ = chart.draw_series(LineSeries::new([(0, *v), (n, *v)], colour.stroke_width(1)));
        }
        let points = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (i, *v));
        let _ = chart.draw_series(LineSeries::new(points, BLUE.stroke_width(2)));
        let _ = root.present();
    }
    svg
}

fn html<'a>(
    catalog: &Catalog,
    entries: &[Entry],
    grid: &Grid,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    audience: Audience,
) -> String {
    let mut out = String::new();
    let title = format!(
        "Metrics report, {} to {}",
        format_time(grid.start),
        format_time(grid.range().end)
    );
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\nbody{{font-family:system-ui,sans-serif;margin:2em auto;max-width:720px;color:#222}}\nsection{{border-top:1px solid #ddd;padding:0.8em 0;page-break-inside:avoid}}\nh2{{margin:0;font-size:1.1em}}\n.status{{display:inline-block;padding:0.1em 0.6em;border-radius:0.8em;font-weight:600;text-transform:uppercase;font-size:0.8em}}\n.red{{background:#f8d7da;color:#842029}}.amber{{background:#fff3cd;color:#664d03}}.green{{background:#d1e7dd;color:#0f5132}}.nodata{{background:#eee;color:#555}}\n.why{{margin:0.3em 0}}\n@media print{{body{{margin:0}}}}\n</style></head><body>\n<h1>{}</h1>\n<p>Audience: {}. Every red or amber metric carries its why.</p>\n",
        escape(&title),
        escape(&title),
        match audience {
            Audience::Leadership => "leadership",
            Audience::Manager => "managers",
            Audience::Engineering => "engineering",
        }
    );
    for e in entries {
        let m = &catalog.metrics[e.metric];
        let status = status_word(e.answer.status);
        let class = if e.answer.status == Status::Unknown {
            "nodata"
        } else {
            status
        };
        let _ = write!(
            out,
            "<section class=\"metric\" data-metric=\"{}\" data-status=\"{}\">\n<h2 class=\"title\">{}</h2>\n<p><span class=\"status {class}\">{}</span> ",
            escape(&m.id),
            escape(status),
            escape(&m.name),
            escape(status)
        );
        if let Some(c) = &e.answer.change {
            let unit = m.unit.as_deref().unwrap_or("");
            let _ = write!(
                out,
                "{} {} (baseline {}). ",
                crate::why::number(c.observed),
                escape(unit),
                crate::why::number(c.baseline)
            );
        }
        let _ = writeln!(
            out,
            "Owner: {}.</p>",
            escape(m.owner.as_deref().unwrap_or("no owner"))
        );
        if let Some(values) = series(e.metric) {
            out.push_str(&plot(catalog, e.metric, values, &e.answer));
            out.push('\n');
        }
        if let Some(why) = why_line(catalog, &e.answer) {
            let _ = writeln!(out, "<p class=\"why\">{}</p>", escape(&why));
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn markdown(catalog: &Catalog, entries: &[Entry], grid: &Grid) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Metrics report, {} to {}\n",
        format_time(grid.start),
        format_time(grid.range().end)
    );
    for e in entries {
        let m = &catalog.metrics[e.metric];
        let _ = writeln!(
            out,
            "## {} — {}\n",
            m.name,
            status_word(e.answer.status).to_uppercase()
        );
        if let Some(why) = why_line(catalog, &e.answer) {
            let _ = writeln!(out, "{why}\n");
        }
    }
    out
}
