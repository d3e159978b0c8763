//! `whyline report`: one page where every red number carries its why.
//!
//! The HTML is self-contained (inline CSS and SVG, no script, no external
//! resource), so it opens offline and prints to PDF. Charts are drawn by
//! `plotters` on the server side: a time axis on round local times, values
//! with their unit, labelled thresholds and incident, the root cause's chart
//! beside the metric it explains.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
        args.from,
        args.to,
        args.since,
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
    let clock = Clock { grid, tz: args.tz };
    let text = match args.format {
        ReportFormat::Html => html(catalog, &entries, clock, &series, args.audience),
        ReportFormat::Md => markdown(catalog, &entries, clock),
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
    // The root's own part of the move, the number `why` and the page print
    // (the parts of every metric and the unexplained rest add up to 100%).
    let own = whyline_why::attribution::own_parts(e)
        .get(&top.metric)
        .copied()
        .unwrap_or(0.0);
    Some(format!(
        "Why: {} (root cause owned by {owner}; its own move accounts for ~{:.0}% of the move).",
        path.join(" ← "),
        own * 100.0
    ))
}

/// The Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008):
/// told apart by readers with any common colour-vision deficiency, and in grey.
mod palette {
    use plotters::style::RGBColor;
    /// The metric's own line (blue).
    pub(super) const SERIES: RGBColor = RGBColor(0, 114, 178);
    /// The red threshold (vermillion).
    pub(super) const RED: RGBColor = RGBColor(213, 94, 0);
    /// The amber threshold (orange).
    pub(super) const AMBER: RGBColor = RGBColor(230, 159, 0);
    /// The incident band: vermillion, faded.
    pub(super) const INCIDENT: RGBColor = RGBColor(251, 228, 212);
    /// Grid lines and axes: light enough to stay behind the data.
    pub(super) const GRID: RGBColor = RGBColor(232, 232, 232);
    /// Tick labels and captions.
    pub(super) const TEXT: RGBColor = RGBColor(68, 68, 68);
}

/// How a chart's times are written: the report's time zone and the span
/// shown, which decides between clock times and dates on the axis.
#[derive(Clone, Copy)]
struct Clock {
    grid: Grid,
    tz: chrono::FixedOffset,
}

impl Clock {
    /// The local time of point `i` of the grid.
    fn at(&self, i: usize) -> chrono::DateTime<chrono::FixedOffset> {
        let ms = self.grid.start + i as i64 * self.grid.step;
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.tz)
    }

    /// Grid points where ticks fall on round local times (every 1, 2, 3, 6
    /// or 12 hours, or every 1, 2 or 7 days), at most `most` of them.
    fn ticks(&self, most: usize) -> Vec<usize> {
        const HOUR: i64 = 3_600_000;
        let span = self.grid.step * self.grid.len as i64;
        let every = [
            HOUR / 4,
            HOUR / 2,
            HOUR,
            2 * HOUR,
            3 * HOUR,
            6 * HOUR,
            12 * HOUR,
            24 * HOUR,
            48 * HOUR,
            168 * HOUR,
        ]
        .into_iter()
        .find(|e| span / e < most.max(1) as i64)
        .unwrap_or(span.max(1));
        let offset = i64::from(self.tz.local_minus_utc()) * 1000;
        // The first round local time at or after the start.
        let local_start = self.grid.start + offset;
        let first = local_start.div_euclid(every) * every
            + every * i64::from(local_start.rem_euclid(every) != 0);
        (0..)
            .map(|k| first + k * every - offset)
            .take_while(|t| *t < self.grid.start + span)
            .filter_map(|t| usize::try_from((t - self.grid.start) / self.grid.step.max(1)).ok())
            .collect()
    }

    /// A tick label: the clock time over a day or less, else the date (and
    /// the time where it is not midnight) over longer spans.
    fn tick(&self, i: usize) -> String {
        let span_ms = self.grid.step * self.grid.len as i64;
        let t = self.at(i);
        if span_ms <= 36 * 3_600_000 {
            t.format("%H:%M").to_string()
        } else if span_ms <= 4 * 86_400_000 {
            t.format("%-d %b %H:%M").to_string()
        } else {
            t.format("%-d %b").to_string()
        }
    }

    /// A time as a reader writes it in a sentence: `23:02`, with the date when
    /// the report spans more than a day (`3 Mar 23:02`).
    fn moment(&self, i: usize) -> String {
        let t = self.at(i);
        if self.grid.step * self.grid.len as i64 > 86_400_000 {
            t.format("%-d %b %H:%M").to_string()
        } else {
            t.format("%H:%M").to_string()
        }
    }
}

