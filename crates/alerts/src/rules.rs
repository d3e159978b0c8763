//! The catalog's thresholds as a Prometheus rule file, and unit tests for
//! `promtool test rules` that prove each alert fires on a breach.
//!
//! Each exported metric gets one recording rule, `whyline:value{whyline_metric="ID"}`
//! holding its source query, and an alerting rule per threshold on that recorded
//! series. The recorded series are what makes the rules testable without knowing
//! what the user's query reads, and they let `whyline serve` read every metric's
//! value in one query when the rules are loaded in the engine.
//!
//! The file is YAML whose every string is written as a JSON string literal: a
//! JSON string is a valid YAML double-quoted scalar, so no user text (a colon,
//! a `#`, a newline) can change the file's structure.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use whyline_catalog::{Bound, Catalog, Duration, Metric, SourceSpec};

/// The name of the recorded series every exported alert reads.
pub const RECORDED: &str = "whyline:value";
/// The label that ties a series or an alert to its catalog metric.
pub const METRIC_LABEL: &str = "whyline_metric";

/// Labels whyline sets itself, so `--label` may not set them.
const RESERVED: &[&str] = &[
    METRIC_LABEL,
    "severity",
    "owner",
    "layer",
    "service",
    "alertname",
];

/// How the rules are written.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How long a breach must last before the alert fires (`for:`); none = at once.
    pub hold: Option<Duration>,
    /// Labels added to every alert.
    pub labels: Vec<(String, String)>,
    /// Read a metric without a Prometheus source as the series named like its id.
    pub series_from_id: bool,
}

/// Why the options cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A label name Prometheus would refuse.
    #[error("`{0}` is not a label name: write letters, digits and `_`, not starting with a digit")]
    LabelName(String),
    /// A label whyline sets itself.
    #[error("`{0}` is set by whyline on every alert; choose another label name")]
    Reserved(String),
}

/// A metric that got no rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The metric id.
    pub metric: String,
    /// Why, in words.
    pub reason: String,
}

/// One alerting rule, as exported.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// `alert:`, unique in the file.
    pub name: String,
    /// The catalog metric.
    pub metric: String,
    /// `critical` (red) or `warning` (amber).
    pub severity: &'static str,
    /// The threshold it fires on.
    pub bound: Bound,
    /// The other threshold of the metric, if any (to pick a test value between them).
    pub other: Option<Bound>,
    /// `expr:`.
    pub expr: String,
    /// `labels:`, in order.
    pub labels: BTreeMap<String, String>,
    /// `annotations:`, in order.
    pub annotations: BTreeMap<String, String>,
}

/// One metric's rules.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRules {
    /// The catalog metric.
    pub metric: String,
    /// The source query recorded as `whyline:value`.
    pub query: String,
    /// Its alerting rules (red first).
    pub alerts: Vec<AlertRule>,
}

/// One rule group: the metrics of one catalog file.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// `name:`, unique in the file.
    pub name: String,
    /// Its metrics.
    pub metrics: Vec<MetricRules>,
}

/// The whole export.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Rule groups, one per catalog file with exported metrics.
    pub groups: Vec<Group>,
    /// `for:` of every alert.
    pub hold: Option<Duration>,
    /// Metrics without a rule, with the reason.
    pub skipped: Vec<Skipped>,
}

impl Export {
    /// Every alerting rule, in file order.
    pub fn alerts(&self) -> impl Iterator<Item = &AlertRule> {
        self.groups
            .iter()
            .flat_map(|g| g.metrics.iter().flat_map(|m| m.alerts.iter()))
    }
}

/// True for a name Prometheus accepts as a label name.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True for a name Prometheus accepts as a metric name (a series from `--series-from-id`).
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks the options once, before any rule is written.
pub fn check_options(options: &Options) -> Result<(), OptionsError> {
    for (name, _) in &options.labels {
        if !is_label_name(name) {
            return Err(OptionsError::LabelName(name.clone()));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(OptionsError::Reserved(name.clone()));
        }
    }
    Ok(())
}

/// `checkout_latency_p99` -> `CheckoutLatencyP99`: the alert-name habit of
/// Prometheus rule sets, from any catalog id.
pub(crate) fn camel(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for word in id.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert_str(0, "Metric");
    }
    out
}

/// A PromQL string literal: Go's escapes are JSON's.
fn promql_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A number as PromQL and promtool read it (never in exponent form).
fn number(v: f64) -> String {
    format!("{v}")
}

