//! `whyline serve --config FILE`: the alert receiver's settings in YAML, for
//! deployments that keep them in a file rather than on the command line.
//!
//! ```yaml
//! notify:
//!   - slack=env:SLACK_WEBHOOK_URL            # KIND=URL, as --notify
//!   - { kind: webhook, url: "https://hooks.example.com/whyline" }
//! state: /var/lib/whyline
//! page_url: https://whyline.example.com/
//! ```
//! Flags add to `notify` and override the others.

use std::path::{Path, PathBuf};

use whyline_catalog::yaml::{self, Node, Value};

/// What the file sets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FileConfig {
    /// `notify:` entries, as `KIND=URL`.
    pub(crate) notify: Vec<String>,
    /// `state:`, resolved against the file's folder.
    pub(crate) state: Option<PathBuf>,
    /// `page_url:`.
    pub(crate) page_url: Option<String>,
}

const KEYS: &[&str] = &["notify", "state", "page_url"];

fn at(path: &Path, node: &Node) -> String {
    format!(
        "{}:{}:{}",
        path.display(),
        node.location.line,
        node.location.column
    )
}

fn text(path: &Path, node: &Node, what: &str) -> Result<String, String> {
    match &node.value {
        Value::Scalar(t, _) if !node.is_null() => Ok(t.clone()),
        _ => Err(format!(
            "{}: {what} must be text, found {}",
            at(path, node),
            node.type_name()
        )),
    }
}

/// Reads and checks the file.
pub(crate) fn read(path: &Path) -> Result<FileConfig, String> {
    let source =
        std::fs::read_to_string(path).map_err(|e| format!("--config {}: {e}", path.display()))?;
    let root = yaml::parse(0, &source)
        .map_err(|d| match d.location {
            Some(l) => format!("{}:{}:{}: {}", path.display(), l.line, l.column, d.message),
            None => format!("{}: {}", path.display(), d.message),
        })?
        .ok_or_else(|| format!("--config {}: the file is empty", path.display()))?;
    let Value::Map(entries) = &root.value else {
        return Err(format!(
            "{}: expected a mapping with {}",
            at(path, &root),
            KEYS.join(", ")
        ));
    };
    let mut out = FileConfig::default();
    let folder = path.parent().unwrap_or(Path::new("."));
    for (key, value) in entries {
        let name = text(path, key, "a key")?;
        match name.as_str() {
            "notify" => {
                let Value::Seq(items) = &value.value else {
                    return Err(format!(
                        "{}: notify must be a list, e.g. `notify: [slack=env:SLACK_WEBHOOK_URL]`",
                        at(path, value)
                    ));
                };
                for item in items {
                    out.notify.push(match &item.value {
                        Value::Map(fields) => {
                            let field = |wanted: &str| {
                                fields
                                    .iter()
                                    .find(|(k, _)| matches!(&k.value, Value::Scalar(t, _) if t == wanted))
                                    .map(|(_, v)| text(path, v, wanted))
                                    .transpose()?
                                    .ok_or_else(|| {
                                        format!("{}: a notifier needs `{wanted}:`", at(path, item))
                                    })
                            };
                            format!("{}={}", field("kind")?, field("url")?)
                        }
                        _ => text(path, item, "a notify entry")?,
                    });
                }
            }
            "state" => out.state = Some(folder.join(text(path, value, "state")?)),
            "page_url" => out.page_url = Some(text(path, value, "page_url")?),
            other => {
                return Err(format!(
                    "{}: unknown key `{other}`; the keys are {}",
                    at(path, key),
                    KEYS.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<FileConfig, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("serve.yaml");
        std::fs::write(&path, text).expect("write");
        read(&path).map(|mut c| {
            c.state = c.state.map(|s| {
                s.strip_prefix(dir.path())
                    .map(Path::to_path_buf)
                    .unwrap_or(s)
            });
            c
        })
    }

    #[test]
    fn both_spellings_of_a_notifier_are_read() {
        let config = read_text(
            "notify:\n  - slack=env:SLACK\n  - { kind: webhook, url: \"https://h.example/x\" }\nstate: state\npage_url: https://w.example/\n",
        )
        .expect("valid");
        assert_eq!(
            config.notify,
            ["slack=env:SLACK", "webhook=https://h.example/x"]
        );
        assert_eq!(config.state, Some(PathBuf::from("state")));
        assert_eq!(config.page_url.as_deref(), Some("https://w.example/"));
    }

    #[test]
    fn mistakes_say_where_and_what_to_write() {
        let e = read_text("notifiy: []\n").expect_err("unknown key");
        assert!(e.contains("serve.yaml:1:1: unknown key `notifiy`"), "{e}");
        let e = read_text("notify: slack=x\n").expect_err("not a list");
        assert!(e.contains("notify must be a list"), "{e}");
        let e = read_text("notify:\n  - { kind: slack }\n").expect_err("no url");
        assert!(e.contains(":2:5: a notifier needs `url:`"), "{e}");
    }
}
