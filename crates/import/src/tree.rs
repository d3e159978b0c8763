//! Reading foreign YAML through the catalog's spanned tree: lookups that
//! tolerate what other tools write (quoted numbers, missing keys) and keep
//! the line of everything for `origin`.

use whyline_catalog::yaml::{Node, Plain, Style, Value, resolve_plain};

/// The value under `key` of a mapping.
pub fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Scalar(t, _) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The value at a path of keys.
pub fn at<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(node, |n, key| get(n, key))
}

/// A scalar's text (not null).
pub fn text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar(t, Style::Plain) if matches!(resolve_plain(t), Plain::Null) => None,
        Value::Scalar(t, _) => Some(t.clone()),
        _ => None,
    }
}

/// The text under `key`, trimmed, when not empty.
pub fn text_at(node: &Node, path: &[&str]) -> Option<String> {
    at(node, path)
        .and_then(text)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// A number, written plain or quoted (`target: "99"` is common).
pub fn number(node: &Node) -> Option<f64> {
    let t = text(node)?;
    t.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A list's items (a missing or non-list value has none).
pub fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

/// A mapping's entries as (key text, value).
pub fn entries(node: Option<&Node>) -> Vec<(String, &Node)> {
    match node.map(|n| &n.value) {
        Some(Value::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| text(k).map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// A catalog id from any name: lower case, runs of characters outside
/// `[a-z0-9_.:-]` as one `_`, camel case split (`NodeFilesystemFull` ->
/// `node_filesystem_full`).
pub fn id_of(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.trim().chars() {
        if c.is_ascii_uppercase() {
            if previous_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | ':' | '-') {
            out.push(c);
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let trimmed = out.trim_matches('_').to_string();
    if trimmed.is_empty() {
        "metric".to_string()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_catalog_ids() {
        assert_eq!(
            id_of("NodeFilesystemSpaceFillingUp"),
            "node_filesystem_space_filling_up"
        );
        assert_eq!(
            id_of("instance:node_cpus:count"),
            "instance:node_cpus:count"
        );
        assert_eq!(id_of("requests availability!"), "requests_availability");
        assert_eq!(id_of("HTTPErrors"), "httperrors");
        assert_eq!(id_of("***"), "metric");
    }
}
