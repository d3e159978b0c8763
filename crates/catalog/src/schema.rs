//! The schema pass: one file's YAML tree -> typed metrics and connections.
//!
//! Every problem is pushed to a list and the walk goes on, so one run reports
//! all the schema errors of a file. A metric with an error is still returned
//! when its id is known, so that cross-file checks (unknown drivers) do not
//! cascade into noise about a metric that merely had a typo elsewhere.

use crate::model::Aggregate;
use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Location, did_you_mean};
use crate::duration::Duration;
use crate::model::{
    Bound, Connection, ConnectionKind, Driver, Effect, Good, Layer, Metric, SourceSpec, Thresholds,
};
use crate::yaml::{Node, Plain, Style, Value, resolve_plain};

/// The catalog format versions this build reads.
pub(crate) const SUPPORTED_VERSION: f64 = 1.0;

const TOP_FIELDS: &[&str] = &["version", "defaults", "connections", "metrics"];
const DEFAULT_FIELDS: &[&str] = &["owner", "service"];
const METRIC_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "layer",
    "unit",
    "good",
    "aggregate",
    "owner",
    "service",
    "decision",
    "audience",
    "thresholds",
    "source",
    "drivers",
    "volume",
    "runbook",
    "origin",
];
const DRIVER_FIELDS: &[&str] = &["metric", "effect", "lag", "why", "origin", "proposed"];
const THRESHOLD_FIELDS: &[&str] = &["red", "amber"];
const BOUND_FIELDS: &[&str] = &["below", "above"];
const SOURCE_FIELDS: &[&str] = &["csv", "parquet", "prometheus", "sql"];
const FILE_SOURCE_FIELDS: &[&str] = &["path", "column"];
const QUERY_SOURCE_FIELDS: &[&str] = &["connection", "query"];
const PROMETHEUS_FIELDS: &[&str] = &[
    "kind",
    "url",
    "bearer_env",
    "username_env",
    "password_env",
    "tenant",
    "timeout",
];
const POSTGRES_FIELDS: &[&str] = &["kind", "url_env"];
const SQLITE_FIELDS: &[&str] = &["kind", "path"];
const CONNECTION_KINDS: &[&str] = &["prometheus", "postgres", "sqlite"];

/// What one file contributes to the catalog.
#[derive(Debug, Default)]
pub(crate) struct FilePart {
    pub(crate) metrics: Vec<Metric>,
    pub(crate) connections: Vec<Connection>,
}

/// Converts one parsed file. `dir` is the file's folder, for relative paths.
pub(crate) fn convert(root: &Node, dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> FilePart {
    let mut walker = Walker { dir, diagnostics };
    walker.file(root)
}

/// A mapping's entries after duplicate and unknown keys were reported.
struct Fields<'n> {
    at: Location,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == name)
            .map(|(_, _, v)| *v)
    }
}

