//! The parser never panics: arbitrary bytes, arbitrary text, and valid catalogs
//! with random mutations all come back as a catalog or as diagnostics.

use std::path::PathBuf;

use proptest::prelude::*;
use whyline_catalog::{SourceFile, parse};

const VALID: &str = include_str!("../../../examples/shop/metrics/checkout.yaml");

fn check(text: String) -> whyline_catalog::Checked {
    parse(vec![SourceFile {
        path: PathBuf::from("fuzz.yaml"),
        text,
    }])
}

/// Every diagnostic must point inside its file, on a char boundary, so renderers never panic.
fn locations_are_sane(checked: &whyline_catalog::Checked) -> Result<(), TestCaseError> {
    for d in &checked.diagnostics {
        for location in d
            .location
            .iter()
            .chain(d.related.iter().map(|r| &r.location))
        {
            let text = &checked.catalog.files[location.file].text;
            prop_assert!(location.offset + location.len <= text.len(), "{d:?}");
            prop_assert!(text.is_char_boundary(location.offset), "{d:?}");
            prop_assert!(
                text.is_char_boundary(location.offset + location.len),
                "{d:?}"
            );
            prop_assert!(location.line >= 1 && location.column >= 1, "{d:?}");
        }
    }
    Ok(())
}

/// One edit to a valid file: delete, duplicate or replace a span of characters.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), 1usize..80).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        (
            any::<usize>(),
            prop_oneof![
                Just(": ".to_string()),
                Just("\n  - ".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("[".to_string()),
                Just("{".to_string()),
                Just("\t".to_string()),
                Just("é".to_string()),
                Just("---\n".to_string()),
                Just("lag: 0".to_string()),
                "[a-z:#\\-\\[\\]{}\"' \n]{1,12}",
            ]
        )
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = chars.len().max(1);
        match m {
            Mutation::Delete(at, len) => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            Mutation::Duplicate(at, len) => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                let copy: Vec<char> = chars[at.min(end)..end].to_vec();
                chars.splice(end..end, copy);
            }
            Mutation::Insert(at, s) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let checked = check(String::from_utf8_lossy(&bytes).into_owned());
        locations_are_sane(&checked)?;
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-z0-9_:\\-\\[\\]{}&*!|>#'\" \n\t.]{0,300}") {
        let checked = check(text);
        locations_are_sane(&checked)?;
    }

    #[test]
    fn mutated_valid_catalogs_never_panic(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let checked = check(apply(VALID, &mutations));
        locations_are_sane(&checked)?;
    }
}

#[test]
fn the_unmutated_catalog_is_valid() {
    // The driver names point into other files, so only those errors may appear.
    let checked = check(VALID.to_string());
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| d.code == whyline_catalog::Code::UnknownDriver),
        "{:#?}",
        checked.diagnostics
    );
    assert_eq!(checked.catalog.metrics.len(), 7);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let text = format!(
        "version: 1\nmetrics: {}{}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let checked = check(text);
    let code = checked.diagnostics[0].code;
    // saphyr-parser has its own depth limit (a syntax error); ours is the backstop.
    assert!(
        matches!(
            code,
            whyline_catalog::Code::UnsupportedYaml | whyline_catalog::Code::Syntax
        ),
        "{code:?}"
    );
    let shallow = format!("version: 1\nmetrics: {}{}", "[".repeat(70), "]".repeat(70));
    assert_eq!(
        check(shallow).diagnostics[0].code,
        whyline_catalog::Code::UnsupportedYaml
    );
}
