//! What an import needs from a PromQL expression, read with `promql-parser`:
//! an alert's threshold (the comparison of its main condition with a
//! number, apart from conditions that only guard it), and the series an
//! expression reads with the sign each one pushes it (for drivers).

use promql_parser::parser::{self, Expr};

use crate::draft::Side;

/// An alert condition split into what is measured and where it turns bad.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The measured expression (PromQL, normalised).
    pub measured: String,
    /// The threshold.
    pub side: Side,
}

fn strip(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn literal(e: &Expr) -> Option<f64> {
    match strip(e) {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Unary(u) => literal(&u.expr).map(|v| -v),
        Expr::Binary(b) => {
            let (l, r) = (literal(&b.lhs)?, literal(&b.rhs)?);
            match b.op.to_string().as_str() {
                "+" => Some(l + r),
                "-" => Some(l - r),
                "*" => Some(l * r),
                "/" => Some(l / r),
                _ => None,
            }
        }
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// The threshold of an alert expression: its main condition (the left side
/// of `and`/`unless` chains; what follows only guards it) must compare an
/// expression with a number by `<`, `<=`, `>` or `>=`. The error says why not.
pub fn condition(expr: &str) -> Result<Condition, String> {
    let parsed = parser::parse(expr).map_err(|e| format!("not valid PromQL: {e}"))?;
    let mut main = strip(&parsed);
    loop {
        match main {
            Expr::Binary(b) if matches!(b.op.to_string().as_str(), "and" | "unless") => {
                main = strip(&b.lhs);
            }
            Expr::Binary(b) if b.op.to_string() == "or" => {
                return Err(
                    "the condition joins alternatives with `or`: no single threshold".to_string(),
                );
            }
            _ => break,
        }
    }
    let Expr::Binary(b) = main else {
        return Err(
            "the condition compares nothing with a number (it fires on presence)".to_string(),
        );
    };
    let op = b.op.to_string();
    if !b.op.is_comparison_operator() {
        return Err(
            "the condition compares nothing with a number (it fires on presence)".to_string(),
        );
    }
    if matches!(op.as_str(), "==" | "!=") {
        return Err(format!(
            "the condition tests a state with `{op}`, not a threshold"
        ));
    }
    let (measured, value, flipped) = match (literal(&b.rhs), literal(&b.lhs)) {
        (Some(v), _) => (&b.lhs, v, false),
        (None, Some(v)) => (&b.rhs, v, true),
        (None, None) => return Err("threshold is not a number".to_string()),
    };
    let below = matches!(op.as_str(), "<" | "<=") != flipped;
    Ok(Condition {
        measured: strip(measured).to_string(),
        side: if below {
            Side::Below(value)
        } else {
            Side::Above(value)
        },
    })
}

/// The series names an expression reads, each with the sign of its push on
/// the result (`+1` up moves it up; the right side of `-` and `/` pushes
/// down), in first-seen order; a name read with both signs has sign 0.
pub fn references(expr: &str) -> Result<Vec<(String, i8)>, String> {
    Ok(selectors(expr)?
        .into_iter()
        .fold(Vec::new(), |mut out: Vec<(String, i8)>, s| {
            note_name(&s.name, s.sign, &mut out);
            out
        }))
}

/// One series selection an expression reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The metric name.
    pub name: String,
    /// Its label matchers, as (label, operator, value), sorted by label.
    pub matchers: Vec<(String, String, String)>,
    /// The selector as PromQL (`name{label="value"}`), without range or offset.
    pub selector: String,
    /// Its push on the result (+1, -1; 0 when read both ways).
    pub sign: i8,
}

/// Every distinct selection (name and matchers) an expression reads, in
/// first-seen order, with its sign.
pub fn selectors(expr: &str) -> Result<Vec<Selection>, String> {
    let parsed = parser::parse(expr).map_err(|e| format!("not valid PromQL: {e}"))?;
    let mut out: Vec<Selection> = Vec::new();
    walk(&parsed, 1, &mut out);
    Ok(out)
}

fn note_name(name: &str, sign: i8, out: &mut Vec<(String, i8)>) {
    match out.iter_mut().find(|(n, _)| n == name) {
        Some((_, s)) if *s != sign => *s = 0,
        Some(_) => {}
        None => out.push((name.to_string(), sign)),
    }
}

fn note(v: &promql_parser::parser::VectorSelector, sign: i8, out: &mut Vec<Selection>) {
    let Some(name) = &v.name else { return };
    let matchers: Vec<(String, String, String)> = v
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .map(|m| (m.name.clone(), m.op.to_string(), m.value.clone()))
        .collect();
    // Canonical order: the same selection written (or printed back by a
    // server) in another order is the same series.
    let mut matchers = matchers;
    matchers.sort();
    let selector = if matchers.is_empty() {
        name.clone()
    } else {
        let labels: Vec<String> = matchers
            .iter()
            .map(|(l, op, value)| format!("{l}{op}{}", crate::draft::quote(value)))
            .collect();
        format!("{name}{{{}}}", labels.join(","))
    };
    match out.iter_mut().find(|s| s.selector == selector) {
        Some(s) if s.sign != sign => s.sign = 0,
        Some(_) => {}
        None => out.push(Selection {
            name: name.clone(),
            matchers,
            selector,
            sign,
        }),
    }
}

fn walk(e: &Expr, sign: i8, out: &mut Vec<Selection>) {
    match e {
        Expr::Aggregate(a) => walk(&a.expr, sign, out),
        Expr::Unary(u) => walk(&u.expr, -sign, out),
        Expr::Binary(b) => {
            let op = b.op.to_string();
            walk(&b.lhs, sign, out);
            // A comparison or set operation filters by its right side; it
            // does not push the value.
            if b.op.is_comparison_operator() || b.op.is_set_operator() {
                return;
            }
            let right = if matches!(op.as_str(), "-" | "/") {
                -sign
            } else {
                sign
            };
            walk(&b.rhs, right, out);
        }
        Expr::Paren(p) => walk(&p.expr, sign, out),
        Expr::Subquery(s) => walk(&s.expr, sign, out),
        Expr::VectorSelector(v) => note(v, sign, out),
        Expr::MatrixSelector(m) => note(&m.vs, sign, out),
        Expr::Call(c) => {
            for arg in &c.args.args {
                walk(arg, sign, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_condition_gives_the_threshold_and_guards_do_not() {
        // The shape of kube-prometheus' NodeFilesystemSpaceFillingUp.
        let c = condition(
            "(node_filesystem_avail_bytes / node_filesystem_size_bytes * 100 < 15 \
             and predict_linear(node_filesystem_avail_bytes[6h], 24*60*60) < 0 \
             and node_filesystem_readonly == 0)",
        )
        .expect("a threshold");
        assert_eq!(c.side, Side::Below(15.0));
        assert_eq!(
            c.measured,
            "node_filesystem_avail_bytes / node_filesystem_size_bytes * 100"
        );
        let flipped = condition("0.9 < rate(errors_total[5m])").expect("a threshold");
        assert_eq!(flipped.side, Side::Above(0.9));
        assert_eq!(
            condition("x > -2").expect("negative").side,
            Side::Above(-2.0)
        );
    }

    #[test]
    fn states_presence_and_alternatives_are_not_thresholds() {
        assert!(condition("up == 0").unwrap_err().contains("state"));
        assert!(condition("absent(up)").unwrap_err().contains("presence"));
        assert!(condition("a > 1 or b > 2").unwrap_err().contains("or"));
        assert!(condition("a > b").unwrap_err().contains("not a number"));
        assert!(condition("a >").unwrap_err().contains("PromQL"));
    }

    #[test]
    fn references_carry_the_sign_of_their_push() {
        let refs = references(
            "sum(instance_mode:node_cpu_seconds:rate5m{mode!=\"idle\"}) without (mode) / instance:node_cpus:count",
        )
        .expect("valid");
        assert_eq!(
            refs,
            vec![
                ("instance_mode:node_cpu_seconds:rate5m".to_string(), 1),
                ("instance:node_cpus:count".to_string(), -1)
            ]
        );
        assert_eq!(
            references("a - a").expect("valid"),
            vec![("a".to_string(), 0)]
        );
        assert_eq!(
            references("x and on() y").expect("valid"),
            vec![("x".to_string(), 1)]
        );
    }
}
