//! A small spanned YAML tree built from `saphyr-parser` events.
//!
//! We do not deserialize with serde because serde stops at the first error;
//! walking our own tree lets the schema pass report every problem in a file,
//! each at its exact location. The tree keeps duplicate keys (so they can be
//! reported) and rejects aliases (so a small file cannot expand into a huge one).

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use crate::diagnostic::{Code, Diagnostic, FileId, Location};

/// Deepest nesting accepted; catalogs need about 6 levels.
const MAX_DEPTH: usize = 64;

/// How a scalar was written, which decides whether `123` is a number or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted: subject to null/bool/number resolution.
    Plain,
    /// Quoted or block: always text.
    Quoted,
}

/// The content of a node.
#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar with its raw text.
    Scalar(String, Style),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in source order; duplicate keys are kept.
    Map(Vec<(Node, Node)>),
}

/// A YAML node and where it starts in its file.
#[derive(Debug, Clone)]
pub struct Node {
    /// The content.
    pub value: Value,
    /// Where the node starts.
    pub location: Location,
}

impl Node {
    /// Human name of the node's YAML type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(text, Style::Plain) => match resolve_plain(text) {
                Plain::Null => "null",
                Plain::Bool(_) => "a boolean",
                Plain::Number(_) => "a number",
                Plain::Text => "a string",
            },
            Value::Scalar(_, Style::Quoted) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// True for an explicit or implicit null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(t, Style::Plain) if matches!(resolve_plain(t), Plain::Null))
    }
}

/// What a plain scalar means under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plain {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or float, including `.inf` and `.nan`.
    Number(f64),
    /// Anything else.
    Text,
}

/// Resolves a plain scalar per the YAML 1.2 core schema (section 10.3.2).
pub fn resolve_plain(text: &str) -> Plain {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Plain::Number(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Plain::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Plain::Number(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).map_or(Plain::Text, |v| Plain::Number(v as f64));
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).map_or(Plain::Text, |v| Plain::Number(v as f64));
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        if let Ok(v) = text.parse::<f64>() {
            return Plain::Number(v);
        }
    }
    Plain::Text
}

/// Converts the parser's character positions into byte offsets and 1-based columns.
struct Positions<'a> {
    text: &'a str,
    /// Byte offset of each character, only built for non-ASCII files.
    char_to_byte: Option<Vec<usize>>,
    file: FileId,
}