/// A value on an axis or a label: the CLI's rounding and thousands
/// separators, with the metric's unit.
fn with_unit(v: f64, unit: &str) -> String {
    let n = crate::why::number(v);
    match unit {
        "" => n,
        "%" => format!("{n}%"),
        u => format!("{n} {u}"),
    }
}

/// What a chart shows besides the series.
struct Marks<'a> {
    /// Threshold lines: (value, label, colour).
    thresholds: Vec<(f64, String, RGBColor)>,
    /// The incident, shaded and labelled with its start.
    incident: Option<std::ops::Range<usize>>,
    /// A caption in the chart's top left corner.
    caption: Option<&'a str>,
}

/// The thresholds of metric `m` as labelled lines (`red < 12,000 USD`).
fn threshold_marks(catalog: &Catalog, m: usize) -> Vec<(f64, String, RGBColor)> {
    let metric = &catalog.metrics[m];
    let unit = metric.unit.as_deref().unwrap_or("");
    let Some(t) = metric.thresholds.as_ref() else {
        return Vec::new();
    };
    [
        t.red.map(|b| ("red", b, palette::RED)),
        t.amber.map(|b| ("amber", b, palette::AMBER)),
    ]
    .into_iter()
    .flatten()
    .map(|(word, bound, colour)| {
        let (v, sign) = match bound {
            Bound::Below(v) => (v, "<"),
            Bound::Above(v) => (v, ">"),
        };
        (v, format!("{word} {sign} {}", with_unit(v, unit)), colour)
    })
    .collect()
}

/// A time-series chart as an SVG string, in the manner of a printed Grafana
/// panel: a time axis in the report's zone, values with the unit, light grid,
/// labelled thresholds, the incident shaded and labelled with its start.
fn plot(values: &[f64], unit: &str, clock: Clock, marks: &Marks, size: (u32, u32)) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let (mut lo, mut hi) = values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        for (v, _, _) in &marks.thresholds {
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
        // Room above the data for the captions and labels.
        let (lo, hi) = (lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.22);
        let n = values.len().max(2);
        let label_width = values
            .iter()
            .chain([lo, hi].iter())
            .filter(|v| v.is_finite())
            .map(|v| with_unit(*v, unit).len())
            .max()
            .unwrap_or(6) as u32;
        let right_margin = marks
            .thresholds
            .iter()
            .map(|(_, label, _)| 10 + 6 * label.len() as u32)
            .max()
            .unwrap_or(14);
        let text = |px: u32| ("sans-serif", px).into_font().color(&palette::TEXT);
        let chart = ChartBuilder::on(&root)
            .margin(6)
            .margin_top(if marks.caption.is_some() { 22 } else { 6 })
            .margin_right(right_margin)
            .x_label_area_size(22)
            .y_label_area_size(12 + 6 * label_width)
            .build_cartesian_2d(0usize..n, lo..hi);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        if let Some(r) = &marks.incident {
            let _ = chart.draw_series(std::iter::once(Rectangle::new(
                [(r.start.min(n), lo), (r.end.min(n), hi)],
                palette::INCIDENT.filled(),
            )));
        }
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .y_labels(4)
            // plotters overflows on zero labels: two, written blank.
            .x_labels(2)
            .x_label_formatter(&|_| String::new())
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(palette::GRID.stroke_width(1))
            .axis_style(palette::GRID.stroke_width(1))
            .label_style(text(11))
            .y_label_formatter(&|v| with_unit(*v, unit))
            .draw();
        // Time ticks on round local times, drawn here because the axis counts
        // grid points, whose even spacing falls on odd minutes.
        for i in clock.ticks((size.0 / 100).max(2) as usize) {
            let (x, y) = chart.backend_coord(&(i, lo));
            let _ = root.draw(&PathElement::new(
                [(x, y), (x, y + 4)],
                palette::TEXT.stroke_width(1),
            ));
            let _ = root.draw(&Text::new(
                clock.tick(i),
                (x, y + 6),
                text(11).pos(Pos::new(HPos::Center, VPos::Top)),
            ));
        }
        for (v, label, colour) in &marks.thresholds {
            let _ = chart.draw_series(DashedLineSeries::new(
                [(0, *v), (n, *v)],
                6,
                4,
                colour.stroke_width(1),
            ));
            // In the right margin, clear of the data and the incident.
            let (x, y) = chart.backend_coord(&(n, *v));
            let _ = root.draw(&Text::new(
                label.clone(),
                (x + 4, y),
                ("sans-serif", 11)
                    .into_font()
                    .color(colour)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ));
        }
        let points = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| (i, *v));
        let _ = chart.draw_series(LineSeries::new(points, palette::SERIES.stroke_width(2)));
        if let Some(r) = &marks.incident {
            // Beside the band's start, on the side with room.
            let (x, y) = chart.backend_coord(&(r.start.min(n), hi));
            let (dx, side) = if r.start * 2 > n {
                (-4, HPos::Right)
            } else {
                (4, HPos::Left)
            };
            let _ = root.draw(&Text::new(
                format!("incident from {}", clock.moment(r.start)),
                (x + dx, y + 2),
                ("sans-serif", 11)
                    .into_font()
                    .color(&palette::RED)
                    .pos(Pos::new(side, VPos::Top)),
            ));
        }
        if let Some(caption) = marks.caption {
            let _ = root.draw(&Text::new(
                caption.to_string(),
                (size.0 as i32 / 2, 4),
                text(12).pos(Pos::new(HPos::Center, VPos::Top)),
            ));
        }
        let _ = root.present();
    }
    svg
}

