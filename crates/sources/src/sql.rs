//! SQL sources: PostgreSQL (over the network) and SQLite (a local file).
//!
//! A query returns rows of (timestamp, value). `$from`, `$to` and `$step` are
//! bound as parameters, never pasted into the text: for PostgreSQL they are
//! renamed to `$1..$3` and bound with the type the server infers for them; for
//! SQLite they are named parameters bound as Unix seconds.

use std::path::Path;
use std::time::SystemTime;

use tokio_postgres::types::Type;
use whyline_series::TimeRange;

use crate::error::SourceError;

/// The named parameters a query may use.
const NAMES: [&str; 3] = ["from", "to", "step"];

/// Rewrites `$from`/`$to`/`$step` into positional `$1..` in order of first
/// use, leaving string literals, quoted identifiers and comments alone.
/// Returns the new text and, per position, which name it stands for.
pub fn positional(query: &str) -> (String, Vec<&'static str>) {
    let mut out = String::with_capacity(query.len());
    let mut order: Vec<&'static str> = Vec::new();
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let skip_to = match c {
            b'\'' | b'"' => {
                // Quoted literal or identifier; a doubled quote is an escape.
                let mut j = i + 1;
                while j < bytes.len() {
                    if bytes[j] == c {
                        if bytes.get(j + 1) == Some(&c) {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                Some((j + 1).min(bytes.len()))
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                Some(query[i..].find('\n').map_or(bytes.len(), |n| i + n))
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => Some(
                query[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2),
            ),
            _ => None,
        };
        if let Some(end) = skip_to {
            out.push_str(&query[i..end]);
            i = end;
            continue;
        }
        if c == b'$' {
            let rest = &query[i + 1..];
            let name = NAMES.into_iter().find(|n| {
                rest.starts_with(n)
                    && !rest
                        .as_bytes()
                        .get(n.len())
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            });
            if let Some(name) = name {
                let position = match order.iter().position(|n| *n == name) {
                    Some(p) => p,
                    None => {
                        order.push(name);
                        order.len() - 1
                    }
                };
                out.push('$');
                out.push_str(&(position + 1).to_string());
                i += 1 + name.len();
                continue;
            }
        }
        let ch_len = query[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&query[i..i + ch_len]);
        i += ch_len;
    }
    (out, order)
}

fn db_error(connection: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::Database {
        connection: connection.to_string(),
        message: e.to_string(),
    }
}

/// A parameter value in the type the server asked for.
fn bind_value(
    name: &str,
    wanted: &Type,
    range: TimeRange,
    step_ms: i64,
    connection: &str,
) -> Result<Box<dyn tokio_postgres::types::ToSql + Sync + Send>, SourceError> {
    let ms = match name {
        "from" => range.start,
        "to" => range.end,
        _ => step_ms,
    };
    let is_step = name == "step";
    let as_time =
        |ms: i64| SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    Ok(match *wanted {
        Type::TIMESTAMPTZ | Type::TIMESTAMP if !is_step => Box::new(as_time(ms)),
        Type::INT8 => Box::new(ms / 1000),
        Type::INT4 => Box::new((ms / 1000) as i32),
        Type::FLOAT8 => Box::new(ms as f64 / 1000.0),
        Type::TEXT | Type::VARCHAR if !is_step => Box::new(whyline_series::format_time(ms)),
        ref other => {
            return Err(SourceError::Database {
                connection: connection.to_string(),
                message: format!(
                    "`${name}` is used where the server expects {other}; whyline binds {}: cast it, e.g. {}",
                    if is_step {
                        "the step as seconds (bigint or double precision)"
                    } else {
                        "times as timestamptz, bigint seconds or text"
                    },
                    if is_step {
                        "`$step * interval '1 second'`"
                    } else {
                        "`$from::timestamptz`"
                    }
                ),
            });
        }
    })
}

/// Unix ms of a timestamp cell, by its column type.
fn pg_time(row: &tokio_postgres::Row, ty: &Type) -> Result<Option<i64>, String> {
    let ms = match *ty {
        Type::TIMESTAMPTZ | Type::TIMESTAMP => row
            .try_get::<_, Option<SystemTime>>(0)
            .map_err(|e| e.to_string())?
            .map(|t| match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            }),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(0)
            .map_err(|e| e.to_string())?
            .map(|s| s * 1000),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(0)
            .map_err(|e| e.to_string())?
            .map(|s| i64::from(s) * 1000),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(0)
            .map_err(|e| e.to_string())?
            .map(|s| (s * 1000.0).round() as i64),
        _ => return Err(String::new()),
    };
    Ok(ms)
}

fn pg_value(row: &tokio_postgres::Row, ty: &Type) -> Result<Option<f64>, String> {
    Ok(match *ty {
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(1)
            .map_err(|e| e.to_string())?,
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(1)
            .map_err(|e| e.to_string())?
            .map(f64::from),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(1)
            .map_err(|e| e.to_string())?
            .map(|v| v as f64),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(1)
            .map_err(|e| e.to_string())?
            .map(f64::from),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(1)
            .map_err(|e| e.to_string())?
            .map(f64::from),
        _ => return Err(String::new()),
    })
}

/// Runs a PostgreSQL query returning (timestamp, value) rows.
pub async fn query_postgres(
    client: &tokio_postgres::Client,
    connection: &str,
    query: &str,
    range: TimeRange,
    step_ms: i64,
) -> Result<Vec<(i64, f64)>, SourceError> {
    let (text, order) = positional(query);
    let statement = client
        .prepare(&text)
        .await
        .map_err(|e| db_error(connection, pg_message(&e)))?;
    let mut params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = Vec::new();
    for (name, ty) in order.iter().zip(statement.params()) {
        params.push(bind_value(name, ty, range, step_ms, connection)?);
    }
    let columns = statement.columns();
    if columns.len() != 2 {
        let names: Vec<&str> = columns.iter().map(|c| c.name()).collect();
        return Err(db_error(connection, column_count_message(&names)));
    }
    let (time_type, value_type) = (columns[0].type_().clone(), columns[1].type_().clone());
    let place = "the query".to_string();
    if !matches!(
        time_type,
        Type::TIMESTAMPTZ | Type::TIMESTAMP | Type::INT8 | Type::INT4 | Type::FLOAT8
    ) {
        return Err(SourceError::WrongType {
            place,
            column: columns[0].name().to_string(),
            found: time_type.to_string(),
            expected: "a timestamp".to_string(),
            hint: Some(
                "return timestamptz, or Unix seconds as bigint or double precision".to_string(),
            ),
        });
    }
    if !matches!(
        value_type,
        Type::FLOAT8 | Type::FLOAT4 | Type::INT8 | Type::INT4 | Type::INT2
    ) {
        return Err(SourceError::WrongType {
            place,
            column: columns[1].name().to_string(),
            found: value_type.to_string(),
            expected: "a number".to_string(),
            hint: Some(format!(
                "cast it in the query: `{}::double precision`",
                columns[1].name()
            )),
        });
    }
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let rows = client
        .query(&statement, &refs)
        .await
        .map_err(|e| db_error(connection, pg_message(&e)))?;
    let mut points = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(t) = pg_time(row, &time_type).map_err(|e| db_error(connection, e))? else {
            continue;
        };
        let v = pg_value(row, &value_type).map_err(|e| db_error(connection, e))?;
        // A NULL value is a missing point, not an error.
        if let Some(v) = v {
            points.push((t, v));
        }
    }
    Ok(points)
}

/// Why a query must return exactly two columns: a third (a label, a second
/// value) would be ignored silently, and one is not a series.
fn column_count_message(names: &[&str]) -> String {
    format!(
        "the query returns {} column(s) ({}); it must return exactly (timestamp, value): select those two, and aggregate per time in the query",
        names.len(),
        names.join(", ")
    )
}

/// The server's own message and hint, without the driver's prefix.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.hint() {
            Some(hint) => format!("{} (hint: {hint})", db.message()),
            None => db.message().to_string(),
        },
        None => crate::error_chain(e),
    }
}