struct Walker<'a> {
    dir: &'a Path,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walker<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Checks that `node` is a mapping with only `known` keys, each once.
    fn fields<'n>(&mut self, node: &'n Node, what: &str, known: &[&str]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            self.push(
                Diagnostic::new(
                    Code::WrongType,
                    node.location,
                    format!("{what} must be a mapping, found {found}"),
                )
                .with_help(format!(
                    "write it as `key: value` lines; its keys are: {}",
                    known.join(", ")
                )),
            );
            return None;
        };
        let mut out = Fields {
            at: node.location,
            entries: Vec::with_capacity(entries.len()),
        };
        for (key, value) in entries {
            let Value::Scalar(name, _) = &key.value else {
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        key.location,
                        format!("a key in {what} must be plain text"),
                    )
                    .with_help(format!("its keys are: {}", known.join(", "))),
                );
                continue;
            };
            if let Some((_, first, _)) = out.entries.iter().find(|(k, _, _)| *k == name.as_str()) {
                let first = first.location;
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        key.location,
                        format!("`{name}` appears twice in {what}"),
                    )
                    .with_help("keep one of them; YAML would silently use only the last")
                    .with_related(first, "first written here"),
                );
                continue;
            }
            if !known.contains(&name.as_str()) {
                let help = match did_you_mean(name, known.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? The keys of {what} are: {}",
                        known.join(", ")
                    ),
                    None => format!("the keys of {what} are: {}", known.join(", ")),
                };
                self.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        key.location,
                        format!("unknown field `{name}` in {what}"),
                    )
                    .with_help(help),
                );
                continue;
            }
            out.entries.push((name.as_str(), key, value));
        }
        Some(out)
    }

    fn missing(&mut self, fields: &Fields<'_>, what: &str, name: &str, example: &str) {
        self.push(
            Diagnostic::new(
                Code::MissingField,
                fields.at,
                format!("{what} has no `{name}`"),
            )
            .with_help(format!("add `{name}: {example}`")),
        );
    }

    /// Text of a scalar; null, lists and mappings are errors.
    fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar(text, style) => {
                if *style == Style::Plain && matches!(resolve_plain(text), Plain::Null) {
                    self.push(
                        Diagnostic::new(Code::WrongType, node.location, format!("{what} is empty"))
                            .with_help(format!("write a value for {what}, or remove the key")),
                    );
                    return None;
                }
                Some(text.clone())
            }
            _ => {
                let found = node.type_name();
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        node.location,
                        format!("{what} must be text, found {found}"),
                    )
                    .with_help(format!(
                        "write {what} as a single string, quoted if it contains `: ` or `#`"
                    )),
                );
                None
            }
        }
    }

    fn optional_text(&mut self, fields: &Fields<'_>, name: &str, what: &str) -> Option<String> {
        fields.get(name).and_then(|node| self.text(node, what))
    }

    /// A finite number written without quotes.
    fn number(&mut self, node: &Node, what: &str) -> Option<f64> {
        if let Value::Scalar(text, Style::Plain) = &node.value {
            if let Plain::Number(v) = resolve_plain(text) {
                if v.is_finite() {
                    return Some(v);
                }
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        node.location,
                        format!("{what} must be a finite number, found `{text}`"),
                    )
                    .with_help(format!(
                        "write {what} as a plain number such as 9000 or 0.25"
                    )),
                );
                return None;
            }
        }
        let found = node.type_name();
        let hint = match &node.value {
            Value::Scalar(text, Style::Quoted) if text.trim().parse::<f64>().is_ok() => {
                format!("remove the quotes: write {}", text.trim())
            }
            _ => format!("write {what} as a plain number such as 9000 or 0.25"),
        };
        self.push(
            Diagnostic::new(
                Code::WrongType,
                node.location,
                format!("{what} must be a number, found {found}"),
            )
            .with_help(hint),
        );
        None
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        if let Value::Scalar(text, Style::Plain) = &node.value {
            if let Plain::Number(v) = resolve_plain(text) {
                if v == 0.0 {
                    return Some(Duration::ZERO);
                }
                self.push(
                    Diagnostic::new(Code::BadDuration, node.location, format!("{what} `{text}` has no unit"))
                        .with_help(format!("write a unit after the number, e.g. `{text}s` or `{text}m` (units: ms, s, m, h, d, w, y)")),
                );
                return None;
            }
        }
        let text = self.text(node, what)?;
        match Duration::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.push(
                    Diagnostic::new(Code::BadDuration, node.location, format!("{what} `{text}` is not a duration: {e}"))
                        .with_help("write an integer and a unit, largest unit first: `30s`, `5m`, `1h30m` (units: ms, s, m, h, d, w, y)"),
                );
                None
            }
        }
    }

    /// `true` or `false`, written without quotes.
    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        if let Value::Scalar(text, Style::Plain) = &node.value {
            if let Plain::Bool(b) = resolve_plain(text) {
                return Some(b);
            }
        }
        let found = node.type_name();
        self.push(
            Diagnostic::new(
                Code::WrongType,
                node.location,
                format!("{what} must be true or false, found {found}"),
            )
            .with_help(format!(
                "write {what}: true, or remove it once the edge is reviewed"
            )),
        );
        None
    }

    /// One of a fixed set of words.
    fn choice<'c>(&mut self, node: &Node, what: &str, choices: &[&'c str]) -> Option<&'c str> {
        let text = self.text(node, what)?;
        if let Some(c) = choices.iter().find(|c| **c == text) {
            return Some(c);
        }
        let help = match did_you_mean(&text, choices.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? Write one of: {}", choices.join(", ")),
            None => format!("write one of: {}", choices.join(", ")),
        };
        self.push(
            Diagnostic::new(
                Code::BadValue,
                node.location,
                format!("`{text}` is not a valid {what}"),
            )
            .with_help(help),
        );
        None
    }

    fn items<'n>(&mut self, node: &'n Node, what: &str, example: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                let found = node.type_name();
                self.push(
                    Diagnostic::new(
                        Code::WrongType,
                        node.location,
                        format!("{what} must be a list, found {found}"),
                    )
                    .with_help(format!("write it as a list: {example}")),
                );
                &[]
            }
        }
    }

    fn file(&mut self, root: &Node) -> FilePart {
        let mut part = FilePart::default();
        let Some(top) = self.fields(root, "a catalog file", TOP_FIELDS) else {
            return part;
        };
        match top.get("version") {
            None => self.missing(&top, "the catalog file", "version", "1"),
            Some(node) => {
                if let Some(v) = self.number(node, "`version`") {
                    if v != SUPPORTED_VERSION {
                        self.push(
                            Diagnostic::new(
                                Code::UnsupportedVersion,
                                node.location,
                                format!("catalog version {v} is not supported"),
                            )
                            .with_help("this build of whyline reads `version: 1`"),
                        );
                    }
                }
            }
        }
        let mut default_owner = None;
        let mut default_service = None;
        if let Some(node) = top.get("defaults") {
            if let Some(defaults) = self.fields(node, "`defaults`", DEFAULT_FIELDS) {
                default_owner = self.optional_text(&defaults, "owner", "`defaults.owner`");
                default_service = self.optional_text(&defaults, "service", "`defaults.service`");
            }
        }
        if let Some(node) = top.get("connections") {
            part.connections = self.connections(node);
        }
        match top.get("metrics") {
            None => self.missing(
                &top,
                "the catalog file",
                "metrics",
                "[] (a list of metrics)",
            ),
            Some(node) => {
                for item in self.items(node, "`metrics`", "`metrics:` then `  - id: revenue` lines")
                {
                    if let Some(mut metric) = self.metric(item) {
                        if metric.owner.is_none() {
                            metric.owner.clone_from(&default_owner);
                        }
                        if metric.service.is_none() {
                            metric.service.clone_from(&default_service);
                        }
                        part.metrics.push(metric);
                    }
                }
            }
        }
        part
    }

    fn connections(&mut self, node: &Node) -> Vec<Connection> {
        let mut out = Vec::new();
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            self.push(
                Diagnostic::new(Code::WrongType, node.location, format!("`connections` must be a mapping of names to connections, found {found}"))
                    .with_help("write `connections:` then `  main: { kind: prometheus, url: \"http://127.0.0.1:9090\" }`"),
            );
            return out;
        };
        for (key, value) in entries {
            let Some(name) = self.text(key, "a connection name") else {
                continue;
            };
            if out.iter().any(|c: &Connection| c.name == name) {
                self.push(
                    Diagnostic::new(
                        Code::DuplicateKey,
                        key.location,
                        format!("connection `{name}` is defined twice in this file"),
                    )
                    .with_help("rename one of them"),
                );
                continue;
            }
            let what = format!("connection `{name}`");
            if let Some(kind) = self.connection(value, &what) {
                out.push(Connection {
                    name,
                    kind,
                    location: key.location,
                });
            }
        }
        out
    }

    fn connection(&mut self, node: &Node, what: &str) -> Option<ConnectionKind> {
        let Value::Map(entries) = &node.value else {
            let found = node.type_name();
            self.push(
                Diagnostic::new(
                    Code::WrongType,
                    node.location,
                    format!("{what} must be a mapping, found {found}"),
                )
                .with_help("write e.g. `{ kind: prometheus, url: \"http://127.0.0.1:9090\" }`"),
            );
            return None;
        };
        let kind_node = entries
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Scalar(t, _) if t == "kind"))
            .map(|(_, v)| v);
        let Some(kind_node) = kind_node else {
            self.push(
                Diagnostic::new(
                    Code::MissingField,
                    node.location,
                    format!("{what} has no `kind`"),
                )
                .with_help(format!(
                    "add `kind:` with one of: {}",
                    CONNECTION_KINDS.join(", ")
                )),
            );
            return None;
        };
        let kind = self.choice(kind_node, "connection kind", CONNECTION_KINDS)?;
        let known = match kind {
            "prometheus" => PROMETHEUS_FIELDS,
            "postgres" => POSTGRES_FIELDS,
            _ => SQLITE_FIELDS,
        };
        // Secrets written in the file are the one mistake we refuse loudly;
        // those keys are then accepted below so they are not reported twice.
        let mut known: Vec<&str> = known.to_vec();
        for (key, _) in entries {
            if let Value::Scalar(k, _) = &key.value {
                if let Some(secret) = ["password", "token", "bearer", "url"]
                    .into_iter()
                    .find(|s| s == k)
                {
                    if known.contains(&secret) {
                        continue;
                    }
                    known.push(secret);
                    self.push(
                        Diagnostic::new(Code::BadConnection, key.location, format!("`{k}` would put a secret in the catalog file"))
                            .with_help(format!("secrets come only from environment variables: write `{k}_env: SOME_VARIABLE`")),
                    );
                }
            }
        }
        let fields = self.fields(node, what, &known)?;
        match kind {
            "prometheus" => {
                let url = match fields.get("url") {
                    None => {
                        self.missing(&fields, what, "url", "\"http://127.0.0.1:9090\"");
                        None
                    }
                    Some(n) => {
                        let url = self.text(n, "`url`")?;
                        if !(url.starts_with("http://") || url.starts_with("https://")) {
                            self.push(
                                Diagnostic::new(Code::BadConnection, n.location, format!("`{url}` is not an http(s) URL"))
                                    .with_help("write the server's base URL, e.g. \"http://127.0.0.1:9090\" or \"https://mimir.example/prometheus\""),
                            );
                            return None;
                        }
                        Some(url)
                    }
                }?;
                let timeout = fields
                    .get("timeout")
                    .and_then(|n| self.duration(n, "`timeout`"));
                Some(ConnectionKind::Prometheus {
                    url,
                    bearer_env: self.optional_text(&fields, "bearer_env", "`bearer_env`"),
                    username_env: self.optional_text(&fields, "username_env", "`username_env`"),
                    password_env: self.optional_text(&fields, "password_env", "`password_env`"),
                    tenant: self.optional_text(&fields, "tenant", "`tenant`"),
                    timeout,
                })
            }
            "postgres" => match fields.get("url_env") {
                None => {
                    self.missing(&fields, what, "url_env", "WAREHOUSE_URL");
                    None
                }
                Some(n) => Some(ConnectionKind::Postgres {
                    url_env: self.text(n, "`url_env`")?,
                }),
            },
            _ => match fields.get("path") {
                None => {
                    self.missing(&fields, what, "path", "data/business.sqlite");
                    None
                }
                Some(n) => Some(ConnectionKind::Sqlite {
                    path: self.dir.join(self.text(n, "`path`")?),
                }),
            },
        }
    }

    fn metric(&mut self, node: &Node) -> Option<Metric> {
        let fields = self.fields(node, "a metric", METRIC_FIELDS)?;
        let (id, id_location) = match fields.get("id") {
            None => {
                self.missing(&fields, "this metric", "id", "checkout_latency_p99");
                return None;
            }
            Some(n) => (self.text(n, "`id`")?, n.location),
        };
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b))
        {
            let suggestion: String = id
                .to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            self.push(
                Diagnostic::new(
                    Code::BadId,
                    id_location,
                    format!("metric id `{id}` may only use a-z, 0-9, `_`, `.`, `:` and `-`"),
                )
                .with_help(format!(
                    "write `id: {suggestion}` and put the display text in `name:`"
                )),
            );
        }
        let what = |field: &str| format!("`{field}` of metric `{id}`");
        let layer = match fields.get("layer") {
            None => {
                self.missing(
                    &fields,
                    &format!("metric `{id}`"),
                    "layer",
                    "business | service | system",
                );
                None
            }
            Some(n) => self
                .choice(n, "layer", &["business", "service", "system"])
                .and_then(Layer::parse),
        };
        let good = fields
            .get("good")
            .and_then(|n| self.choice(n, "`good` direction", &["higher", "lower"]))
            .map(|g| {
                if g == "higher" {
                    Good::Higher
                } else {
                    Good::Lower
                }
            });
        let aggregate = fields
            .get("aggregate")
            .and_then(|n| self.choice(n, "aggregate", &Aggregate::NAMES))
            .and_then(Aggregate::parse)
            .unwrap_or_default();
        let audience = match fields.get("audience") {
            None => Vec::new(),
            Some(n) => match &n.value {
                Value::Scalar(..) if !n.is_null() => {
                    self.push(
                        Diagnostic::new(
                            Code::WrongType,
                            n.location,
                            format!("{} must be a list", what("audience")),
                        )
                        .with_help("write it as a list, e.g. `audience: [leadership]`"),
                    );
                    Vec::new()
                }
                _ => {
                    let items = self.items(
                        n,
                        &what("audience"),
                        "`audience: [leadership, team-checkout]`",
                    );
                    items
                        .iter()
                        .filter_map(|i| self.text(i, "an audience entry"))
                        .collect()
                }
            },
        };
        let thresholds = fields
            .get("thresholds")
            .and_then(|n| self.thresholds(n, &id, good));
        let (source, source_location) = match fields.get("source").and_then(|n| self.source(n, &id))
        {
            Some((s, at)) => (Some(s), Some(at)),
            None => (None, None),
        };
        let mut drivers: Vec<Driver> = Vec::new();
        if let Some(n) = fields.get("drivers") {
            for item in self.items(
                n,
                &what("drivers"),
                "`drivers:` then `  - { metric: cpu, effect: increases }`",
            ) {
                if let Some(driver) = self.driver(item, &id) {
                    if let Some(first) = drivers.iter().find(|d| d.metric == driver.metric) {
                        let first = first.location;
                        self.push(
                            Diagnostic::new(
                                Code::DuplicateDriver,
                                driver.location,
                                format!(
                                    "`{}` is listed twice as a driver of `{id}`",
                                    driver.metric
                                ),
                            )
                            .with_help(
                                "keep one entry per driver; put both mechanisms in its `why:`",
                            )
                            .with_related(first, "first listed here"),
                        );
                        continue;
                    }
                    drivers.push(driver);
                }
            }
        }
        let volume_location = fields.get("volume").map(|n| n.location);
        let volume = self.optional_text(&fields, "volume", &what("volume"));
        let metric = Metric {
            volume: volume.zip(volume_location),
            runbook: self.optional_text(&fields, "runbook", &what("runbook")),
            origin: self.optional_text(&fields, "origin", &what("origin")),
            name: self
                .optional_text(&fields, "name", &what("name"))
                .unwrap_or_else(|| id.clone()),
            description: self.optional_text(&fields, "description", &what("description")),
            // An invalid layer was reported above; keep the metric so that its
            // drivers are still checked. An invalid catalog is never analysed.
            layer: layer.unwrap_or(Layer::Service),
            unit: self.optional_text(&fields, "unit", &what("unit")),
            good,
            aggregate,
            owner: self.optional_text(&fields, "owner", &what("owner")),
            service: self.optional_text(&fields, "service", &what("service")),
            decision: self.optional_text(&fields, "decision", &what("decision")),
            audience,
            thresholds,
            source,
            source_location,
            drivers,
            location: id_location,
            id,
        };
        Some(metric)
    }

    fn driver(&mut self, node: &Node, owner_id: &str) -> Option<Driver> {
        let what = format!("a driver of `{owner_id}`");
        let fields = self.fields(node, &what, DRIVER_FIELDS)?;
        let metric_node = fields.get("metric");
        let effect = match fields.get("effect") {
            None => {
                self.missing(
                    &fields,
                    &what,
                    "effect",
                    "increases   # or decreases: driver up => this metric up/down",
                );
                None
            }
            Some(n) => self
                .choice(n, "effect", &["increases", "decreases"])
                .map(|e| {
                    if e == "increases" {
                        Effect::Increases
                    } else {
                        Effect::Decreases
                    }
                }),
        };
        let lag = fields.get("lag").map(|n| self.duration(n, "`lag`"));
        let why = self.optional_text(&fields, "why", "`why`");
        let origin = self.optional_text(&fields, "origin", "the driver's `origin`");
        let proposed = fields
            .get("proposed")
            .and_then(|n| self.boolean(n, "`proposed`"))
            .unwrap_or(false);
        let Some(metric_node) = metric_node else {
            self.missing(&fields, &what, "metric", "the id of the driving metric");
            return None;
        };
        let metric = self.text(metric_node, "the driver's `metric`")?;
        Some(Driver {
            metric,
            // As for layers: reported above, kept so the reference is still checked.
            effect: effect.unwrap_or(Effect::Increases),
            // A bad lag was reported above; zero keeps the edge for reference checks.
            lag: lag.flatten().unwrap_or(Duration::ZERO),
            why,
            origin,
            proposed,
            location: metric_node.location,
        })
    }

    fn bound(&mut self, node: &Node, what: &str) -> Option<(Bound, Location)> {
        let fields = self.fields(node, what, BOUND_FIELDS)?;
        match (fields.get("below"), fields.get("above")) {
            (Some(n), None) => self
                .number(n, "`below`")
                .map(|v| (Bound::Below(v), n.location)),
            (None, Some(n)) => self
                .number(n, "`above`")
                .map(|v| (Bound::Above(v), n.location)),
            _ => {
                self.push(
                    Diagnostic::new(
                        Code::BadThreshold,
                        fields.at,
                        format!("{what} needs exactly one of `below` or `above`"),
                    )
                    .with_help("write e.g. `{ below: 9000 }` or `{ above: 0.05 }`"),
                );
                None
            }
        }
    }

    fn thresholds(&mut self, node: &Node, id: &str, good: Option<Good>) -> Option<Thresholds> {
        let fields = self.fields(node, &format!("the thresholds of `{id}`"), THRESHOLD_FIELDS)?;
        let red = fields
            .get("red")
            .and_then(|n| self.bound(n, "the red threshold"));
        let amber = fields
            .get("amber")
            .and_then(|n| self.bound(n, "the amber threshold"));
        if let (Some((red, _)), Some((amber, at))) = (red, amber) {
            let problem = match (red, amber) {
                (Bound::Below(r), Bound::Below(a)) if a < r => Some(format!(
                    "amber ({a}) must not be below red ({r}) for `below` thresholds"
                )),
                (Bound::Above(r), Bound::Above(a)) if a > r => Some(format!(
                    "amber ({a}) must not be above red ({r}) for `above` thresholds"
                )),
                (Bound::Below(_), Bound::Above(_)) | (Bound::Above(_), Bound::Below(_)) => {
                    Some("red and amber point in opposite directions".to_string())
                }
                _ => None,
            };
            if let Some(problem) = problem {
                self.push(
                    Diagnostic::new(Code::BadThreshold, at, format!("thresholds of `{id}` contradict each other: {problem}"))
                        .with_help("amber is the warning before red: e.g. `red: { below: 9000 }` with `amber: { below: 10000 }`"),
                );
            }
        }
        for (bound, at) in [red, amber].into_iter().flatten() {
            let contradiction = match (bound, good) {
                (Bound::Above(_), Some(Good::Higher)) => Some(("above", "higher", "below")),
                (Bound::Below(_), Some(Good::Lower)) => Some(("below", "lower", "above")),
                _ => None,
            };
            if let Some((side, good, instead)) = contradiction {
                self.push(
                    Diagnostic::new(Code::BadThreshold, at, format!("a threshold `{side}` contradicts `good: {good}` on `{id}`"))
                        .with_help(format!("when {good} is good, the bad side is {instead}: write `{instead}:`, or fix `good:`")),
                );
            }
        }
        Some(Thresholds {
            red: red.map(|(b, _)| b),
            amber: amber.map(|(b, _)| b),
        })
    }

    /// The source and where its connection (or the source itself) is written.
    fn source(&mut self, node: &Node, id: &str) -> Option<(SourceSpec, Location)> {
        let what = format!("the source of `{id}`");
        let fields = self.fields(node, &what, SOURCE_FIELDS)?;
        if fields.entries.len() != 1 {
            self.push(
                Diagnostic::new(
                    Code::BadSource,
                    fields.at,
                    format!(
                        "{what} must name exactly one of: {}",
                        SOURCE_FIELDS.join(", ")
                    ),
                )
                .with_help(
                    "write e.g. `source: { prometheus: { connection: main, query: 'up' } }`",
                ),
            );
            return None;
        }
        let (kind, _, body) = fields.entries[0];
        let what = format!("the `{kind}` source of `{id}`");
        match kind {
            "csv" | "parquet" => {
                let f = self.fields(body, &what, FILE_SOURCE_FIELDS)?;
                let column = self
                    .optional_text(&f, "column", "`column`")
                    .unwrap_or_else(|| id.to_string());
                let Some(path) = f.get("path") else {
                    self.missing(&f, &what, "path", "data/shop.csv");
                    return None;
                };
                let path = self.dir.join(self.text(path, "`path`")?);
                let spec = if kind == "csv" {
                    SourceSpec::Csv { path, column }
                } else {
                    SourceSpec::Parquet { path, column }
                };
                Some((spec, body.location))
            }
            _ => {
                let f = self.fields(body, &what, QUERY_SOURCE_FIELDS)?;
                let at = f.get("connection").map_or(body.location, |n| n.location);
                let connection = match f.get("connection") {
                    None => {
                        self.missing(&f, &what, "connection", "main");
                        None
                    }
                    Some(n) => self.text(n, "`connection`"),
                };
                let query = match f.get("query") {
                    None => {
                        self.missing(&f, &what, "query", "'...'");
                        None
                    }
                    Some(n) => self.text(n, "`query`"),
                };
                let (connection, query) = (connection?, query?);
                let spec = if kind == "prometheus" {
                    SourceSpec::Prometheus { connection, query }
                } else {
                    SourceSpec::Sql { connection, query }
                };
                Some((spec, at))
            }
        }
    }
}