/// User text inside an alert template: `{{` would start a template action.
fn literal(text: &str) -> String {
    text.replace("{{", "{{ \"{{\" }}")
}

/// The query a metric is recorded from, or why it has none.
fn query_of(metric: &Metric, options: &Options) -> Result<String, String> {
    match &metric.source {
        Some(SourceSpec::Prometheus { query, .. }) => Ok(query.trim().to_string()),
        Some(other) => Err(format!(
            "its source is {}, not a Prometheus query: the engine cannot evaluate it",
            match other {
                SourceSpec::Csv { .. } => "a CSV file",
                SourceSpec::Parquet { .. } => "a Parquet file",
                SourceSpec::Sql { .. } => "an SQL query",
                SourceSpec::Prometheus { .. } => "Prometheus",
            }
        )),
        None if options.series_from_id && is_metric_name(&metric.id) => Ok(metric.id.clone()),
        None if options.series_from_id => Err(format!(
            "`{}` is not a Prometheus metric name, so --series-from-id cannot read it; give it a `source: {{ prometheus: ... }}`",
            metric.id
        )),
        None => Err(
            "it has no source: add `source: { prometheus: { connection: ..., query: ... } }`, or export with --series-from-id to read the series named like its id"
                .to_string(),
        ),
    }
}

/// `below 9000` / `above 0.05`, with the unit.
fn bound_text(bound: Bound, unit: Option<&str>) -> String {
    let (word, v) = match bound {
        Bound::Below(v) => ("below", v),
        Bound::Above(v) => ("above", v),
    };
    match unit {
        Some(u) => format!("{word} {} {u}", number(v)),
        None => format!("{word} {}", number(v)),
    }
}

fn alert_rule(
    metric: &Metric,
    name: String,
    severity: &'static str,
    colour: &str,
    bound: Bound,
    other: Option<Bound>,
    options: &Options,
) -> AlertRule {
    let selector = format!("{RECORDED}{{{METRIC_LABEL}={}}}", promql_string(&metric.id));
    let expr = match bound {
        Bound::Below(v) => format!("{selector} < {}", number(v)),
        Bound::Above(v) => format!("{selector} > {}", number(v)),
    };
    let mut labels = BTreeMap::new();
    labels.insert(METRIC_LABEL.to_string(), metric.id.clone());
    labels.insert("severity".to_string(), severity.to_string());
    labels.insert("layer".to_string(), metric.layer.as_str().to_string());
    if let Some(owner) = &metric.owner {
        labels.insert("owner".to_string(), owner.clone());
    }
    if let Some(service) = &metric.service {
        labels.insert("service".to_string(), service.clone());
    }
    for (k, v) in &options.labels {
        labels.insert(k.clone(), v.clone());
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "summary".to_string(),
        format!(
            "{} is {colour}: {{{{ $value }}}}{}, {}",
            literal(&metric.name),
            metric
                .unit
                .as_deref()
                .map(|u| format!(" {}", literal(u)))
                .unwrap_or_default(),
            literal(&bound_text(bound, metric.unit.as_deref()))
        ),
    );
    if let Some(d) = &metric.description {
        annotations.insert("description".to_string(), literal(d));
    }
    if let Some(d) = &metric.decision {
        annotations.insert("decision".to_string(), literal(d));
    }
    if !metric.audience.is_empty() {
        annotations.insert("audience".to_string(), literal(&metric.audience.join(", ")));
    }
    if let Some(r) = &metric.runbook {
        annotations.insert("runbook_url".to_string(), literal(r));
    }
    AlertRule {
        name,
        metric: metric.id.clone(),
        severity,
        bound,
        other,
        expr,
        labels,
        annotations,
    }
}

/// True when `metric` gets rules from [`export`] with default options: it has
/// a threshold and a Prometheus query.
pub fn is_exported(metric: &Metric) -> bool {
    metric
        .thresholds
        .as_ref()
        .is_some_and(|t| t.red.or(t.amber).is_some())
        && matches!(metric.source, Some(SourceSpec::Prometheus { .. }))
}