impl<'a> Positions<'a> {
    fn new(file: FileId, text: &'a str) -> Self {
        let char_to_byte = (!text.is_ascii()).then(|| {
            let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            offsets.push(text.len());
            offsets
        });
        Positions {
            text,
            char_to_byte,
            file,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.char_to_byte {
            None => char_index.min(self.text.len()),
            Some(table) => table.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn location(&self, span: saphyr_parser::Span) -> Location {
        let offset = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(offset);
        Location {
            file: self.file,
            offset,
            len: end - offset,
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }

    fn point(&self, marker: &saphyr_parser::Marker) -> Location {
        Location {
            file: self.file,
            offset: self.byte(marker.index()),
            len: 0,
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// A collection being built, with the location of its start.
enum Open {
    Seq(Vec<Node>, Location),
    Map(Vec<(Node, Node)>, Option<Node>, Location),
}

/// Parses one file into its single document's root node.
///
/// Returns `Ok(None)` for a file with no document at all (empty or only comments).
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, Diagnostic> {
    Ok(parse_stream(file, text, false)?.into_iter().next())
}

/// Parses every document of a file (`---`-separated, as Kubernetes manifests
/// and rule bundles are written), in order; empty documents are left out.
pub fn parse_documents(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    parse_stream(file, text, true)
}

fn parse_stream(file: FileId, text: &str, many: bool) -> Result<Vec<Node>, Diagnostic> {
    let positions = Positions::new(file, text);
    let mut stack: Vec<Open> = Vec::new();
    let mut roots: Vec<Node> = Vec::new();
    let mut documents = 0usize;

    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| syntax_error(&positions, &e))?;
        let location = positions.location(span);
        let finished = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 && !many {
                    return Err(Diagnostic::new(
                        Code::UnsupportedYaml,
                        location,
                        "a catalog file holds one YAML document, this is a second one",
                    )
                    .with_help(
                        "remove the `---` line, or move the second document into its own file",
                    ));
                }
                None
            }
            Event::Alias(_) => {
                return Err(Diagnostic::new(
                    Code::UnsupportedYaml,
                    location,
                    "YAML aliases (`*name`) are not supported in a catalog",
                )
                .with_help("write the value out in full, or use `defaults:` for values shared by a file's metrics"));
            }
            Event::Scalar(value, style, _anchor, tag) => {
                let mut forced_text = false;
                if let Some(tag) = tag {
                    forced_text = tag.is_yaml_core_schema() && tag.suffix == "str";
                    if !tag.is_yaml_core_schema() {
                        return Err(Diagnostic::new(
                            Code::UnsupportedYaml,
                            location,
                            format!(
                                "custom YAML tag `{}{}` is not supported",
                                tag.handle, tag.suffix
                            ),
                        )
                        .with_help("remove the tag; values are read as plain text or numbers"));
                    }
                }
                let style = match style {
                    ScalarStyle::Plain if !forced_text => Style::Plain,
                    _ => Style::Quoted,
                };
                Some(Node {
                    value: Value::Scalar(value.into_owned(), style),
                    location,
                })
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Diagnostic::new(
                        Code::UnsupportedYaml,
                        location,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    )
                    .with_help("a catalog needs only a few levels: metrics -> drivers -> fields"));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Open::Seq(Vec::new(), location),
                    _ => Open::Map(Vec::new(), None, location),
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(items, start)) => Some(Node {
                    value: Value::Seq(items),
                    location: start,
                }),
                _ => return Err(internal(location)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, None, start)) => Some(Node {
                    value: Value::Map(entries),
                    location: start,
                }),
                _ => return Err(internal(location)),
            },
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                None => {
                    if !(many && node.is_null()) {
                        roots.push(node);
                    }
                }
                Some(Open::Seq(items, _)) => items.push(node),
                Some(Open::Map(entries, pending_key, _)) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
            }
        }
    }
    Ok(roots)
}

fn syntax_error(positions: &Positions<'_>, error: &ScanError) -> Diagnostic {
    Diagnostic::new(Code::Syntax, positions.point(error.marker()), format!("malformed YAML: {}", error.info()))
        .with_help("check the indentation and quoting around this point; strings containing `: ` or `#` need quotes")
}

fn internal(location: Location) -> Diagnostic {
    Diagnostic::new(
        Code::Syntax,
        location,
        "malformed YAML: unbalanced collection",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_schema_scalars() {
        assert_eq!(resolve_plain("~"), Plain::Null);
        assert_eq!(resolve_plain("True"), Plain::Bool(true));
        assert_eq!(resolve_plain("9000"), Plain::Number(9000.0));
        assert_eq!(resolve_plain("-1.5e3"), Plain::Number(-1500.0));
        assert_eq!(resolve_plain("0x1F"), Plain::Number(31.0));
        assert_eq!(resolve_plain("5m"), Plain::Text);
        assert_eq!(resolve_plain("1.2.3"), Plain::Text);
        assert!(matches!(resolve_plain(".nan"), Plain::Number(v) if v.is_nan()));
    }

    #[test]
    fn keeps_locations_and_duplicate_keys() {
        let text = "a: 1\nb:\n  - x\n  - é: 2\na: 3\n";
        let root = parse(0, text).unwrap().unwrap();
        let Value::Map(entries) = &root.value else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2].0.location.line, 5);
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("not a seq")
        };
        assert_eq!(items[1].location.line, 4);
        assert_eq!(items[1].location.column, 5);
        let Value::Map(inner) = &items[1].value else {
            panic!("not a map")
        };
        // The value `2` sits after the two-byte `é`.
        assert_eq!(&text[inner[0].1.location.offset..][..1], "2");
    }

    #[test]
    fn rejects_aliases_and_second_documents() {
        assert_eq!(
            parse(0, "a: &x 1\nb: *x\n").unwrap_err().code,
            Code::UnsupportedYaml
        );
        assert_eq!(
            parse(0, "a: 1\n---\nb: 2\n").unwrap_err().code,
            Code::UnsupportedYaml
        );
        assert!(parse(0, "# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn reports_syntax_errors_with_a_position() {
        let err = parse(0, "a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.code, Code::Syntax);
        assert!(err.location.unwrap().line >= 1);
    }
}