/// Runs an SQLite query returning (timestamp, value) rows; blocking.
pub fn query_sqlite(
    path: &Path,
    connection: &str,
    query: &str,
    range: TimeRange,
    step_ms: i64,
) -> Result<Vec<(i64, f64)>, SourceError> {
    use rusqlite::types::ValueRef;
    if !path.exists() {
        return Err(SourceError::Io {
            path: path.to_path_buf(),
            message: "no such file".to_string(),
        });
    }
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| db_error(connection, e))?;
    let mut statement = db.prepare(query).map_err(|e| db_error(connection, e))?;
    if statement.column_count() != 2 {
        let names: Vec<&str> = statement.column_names().collect();
        return Err(db_error(connection, column_count_message(&names)));
    }
    for (name, value) in [
        ("$from", range.start / 1000),
        ("$to", range.end / 1000),
        ("$step", step_ms / 1000),
    ] {
        if let Some(index) = statement
            .parameter_index(name)
            .map_err(|e| db_error(connection, e))?
        {
            statement
                .raw_bind_parameter(index, value)
                .map_err(|e| db_error(connection, e))?;
        }
    }
    let names: Vec<String> = statement.column_names().map(|s| s.to_string()).collect();
    let mut rows = statement.raw_query();
    let mut points = Vec::new();
    let wrong = |column: &str, found: &str, expected: &str| SourceError::WrongType {
        place: "the query".to_string(),
        column: column.to_string(),
        found: found.to_string(),
        expected: expected.to_string(),
        hint: Some(if expected == "a number" {
            format!("cast it in the query: `CAST({column} AS REAL)`")
        } else {
            "return Unix seconds (INTEGER or REAL) or RFC 3339 text".to_string()
        }),
    };
    while let Some(row) = rows.next().map_err(|e| db_error(connection, e))? {
        let time = match row.get_ref(0).map_err(|e| db_error(connection, e))? {
            ValueRef::Integer(s) => s * 1000,
            ValueRef::Real(s) => (s * 1000.0).round() as i64,
            ValueRef::Text(t) => {
                let text = String::from_utf8_lossy(t);
                whyline_series::parse_time(&text)
                    .map_err(|_| wrong(&names[0], &format!("text `{text}`"), "a timestamp"))?
            }
            ValueRef::Null => continue,
            ValueRef::Blob(_) => return Err(wrong(&names[0], "a blob", "a timestamp")),
        };
        let value = match row.get_ref(1).map_err(|e| db_error(connection, e))? {
            ValueRef::Integer(v) => v as f64,
            ValueRef::Real(v) => v,
            // A NULL value is a missing point, not an error.
            ValueRef::Null => continue,
            ValueRef::Text(t) => {
                return Err(wrong(
                    &names[1],
                    &format!("text `{}`", String::from_utf8_lossy(t)),
                    "a number",
                ));
            }
            ValueRef::Blob(_) => return Err(wrong(&names[1], "a blob", "a number")),
        };
        points.push((time, value));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_positional_outside_literals() {
        let (text, order) = positional(
            "select ts, v from t where ts >= $from and ts < $to and note <> '$from' -- $step\n and x = $from",
        );
        assert_eq!(
            text,
            "select ts, v from t where ts >= $1 and ts < $2 and note <> '$from' -- $step\n and x = $1"
        );
        assert_eq!(order, ["from", "to"]);
        let (text, order) = positional("select $step, $fromage, \"$to\", 'it''s $to' /* $to */");
        assert_eq!(text, "select $1, $fromage, \"$to\", 'it''s $to' /* $to */");
        assert_eq!(order, ["step"]);
    }
}