/// The rules for a checked catalog: one group per catalog file.
pub fn export(catalog: &Catalog, options: &Options) -> Export {
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of_file: BTreeMap<usize, usize> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut unique = |base: String| {
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}{n}");
            n += 1;
        }
        name
    };
    for metric in &catalog.metrics {
        let Some(thresholds) = metric
            .thresholds
            .as_ref()
            .filter(|t| t.red.or(t.amber).is_some())
        else {
            skipped.push(Skipped {
                metric: metric.id.clone(),
                reason: "no thresholds: whyline judges it against its own baseline, which no fixed rule can express".to_string(),
            });
            continue;
        };
        let query = match query_of(metric, options) {
            Ok(q) => q,
            Err(reason) => {
                skipped.push(Skipped {
                    metric: metric.id.clone(),
                    reason,
                });
                continue;
            }
        };
        let base = camel(&metric.id);
        let mut alerts = Vec::new();
        if let Some(red) = thresholds.red {
            let name = unique(format!("{base}Red"));
            alerts.push(alert_rule(
                metric,
                name,
                "critical",
                "red",
                red,
                thresholds.amber,
                options,
            ));
        }
        if let Some(amber) = thresholds.amber {
            let name = unique(format!("{base}Amber"));
            alerts.push(alert_rule(
                metric,
                name,
                "warning",
                "amber",
                amber,
                thresholds.red,
                options,
            ));
        }
        let file = metric.location.file;
        let group = *group_of_file.entry(file).or_insert_with(|| {
            let path = catalog
                .files
                .get(file)
                .map(|f| f.path.display().to_string())
                .unwrap_or_else(|| format!("file {file}"));
            groups.push(Group {
                name: format!("whyline {path}"),
                metrics: Vec::new(),
            });
            groups.len() - 1
        });
        groups[group].metrics.push(MetricRules {
            metric: metric.id.clone(),
            query,
            alerts,
        });
    }
    Export {
        groups,
        hold: options.hold,
        skipped,
    }
}

/// A YAML scalar that no text can break out of.
fn scalar(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn map(out: &mut String, indent: &str, key: &str, entries: &BTreeMap<String, String>) {
    if entries.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{key}:");
    for (k, v) in entries {
        // Label and annotation names are plain words: no quotes needed.
        let key = if is_label_name(k) {
            k.clone()
        } else {
            scalar(k)
        };
        let _ = writeln!(out, "{indent}  {key}: {}", scalar(v));
    }
}

/// The rule file, with a header saying where it came from.
pub fn to_yaml(export: &Export, from: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `whyline export prometheus-rules` from {from}.\n# Edit the catalog, not this file: it is rewritten on every export."
    );
    if export.groups.is_empty() {
        out.push_str("groups: []\n");
        return out;
    }
    out.push_str("groups:\n");
    for group in &export.groups {
        let _ = writeln!(out, "  - name: {}", scalar(&group.name));
        out.push_str("    rules:\n");
        for metric in &group.metrics {
            let _ = writeln!(out, "      - record: {}", scalar(RECORDED));
            let _ = writeln!(out, "        expr: {}", scalar(&metric.query));
            let _ = writeln!(out, "        labels:");
            let _ = writeln!(out, "          {METRIC_LABEL}: {}", scalar(&metric.metric));
            for alert in &metric.alerts {
                let _ = writeln!(out, "      - alert: {}", scalar(&alert.name));
                let _ = writeln!(out, "        expr: {}", scalar(&alert.expr));
                if let Some(hold) = export.hold.filter(|h| !h.is_zero()) {
                    let _ = writeln!(out, "        for: {}", scalar(&hold.to_string()));
                }
                map(&mut out, "        ", "labels", &alert.labels);
                map(&mut out, "        ", "annotations", &alert.annotations);
            }
        }
    }
    out
}