/// The report's title, as a person would write it: the period, then the
/// first red (else amber) metric shown, since when, and its root cause
/// ("Week of 2 March 2026: revenue red since 23:02, root cause checkout CPU").
fn title(catalog: &Catalog, entries: &[Entry], clock: Clock) -> String {
    let first = clock.at(0);
    let last = clock.at(clock.grid.len.saturating_sub(1));
    let span_ms = clock.grid.step * clock.grid.len as i64;
    let period = if (6 * 86_400_000..=8 * 86_400_000).contains(&span_ms) {
        format!("Week of {}", first.format("%-d %B %Y"))
    } else if first.date_naive() == last.date_naive() {
        first.format("%-d %B %Y").to_string()
    } else {
        format!(
            "{} to {}",
            first.format("%-d %B %Y"),
            last.format("%-d %B %Y")
        )
    };
    let worst = [Status::Red, Status::Amber]
        .iter()
        .find_map(|s| entries.iter().find(|e| e.answer.status == *s));
    let headline = match worst {
        Some(e) => {
            let name = &catalog.metrics[e.metric].name;
            let word = status_word(e.answer.status);
            let since = e
                .answer
                .windows
                .as_ref()
                .map(|w| format!(" since {}", clock.moment(w.incident.start)))
                .unwrap_or_default();
            let cause = match e.answer.causes.first() {
                Some(c) if c.metric != e.metric => {
                    format!(", root cause {}", catalog.metrics[c.metric].name)
                }
                _ => ", not explained by the map".to_string(),
            };
            format!("{name} {word}{since}{cause}")
        }
        None if entries.iter().any(|e| e.answer.status == Status::Unknown) => {
            let missing = entries
                .iter()
                .filter(|e| e.answer.status == Status::Unknown)
                .count();
            format!("nothing red or amber; {missing} metrics without data")
        }
        None => "every metric green".to_string(),
    };
    format!("{period}: {headline}")
}

