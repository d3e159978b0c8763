//! `whyline graph`: the map as DOT or Mermaid.

use whyline_catalog::{Checked, diagnostic::did_you_mean};
use whyline_map::{Assessed, GraphFormat, focus_set, render};

use crate::Outcome;
use crate::cli::{GraphArgs, GraphFormatArg};

/// Runs the command; returns the exit code.
pub(crate) fn run(args: &GraphArgs, checked: &Checked) -> Outcome {
    let catalog = &checked.catalog;
    if let Err(outcome) = crate::common::require_valid(checked) {
        return outcome;
    }
    let assessed = Assessed::new(catalog);
    let focus = match &args.focus {
        None => None,
        Some(id) => match catalog.index_of(id) {
            Some(i) => Some(i),
            None => {
                let hint = match did_you_mean(id, catalog.metrics.iter().map(|m| m.id.as_str())) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "run `whyline check` to list the metric ids".to_string(),
                };
                eprintln!("error: no metric `{id}` in the catalog: {hint}");
                return Outcome::Invalid;
            }
        },
    };
    let keep = focus_set(&assessed.graph, focus);
    let format = match args.format {
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
    };
    print!(
        "{}",
        render(
            catalog,
            &assessed.graph,
            &assessed.assessments,
            &keep,
            format
        )
    );
    Outcome::Ok
}