/// Formats a float as Go's `fmt` prints it with `%v`, which is how an alert
/// template renders `$value`: the shortest digits that read back exactly, in
/// exponent form when the decimal exponent is below -4 or at least 6 (Go's
/// `strconv.FormatFloat(v, 'g', -1, 64)` decides with precision 6 when the
/// digits are the shortest ones; exponents have at least two digits).
pub fn go_float(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits too, as d.ddde±x.
    let sci = format!("{v:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return format!("{v}");
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

/// A test value on the bad side of `bound` by `gap`.
fn beyond(bound: Bound, gap: f64) -> f64 {
    match bound {
        Bound::Below(v) => v - gap,
        Bound::Above(v) => v + gap,
    }
}

fn bound_value(b: Bound) -> f64 {
    match b {
        Bound::Below(v) | Bound::Above(v) => v,
    }
}

/// Values for one alert's test: one that breaches no threshold, and one that
/// breaches this alert's (and, for amber, not red's).
fn test_values(alert: &AlertRule) -> (f64, f64) {
    let v = bound_value(alert.bound);
    let gap = match alert.other {
        Some(o) if bound_value(o) != v => (bound_value(o) - v).abs(),
        _ if v != 0.0 => v.abs() * 0.5,
        _ => 1.0,
    };
    // The safe value sits past the less strict bound on the good side.
    let outer = match (alert.bound, alert.other) {
        (Bound::Below(a), Some(Bound::Below(b))) => Bound::Below(a.max(b)),
        (Bound::Above(a), Some(Bound::Above(b))) => Bound::Above(a.min(b)),
        (b, _) => b,
    };
    let safe = beyond(outer, -gap);
    let breach = match (alert.severity, alert.other) {
        // Amber with a red bound: between the two, so only amber is breached.
        ("warning", Some(red)) if bound_value(red) != v => (v + bound_value(red)) / 2.0,
        _ => beyond(alert.bound, gap),
    };
    (safe, breach)
}

/// `promtool test rules` input: for every alert, the recorded series sits on
/// the safe side for five minutes (no alert) and then breaches (the alert fires).
pub fn unit_tests(export: &Export, rule_file: &str) -> String {
    let hold_minutes = export
        .hold
        .map_or(0, |h| h.as_millis().div_ceil(60_000) as usize);
    let safe_points = 5;
    let breach_points = hold_minutes + 5;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `whyline export prometheus-rules --tests`: run `promtool test rules` on this file.\n# Each alert stays silent while its metric is on the safe side, and fires once it breaches."
    );
    let _ = writeln!(out, "rule_files:\n  - {}", scalar(rule_file));
    out.push_str("evaluation_interval: 1m\ntests:\n");
    for alert in export.alerts() {
        let (safe, breach) = test_values(alert);
        let values: Vec<String> = std::iter::repeat_n(number(safe), safe_points)
            .chain(std::iter::repeat_n(number(breach), breach_points))
            .collect();
        let _ = writeln!(out, "  - name: {}", scalar(&alert.name));
        out.push_str("    interval: 1m\n    input_series:\n");
        let _ = writeln!(
            out,
            "      - series: {}\n        values: {}",
            scalar(&format!(
                "{RECORDED}{{{METRIC_LABEL}={}}}",
                promql_string(&alert.metric)
            )),
            scalar(&values.join(" "))
        );
        out.push_str("    alert_rule_test:\n");
        let _ = writeln!(
            out,
            "      - eval_time: {}m\n        alertname: {}\n        exp_alerts: []",
            safe_points - 1,
            scalar(&alert.name)
        );
        let _ = writeln!(
            out,
            "      - eval_time: {}m\n        alertname: {}\n        exp_alerts:\n          - exp_labels:",
            safe_points + hold_minutes + 1,
            scalar(&alert.name)
        );
        for (k, v) in &alert.labels {
            let _ = writeln!(out, "              {k}: {}", scalar(v));
        }
        out.push_str("            exp_annotations:\n");
        for (k, v) in &alert.annotations {
            let rendered = v
                .replace("{{ $value }}", &go_float(breach))
                .replace("{{ \"{{\" }}", "{{");
            let _ = writeln!(out, "              {k}: {}", scalar(&rendered));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_catalog::SourceFile;

    fn catalog(text: &str) -> Catalog {
        let parsed = whyline_catalog::parse(vec![SourceFile {
            path: "shop.yaml".into(),
            text: text.to_string(),
        }]);
        parsed.catalog
    }

    const SHOP: &str = "version: 1\nconnections:\n  main: { kind: prometheus, url: \"http://127.0.0.1:9090\" }\nmetrics:\n  - id: revenue\n    name: 'Revenue: per {{hour}}'\n    layer: business\n    unit: USD/h\n    owner: team-growth\n    decision: Whether to invest\n    audience: [leadership]\n    runbook: https://wiki/revenue\n    thresholds: { red: { below: 9000 }, amber: { below: 10000 } }\n    source: { prometheus: { connection: main, query: 'sum(rate(orders_value_total[5m])) * 3600' } }\n  - id: cpu\n    layer: system\n  - id: errors\n    layer: service\n    thresholds: { red: { above: 0.05 } }\n    source: { csv: { path: e.csv } }\n";

    #[test]
    fn every_threshold_with_a_prometheus_query_becomes_an_alert_and_the_rest_say_why_not() {
        let export = export(&catalog(SHOP), &Options::default());
        let names: Vec<&str> = export.alerts().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["RevenueRed", "RevenueAmber"]);
        let red = export.alerts().next().expect("red");
        assert_eq!(red.expr, "whyline:value{whyline_metric=\"revenue\"} < 9000");
        assert_eq!(red.labels["severity"], "critical");
        assert_eq!(red.labels["owner"], "team-growth");
        assert_eq!(red.annotations["runbook_url"], "https://wiki/revenue");
        assert_eq!(
            red.annotations["summary"],
            "Revenue: per {{ \"{{\" }}hour}} is red: {{ $value }} USD/h, below 9000 USD/h"
        );
        let skipped: Vec<&str> = export.skipped.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(skipped, ["cpu", "errors"]);
        assert!(
            export.skipped[1].reason.contains("CSV"),
            "{:?}",
            export.skipped
        );
    }

    #[test]
    fn series_from_id_reads_a_metric_without_source_as_its_namesake_series() {
        let text = "version: 1\nmetrics:\n  - id: node_load1\n    layer: system\n    thresholds: { red: { above: 8 } }\n  - id: bad.name\n    layer: system\n    thresholds: { red: { above: 8 } }\n";
        let options = Options {
            series_from_id: true,
            ..Options::default()
        };
        let export = export(&catalog(text), &options);
        assert_eq!(export.groups[0].metrics[0].query, "node_load1");
        assert_eq!(export.skipped[0].metric, "bad.name");
        assert!(
            export.skipped[0]
                .reason
                .contains("not a Prometheus metric name")
        );
    }

    #[test]
    fn alert_names_are_camel_case_valid_and_unique() {
        assert_eq!(camel("checkout_latency_p99"), "CheckoutLatencyP99");
        assert_eq!(camel("5xx.rate"), "Metric5xxRate");
        let text = "version: 1\nmetrics:\n  - id: a_b\n    layer: system\n    thresholds: { red: { above: 1 } }\n  - id: a.b\n    layer: system\n    thresholds: { red: { above: 1 } }\n";
        let export = export(
            &catalog(text),
            &Options {
                series_from_id: true,
                ..Options::default()
            },
        );
        let names: Vec<&str> = export.alerts().map(|a| a.name.as_str()).collect();
        // `a.b` is no metric name: skipped, so only one rule, named once.
        assert_eq!(names, ["ABRed"]);
    }

    #[test]
    fn labels_from_options_are_checked() {
        let bad = |name: &str| Options {
            labels: vec![(name.to_string(), "x".to_string())],
            ..Options::default()
        };
        assert_eq!(
            check_options(&bad("team-x")),
            Err(OptionsError::LabelName("team-x".to_string()))
        );
        assert_eq!(
            check_options(&bad("severity")),
            Err(OptionsError::Reserved("severity".to_string()))
        );
        assert_eq!(check_options(&bad("env")), Ok(()));
    }

    #[test]
    fn user_text_cannot_break_the_yaml() {
        let text = "version: 1\nmetrics:\n  - id: m\n    layer: system\n    description: \"a: b # c\\n- d\"\n    thresholds: { red: { above: 1 } }\n";
        let yaml = to_yaml(
            &export(
                &catalog(text),
                &Options {
                    series_from_id: true,
                    ..Options::default()
                },
            ),
            "x",
        );
        assert!(yaml.contains("description: \"a: b # c\\n- d\""), "{yaml}");
    }

    /// Go's rule for `%v` (strconv `'g'`, shortest); `promtool test rules` in
    /// the integration tests renders the same values and compares.
    #[test]
    fn values_render_as_go_prints_them() {
        for (v, go) in [
            (4500.0, "4500"),
            (123456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (0.0125, "0.0125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
        ] {
            assert_eq!(go_float(v), go, "{v}");
        }
    }

    #[test]
    fn test_values_breach_only_their_own_threshold() {
        let export = export(&catalog(SHOP), &Options::default());
        let mut alerts = export.alerts();
        let red = alerts.next().expect("red");
        let amber = alerts.next().expect("amber");
        assert_eq!(test_values(red), (11000.0, 8000.0));
        // Amber's breach lies between amber (10000) and red (9000).
        assert_eq!(test_values(amber), (11000.0, 9500.0));
    }
}
