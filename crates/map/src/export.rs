//! The map as text for docs and pull requests: Graphviz DOT and Mermaid.
//!
//! Both draw causes below effects (system at the bottom, business on top) by
//! laying out bottom-to-top with edges from driver to driven metric, so the
//! arrows read "moves". Edge labels carry the sign and any lag.

use std::fmt::Write as _;

use whyline_catalog::{Catalog, Effect, Layer};

use crate::assess::{Assessment, Verdict};
use crate::graph::MetricGraph;

/// Output syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// Which metrics to draw: all, or those connected to one metric.
pub fn focus_set(graph: &MetricGraph, focus: Option<usize>) -> Vec<bool> {
    match focus {
        None => vec![true; graph.len()],
        Some(f) => {
            let mut keep = vec![false; graph.len()];
            for m in graph.upstream(f).into_iter().chain(graph.downstream(f)) {
                keep[m] = true;
            }
            keep
        }
    }
}

fn fill(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Business => "#cfe2ff",
        Verdict::Operational => "#d1e7dd",
        Verdict::Unexplained => "#fff3cd",
        Verdict::Discard => "#f8d7da",
    }
}

fn edge_label(effect: Effect, lag: whyline_catalog::Duration) -> String {
    let sign = match effect {
        Effect::Increases => "+",
        Effect::Decreases => "−",
    };
    if lag.is_zero() {
        sign.to_string()
    } else {
        format!("{sign} {lag}")
    }
}

/// Renders the selected part of the map.
pub fn render(
    catalog: &Catalog,
    graph: &MetricGraph,
    assessments: &[Assessment],
    keep: &[bool],
    format: GraphFormat,
) -> String {
    match format {
        GraphFormat::Dot => dot(catalog, graph, assessments, keep),
        GraphFormat::Mermaid => mermaid(catalog, graph, assessments, keep),
    }
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(
    catalog: &Catalog,
    graph: &MetricGraph,
    assessments: &[Assessment],
    keep: &[bool],
) -> String {
    let mut out = String::new();
    out.push_str("digraph whyline {\n  rankdir=BT;\n  newrank=true;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\"];\n");
    for layer in Layer::ALL {
        let members: Vec<usize> = (0..catalog.metrics.len())
            .filter(|&i| keep[i] && catalog.metrics[i].layer == layer)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  subgraph cluster_{layer} {{\n    label=\"{layer}\";\n    style=dashed;\n    {{ rank=same;"
        );
        for i in members {
            let m = &catalog.metrics[i];
            let owner = m.owner.as_deref().unwrap_or("no owner");
            let _ = writeln!(
                out,
                "      \"{}\" [label=\"{}\\n{}\", fillcolor=\"{}\", tooltip=\"{}\"];",
                quote(&m.id),
                quote(&m.name),
                quote(owner),
                fill(assessments[i].verdict),
                assessments[i].verdict.as_str()
            );
        }
        out.push_str("    }\n  }\n");
    }
    for to in 0..catalog.metrics.len() {
        if !keep[to] {
            continue;
        }
        for (from, driver) in graph.driver_edges(catalog, to) {
            if !keep[from] {
                continue;
            }
            let style = if driver.effect == Effect::Decreases {
                ", color=\"#b02a37\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
                quote(&catalog.metrics[from].id),
                quote(&catalog.metrics[to].id),
                edge_label(driver.effect, driver.lag)
            );
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn mermaid(
    catalog: &Catalog,
    graph: &MetricGraph,
    assessments: &[Assessment],
    keep: &[bool],
) -> String {
    let mut out = String::from("flowchart BT\n");
    for layer in Layer::ALL {
        let members: Vec<usize> = (0..catalog.metrics.len())
            .filter(|&i| keep[i] && catalog.metrics[i].layer == layer)
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  subgraph {layer}");
        for i in members {
            let m = &catalog.metrics[i];
            // Mermaid ids must be simple; metric ids may contain `.` and `:`.
            let _ = writeln!(
                out,
                "    m{i}[\"{}\"]:::{}",
                mermaid_text(&m.name),
                assessments[i].verdict.as_str()
            );
        }
        out.push_str("  end\n");
    }
    for to in 0..catalog.metrics.len() {
        if !keep[to] {
            continue;
        }
        for (from, driver) in graph.driver_edges(catalog, to) {
            if keep[from] {
                let _ = writeln!(
                    out,
                    "  m{from} -->|\"{}\"| m{to}",
                    edge_label(driver.effect, driver.lag)
                );
            }
        }
    }
    for verdict in [
        Verdict::Business,
        Verdict::Operational,
        Verdict::Unexplained,
        Verdict::Discard,
    ] {
        let _ = writeln!(
            out,
            "  classDef {} fill:{},stroke:#555",
            verdict.as_str(),
            fill(verdict)
        );
    }
    out
}
