//! Problems found in a catalog, each pointing at the exact place in a file.
//!
//! Diagnostics are plain data: the front ends decide how to draw them (miette,
//! JSON, GitHub annotations). Every diagnostic carries a byte span plus the
//! 1-based line and column so that renderers never have to re-scan a file.

use std::path::PathBuf;

/// Index of a file in [`crate::Catalog::files`].
pub type FileId = usize;

/// One catalog file as read from disk (or from a git revision).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative to where they ran the tool).
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

/// A location in one file: byte range plus human coordinates of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// Which file.
    pub file: FileId,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes (may be 0 for a point).
    pub len: usize,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start, in characters.
    pub column: usize,
}

/// Stable machine-readable names of every kind of problem.
///
/// The string form (`code()`) is part of the JSON output and of the docs, so
/// variants may be added but never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The file could not be read.
    Io,
    /// No catalog files were found at the given path.
    NoFiles,
    /// The file is too large to be a hand-written catalog.
    TooLarge,
    /// The YAML itself is malformed.
    Syntax,
    /// A YAML feature the catalog deliberately does not accept (aliases, tags, several documents).
    UnsupportedYaml,
    /// The same key twice in one mapping.
    DuplicateKey,
    /// A key the schema does not know.
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// A value of the wrong YAML type.
    WrongType,
    /// `version:` is not one this build understands.
    UnsupportedVersion,
    /// A metric id with characters outside `[a-z0-9_.:-]`.
    BadId,
    /// A value outside an enumerated set (layer, effect, good, connection kind).
    BadValue,
    /// A duration that does not parse.
    BadDuration,
    /// Thresholds that contradict each other or the metric's good direction.
    BadThreshold,
    /// A `source:` that is incomplete or ambiguous.
    BadSource,
    /// A connection that would put a secret in the file, or lacks what it needs.
    BadConnection,
    /// Two metrics with the same id.
    DuplicateId,
    /// Two connections with the same name.
    DuplicateConnection,
    /// A driver that names a metric no file defines.
    UnknownDriver,
    /// The same driver listed twice on one metric.
    DuplicateDriver,
    /// A source naming a connection no file defines.
    UnknownConnection,
    /// A cycle of drivers in which no edge has a lag.
    Cycle,
}

impl Code {
    /// The stable kebab-case name, prefixed by the area it belongs to.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "file::io",
            Code::NoFiles => "file::no-catalog",
            Code::TooLarge => "file::too-large",
            Code::Syntax => "yaml::syntax",
            Code::UnsupportedYaml => "yaml::unsupported",
            Code::DuplicateKey => "yaml::duplicate-key",
            Code::UnknownField => "schema::unknown-field",
            Code::MissingField => "schema::missing-field",
            Code::WrongType => "schema::wrong-type",
            Code::UnsupportedVersion => "schema::version",
            Code::BadId => "schema::bad-id",
            Code::BadValue => "schema::bad-value",
            Code::BadDuration => "schema::bad-duration",
            Code::BadThreshold => "schema::bad-threshold",
            Code::BadSource => "schema::bad-source",
            Code::BadConnection => "schema::bad-connection",
            Code::DuplicateId => "catalog::duplicate-id",
            Code::DuplicateConnection => "catalog::duplicate-connection",
            Code::UnknownDriver => "catalog::unknown-driver",
            Code::DuplicateDriver => "catalog::duplicate-driver",
            Code::UnknownConnection => "catalog::unknown-connection",
            Code::Cycle => "catalog::cycle",
        }
    }
}

/// A secondary location that helps explain a diagnostic ("first defined here").
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    /// Where.
    pub location: Location,
    /// What is there.
    pub message: String,
}

/// One problem that makes a catalog invalid.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// What kind of problem.
    pub code: Code,
    /// Where it is; `None` only for problems that belong to no file (no files found).
    pub location: Option<Location>,
    /// One sentence saying what is wrong.
    pub message: String,
    /// What to write instead.
    pub help: Option<String>,
    /// Other places that explain the problem.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic at `location` with no help yet.
    pub fn new(code: Code, location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            location: Some(location),
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// A diagnostic that belongs to no file.
    pub fn global(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            location: None,
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Adds the "what to write instead" sentence.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary location.
    pub fn with_related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push(Related {
            location,
            message: message.into(),
        });
        self
    }
}

/// Suggests the candidate closest to `word`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(word, candidate);
        if score >= 0.8 && best.is_none_or(|(_, b)| score > b) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("decison", ["decision", "drivers"]),
            Some("decision")
        );
        assert_eq!(did_you_mean("owner", ["decision", "layer"]), None);
    }
}
