//! Drawing catalog diagnostics for people (miette) and for machines (JSON, GitHub).

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use whyline_catalog::{Catalog, Code, Diagnostic, Location};

use crate::contract;

/// One catalog diagnostic bound to its source text, in the shape miette draws.
#[derive(Debug)]
struct Rendered {
    message: String,
    code: &'static str,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    label: Option<LabeledSpan>,
    related: Vec<Rendered>,
    severity: miette::Severity,
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .clone()
            .map(|l| Box::new(std::iter::once(l)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

fn source_for(catalog: &Catalog, location: &Location) -> Option<NamedSource<String>> {
    let file = catalog.files.get(location.file)?;
    Some(NamedSource::new(file.path.display().to_string(), file.text.clone()).with_language("yaml"))
}

fn span(location: &Location) -> SourceSpan {
    SourceSpan::new(location.offset.into(), location.len)
}

fn to_rendered(catalog: &Catalog, diagnostic: &Diagnostic) -> Rendered {
    let (source, label) = match &diagnostic.location {
        Some(location) => (
            source_for(catalog, location),
            Some(LabeledSpan::new_primary_with_span(
                Some(short_label(diagnostic.code).to_string()),
                span(location),
            )),
        ),
        None => (None, None),
    };
    let related = diagnostic
        .related
        .iter()
        .map(|r| Rendered {
            message: r.message.clone(),
            code: "",
            help: None,
            source: source_for(catalog, &r.location),
            label: Some(LabeledSpan::new_with_span(
                Some("here".to_string()),
                span(&r.location),
            )),
            related: Vec::new(),
            severity: miette::Severity::Advice,
        })
        .collect();
    Rendered {
        message: diagnostic.message.clone(),
        code: diagnostic.code.as_str(),
        help: diagnostic.help.clone(),
        source,
        label,
        related,
        severity: miette::Severity::Error,
    }
}

/// The few words under the source excerpt; the full sentence is the headline.
fn short_label(code: Code) -> &'static str {
    match code {
        Code::Io | Code::NoFiles | Code::TooLarge => "here",
        Code::Syntax => "the YAML breaks here",
        Code::UnsupportedYaml => "not supported in a catalog",
        Code::DuplicateKey => "written again here",
        Code::UnknownField => "unknown field",
        Code::MissingField => "something is missing here",
        Code::WrongType => "wrong type",
        Code::UnsupportedVersion => "unsupported version",
        Code::BadId => "invalid id",
        Code::BadValue => "not an allowed value",
        Code::BadDuration => "not a duration",
        Code::BadThreshold => "contradictory threshold",
        Code::BadSource => "ambiguous source",
        Code::BadConnection => "unsafe or incomplete connection",
        Code::DuplicateId => "defined again here",
        Code::DuplicateConnection => "defined again here",
        Code::UnknownDriver => "no metric has this id",
        Code::DuplicateDriver => "listed again here",
        Code::UnknownConnection => "no connection has this name",
        Code::Cycle => "this edge closes a cycle with no lag",
    }
}

/// The handler used for stderr: colours only on a terminal that wants them;
/// plain Unicode and a fixed width otherwise, so snapshots and CI logs are stable.
fn handler(colour: bool) -> GraphicalReportHandler {
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_context_lines(1)
}

/// Draws every diagnostic as rustc-style text.
pub(crate) fn render_human(catalog: &Catalog, diagnostics: &[Diagnostic]) -> String {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    render_text(catalog, diagnostics, colour)
}

/// Draws every diagnostic as rustc-style text, in colour or not.
pub(crate) fn render_text(catalog: &Catalog, diagnostics: &[Diagnostic], colour: bool) -> String {
    let handler = handler(colour);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let rendered = to_rendered(catalog, diagnostic);
        if handler.render_report(&mut out, &rendered).is_err() {
            out.push_str(&diagnostic.message);
        }
        out.push('\n');
    }
    out
}

/// Where a location is, as `path`, line, column.
pub(crate) fn position(catalog: &Catalog, location: &Location) -> (String, usize, usize) {
    let path = catalog
        .path_of(location)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    (path, location.line, location.column)
}

/// A diagnostic as the contract writes it.
pub(crate) fn to_json(catalog: &Catalog, diagnostic: &Diagnostic) -> contract::check::Diagnostic {
    let (file, line, column) = match &diagnostic.location {
        Some(l) => {
            let (f, line, col) = position(catalog, l);
            (Some(f), Some(line), Some(col))
        }
        None => (None, None, None),
    };
    contract::check::Diagnostic {
        code: diagnostic.code.as_str().to_string(),
        message: diagnostic.message.clone(),
        help: diagnostic.help.clone(),
        file,
        line,
        column,
    }
}

/// Escapes a GitHub workflow-command message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a GitHub workflow-command property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` annotation line.
pub(crate) fn github_annotation(
    file: Option<(&str, usize, usize)>,
    title: &str,
    message: &str,
) -> String {
    let mut properties = Vec::new();
    if let Some((path, line, column)) = file {
        properties.push(format!("file={}", escape_property(path)));
        properties.push(format!("line={line}"));
        properties.push(format!("col={column}"));
    }
    properties.push(format!("title={}", escape_property(title)));
    format!("::error {}::{}", properties.join(","), escape_data(message))
}

/// Every diagnostic as a GitHub annotation.
pub(crate) fn render_github(catalog: &Catalog, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let place = d.location.as_ref().map(|l| position(catalog, l));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let place_ref = place.as_ref().map(|(p, l, c)| (p.as_str(), *l, *c));
        out.push_str(&github_annotation(
            place_ref,
            &format!("whyline {}", d.code.as_str()),
            &message,
        ));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_annotations_escape_separators() {
        let line = github_annotation(Some(("a,b:c.yaml", 3, 4)), "t", "50%\nnext");
        assert_eq!(
            line,
            "::error file=a%2Cb%3Ac.yaml,line=3,col=4,title=t::50%25%0Anext"
        );
    }
}