fn html<'a>(
    catalog: &Catalog,
    entries: &[Entry],
    clock: Clock,
    series: &dyn Fn(usize) -> Option<&'a [f64]>,
    audience: Audience,
) -> String {
    let mut out = String::new();
    let title = title(catalog, entries, clock);
    let period = format!(
        "{} to {} ({})",
        format_time(clock.grid.start),
        format_time(clock.grid.range().end),
        zone_name(clock.tz)
    );
    // Print: A4 and Letter both fit 180 mm; a section (its charts with it)
    // never breaks across pages.
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\nbody{{font-family:system-ui,sans-serif;margin:2em auto;max-width:960px;padding:0 1em;color:#222}}\nh1{{font-size:1.5em;margin:0 0 0.2em}}\n.period{{color:#555;margin:0 0 1em}}\nsection{{border-top:1px solid #ddd;padding:0.8em 0;break-inside:avoid;page-break-inside:avoid}}\nh2{{margin:0;font-size:1.1em}}\n.status{{display:inline-block;padding:0.1em 0.6em;border-radius:0.8em;font-weight:600;text-transform:uppercase;font-size:0.8em}}\n.red{{background:#fbe4d4;color:#8a3300}}.amber{{background:#fdf0d2;color:#6b4a00}}.green{{background:#d8ecf7;color:#00466e}}.nodata{{background:#eee;color:#555}}\n.charts{{display:flex;flex-wrap:wrap;gap:0.5em;align-items:flex-start}}\n.charts svg{{max-width:100%;height:auto}}\n.chart{{flex:2 1 560px}}.root{{flex:1 1 300px}}\n.why{{margin:0.3em 0}}\n@page{{size:auto;margin:15mm}}\n@media print{{body{{margin:0;max-width:none;padding:0}}.chart,.root{{flex-basis:auto}}}}\n</style></head><body>\n<h1>{}</h1>\n<p class=\"period\">{}. Audience: {}. Every red or amber metric carries its why.</p>\n",
        escape(&title),
        escape(&title),
        escape(&period),
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
        let unit = m.unit.as_deref().unwrap_or("");
        let _ = write!(
            out,
            "<section class=\"metric\" data-metric=\"{}\" data-status=\"{}\">\n<h2 class=\"title\">{}</h2>\n<p><span class=\"status {class}\">{}</span> ",
            escape(&m.id),
            escape(status),
            escape(&m.name),
            escape(status)
        );
        if let Some(c) = &e.answer.change {
            let _ = write!(
                out,
                "{} (baseline {}). ",
                escape(&with_unit(c.observed, unit)),
                escape(&with_unit(c.baseline, unit))
            );
        }
        let _ = writeln!(
            out,
            "Owner: {}.</p>",
            escape(m.owner.as_deref().unwrap_or("no owner"))
        );
        let troubled = matches!(e.answer.status, Status::Red | Status::Amber);
        let incident = e
            .answer
            .windows
            .as_ref()
            .filter(|_| troubled)
            .map(|w| w.incident.clone());
        out.push_str("<div class=\"charts\">\n");
        if let Some(values) = series(e.metric) {
            let marks = Marks {
                thresholds: threshold_marks(catalog, e.metric),
                incident: incident.clone(),
                caption: None,
            };
            let _ = writeln!(
                out,
                "<div class=\"chart\">{}</div>",
                plot(values, unit, clock, &marks, (620, 190))
            );
        }
        // The root cause's own chart beside the metric it explains.
        let root = e
            .answer
            .causes
            .first()
            .filter(|c| troubled && c.metric != e.metric);
        if let Some((c, values)) = root.and_then(|c| series(c.metric).map(|v| (c, v))) {
            let r = &catalog.metrics[c.metric];
            let caption = format!("root cause: {}", r.name);
            let marks = Marks {
                thresholds: threshold_marks(catalog, c.metric),
                incident: incident.clone(),
                caption: Some(&caption),
            };
            let _ = writeln!(
                out,
                "<div class=\"root\" data-root=\"{}\">{}</div>",
                escape(&r.id),
                plot(
                    values,
                    r.unit.as_deref().unwrap_or(""),
                    clock,
                    &marks,
                    (320, 190)
                )
            );
        }
        out.push_str("</div>\n");
        if let Some(why) = why_line(catalog, &e.answer) {
            let _ = writeln!(out, "<p class=\"why\">{}</p>", escape(&why));
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// `UTC`, or the offset as written (`+02:00`).
fn zone_name(tz: chrono::FixedOffset) -> String {
    if tz.local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        tz.to_string()
    }
}

fn markdown(catalog: &Catalog, entries: &[Entry], clock: Clock) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {}\n\n{} to {} ({}).\n",
        title(catalog, entries, clock),
        format_time(clock.grid.start),
        format_time(clock.grid.range().end),
        zone_name(clock.tz)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse_zone;

    /// 2 March 2026 00:00 UTC, in ms.
    const MARCH_2: i64 = 1_772_409_600_000;

    fn clock(step_minutes: i64, len: usize, tz: &str) -> Clock {
        Clock {
            grid: Grid {
                start: MARCH_2,
                step: step_minutes * 60_000,
                len,
            },
            tz: parse_zone(tz).expect("zone"),
        }
    }

    #[test]
    fn zones_are_utc_or_an_offset_and_anything_else_says_what_to_write() {
        assert_eq!(parse_zone("UTC").map(|z| z.local_minus_utc()), Ok(0));
        assert_eq!(parse_zone("+01:00").map(|z| z.local_minus_utc()), Ok(3600));
        assert_eq!(
            parse_zone("-0530").map(|z| z.local_minus_utc()),
            Ok(-19_800)
        );
        assert_eq!(parse_zone("+09").map(|z| z.local_minus_utc()), Ok(32_400));
        for bad in ["Europe/Berlin", "+1", "+25:00", "01:00", "+01:60", ""] {
            let e = parse_zone(bad).expect_err(bad);
            assert!(e.contains("+01:00"), "{bad}: {e}");
        }
    }

    #[test]
    fn ticks_fall_on_round_local_times() {
        // A day at one minute: every 6 hours at most 6 ticks.
        let utc = clock(1, 1440, "UTC");
        let ticks = utc.ticks(6);
        let labels: Vec<String> = ticks.iter().map(|i| utc.tick(*i)).collect();
        assert_eq!(labels, ["00:00", "06:00", "12:00", "18:00"]);
        // Ninety minutes east, the round times are local ones.
        let east = clock(1, 1440, "+01:30");
        let labels: Vec<String> = east.ticks(6).iter().map(|i| east.tick(*i)).collect();
        assert_eq!(labels, ["06:00", "12:00", "18:00", "00:00"]);
        assert_eq!(east.ticks(6)[0], 270, "06:00 local is 04:30 UTC");
        // A week at five minutes: dates.
        let week = clock(5, 7 * 288, "UTC");
        let labels: Vec<String> = week.ticks(8).iter().map(|i| week.tick(*i)).collect();
        assert_eq!(
            labels,
            [
                "2 Mar", "3 Mar", "4 Mar", "5 Mar", "6 Mar", "7 Mar", "8 Mar"
            ]
        );
    }

    #[test]
    fn values_carry_the_unit_with_the_cli_s_rounding() {
        assert_eq!(with_unit(12_000.0, "USD/h"), "12,000 USD/h");
        assert_eq!(with_unit(99.5, "%"), "99.5%");
        assert_eq!(with_unit(-0.000_01, "ratio"), "0.000 ratio");
        assert_eq!(with_unit(0.25, ""), "0.250");
    }

    #[test]
    fn the_title_names_the_period_the_worst_metric_since_when_and_its_root() {
        let checked = whyline_catalog::parse(vec![whyline_catalog::SourceFile {
            path: "m.yaml".into(),
            text: "version: 1\nmetrics:\n  - id: revenue\n    name: Revenue\n    layer: business\n    owner: growth\n    decision: Whether to keep the price\n    good: higher\n    thresholds: {red: {below: 80}}\n    drivers: [{metric: cpu, effect: decreases}]\n  - id: cpu\n    name: Checkout CPU\n    layer: system\n    owner: checkout\n    decision: How much capacity checkout gets\n    good: lower\n".into(),
        }]);
        assert!(checked.is_valid(), "{:?}", checked.diagnostics);
        let catalog = checked.catalog;
        // CPU steps up at 23:00; revenue falls below its red line after it.
        let cpu: Vec<f64> = (0..1440)
            .map(|i| 0.4 + 0.02 * (i as f64 * 2.3).sin() + if i >= 1380 { 0.4 } else { 0.0 })
            .collect();
        let revenue: Vec<f64> = (0..1440)
            .map(|i| 100.0 + 2.0 * (i as f64 * 1.7).sin() - if i >= 1381 { 40.0 } else { 0.0 })
            .collect();
        let series = |m: usize| {
            Some(if m == 0 {
                revenue.as_slice()
            } else {
                cpu.as_slice()
            })
        };
        let graph = MetricGraph::new(&catalog);
        let settings = whyline_why::Settings::default();
        let answer = explain(&catalog, &graph, &series, 0, None, None, &settings);
        assert_eq!(answer.status, Status::Red, "{}", answer.reason);
        let red = vec![Entry { metric: 0, answer }];
        let day = clock(1, 1440, "UTC");
        let text = title(&catalog, &red, day);
        assert!(
            text.starts_with("2 March 2026: Revenue red since 23:0")
                && text.ends_with(", root cause Checkout CPU"),
            "{text}"
        );
        let week = clock(5, 7 * 288, "UTC");
        assert!(title(&catalog, &red, week).starts_with("Week of 2 March 2026: "));
        let quiet = explain(&catalog, &graph, &|_| None, 0, None, None, &settings);
        let unknown = vec![Entry {
            metric: 0,
            answer: quiet,
        }];
        assert_eq!(
            title(&catalog, &unknown, day),
            "2 March 2026: nothing red or amber; 1 metrics without data"
        );
    }
}
