//! The Prometheus HTTP API (`/api/v1/query_range`), as spoken by Prometheus,
//! Thanos, Mimir, Cortex and VictoriaMetrics.
//!
//! A window longer than the server's 11,000-points-per-series limit is split
//! into consecutive ranges. Transport errors, time-outs, HTTP 429 and 5xx are
//! retried with exponential back-off; other 4xx are the query's fault and are
//! reported at once with the server's own `errorType` and `error`.

use std::time::Duration;

use whyline_series::{TimeRange, format_time};

use crate::error::SourceError;

/// Prometheus refuses a range query resolving to more points than this per series.
pub const MAX_POINTS_PER_QUERY: i64 = 11_000;

/// How to reach one server.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, with any path prefix (`https://mimir.example/prometheus`).
    pub url: String,
    /// Bearer token (already read from its environment variable).
    pub bearer: Option<String>,
    /// Basic-auth user and password.
    pub basic: Option<(String, String)>,
    /// Tenant for `X-Scope-OrgID`.
    pub tenant: Option<String>,
    /// Per-request time-out.
    pub timeout: Duration,
    /// Total attempts per request (1 = no retry).
    pub attempts: u32,
    /// First back-off delay; doubles each retry.
    pub backoff: Duration,
}

/// Sub-ranges of `range` at `step_ms`, each with at most `max_points` points.
/// Each boundary point belongs to exactly one sub-range.
pub fn split_range(range: TimeRange, step_ms: i64, max_points: i64) -> Vec<(i64, i64)> {
    let step = step_ms.max(1);
    let mut out = Vec::new();
    let mut start = range.start;
    // The last point on the step grid that is still inside the range.
    let last = range.start + (range.end - 1 - range.start).max(0) / step * step;
    while start <= last && range.end > range.start {
        let end = (start + (max_points - 1) * step).min(last);
        out.push((start, end));
        start = end + step;
    }
    out
}

fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{:.3}", ms as f64 / 1000.0)
    }
}

/// Runs a range query and returns its single series' points `(ms, value)`.
pub async fn query_range(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    query: &str,
    range: TimeRange,
    step_ms: i64,
) -> Result<Vec<(i64, f64)>, SourceError> {
    let mut points = Vec::new();
    for (start, end) in split_range(range, step_ms, MAX_POINTS_PER_QUERY) {
        let chunk = query_once(client, endpoint, query, start, end, step_ms).await?;
        points.extend(chunk);
    }
    if points.is_empty() {
        return Err(SourceError::Empty {
            from: format_time(range.start),
            to: format_time(range.end),
        });
    }
    Ok(points)
}

async fn query_once(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    query: &str,
    start: i64,
    end: i64,
    step_ms: i64,
) -> Result<Vec<(i64, f64)>, SourceError> {
    let params = [
        ("query", query.to_string()),
        ("start", seconds(start)),
        ("end", seconds(end)),
        ("step", seconds(step_ms)),
    ];
    let (url, body) = get(client, endpoint, "/api/v1/query_range", &params).await?;
    parse_matrix(&url, &body)
}

/// One series of an instant query: its labels and its value.
pub type Sample = (std::collections::BTreeMap<String, String>, f64);

/// Runs an instant query (`/api/v1/query`) now and returns every series of
/// its vector as (labels, value): one request for many metrics, e.g.
/// `ALERTS{whyline_metric!=""}`.
pub async fn query_instant(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    query: &str,
) -> Result<Vec<Sample>, SourceError> {
    let params = [("query", query.to_string())];
    let (url, body) = get(client, endpoint, "/api/v1/query", &params).await?;
    parse_vector(&url, &body)
}

/// GETs an API path with the endpoint's credentials, retrying what may pass.
async fn get(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    path: &str,
    params: &[(&str, String)],
) -> Result<(String, Vec<u8>), SourceError> {
    let url = format!("{}{path}", endpoint.url.trim_end_matches('/'));
    let attempts = endpoint.attempts.max(1);
    let mut delay = endpoint.backoff;
    let mut last_error = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        let mut request = client.get(&url).query(params).timeout(endpoint.timeout);
        if let Some(token) = &endpoint.bearer {
            request = request.bearer_auth(token);
        }
        if let Some((user, password)) = &endpoint.basic {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(tenant) = &endpoint.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(transport_error(&url, endpoint, attempt, &e));
                continue;
            }
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                last_error = Some(transport_error(&url, endpoint, attempt, &e));
                continue;
            }
        };
        if !status.is_success() {
            let (error_type, message) = error_body(&body);
            let error = SourceError::Http {
                url: url.clone(),
                status: status.as_u16(),
                error_type,
                message,
            };
            if status.as_u16() == 429 || status.is_server_error() {
                last_error = Some(error);
                continue;
            }
            return Err(error);
        }
        return Ok((url, body.to_vec()));
    }
    Err(last_error.unwrap_or(SourceError::Unreachable {
        url,
        message: "no attempt was made".to_string(),
    }))
}

/// A failed send or read, as a time-out or as an unreachable server.
fn transport_error(
    url: &str,
    endpoint: &Endpoint,
    attempt: u32,
    e: &reqwest::Error,
) -> SourceError {
    if e.is_timeout() {
        SourceError::Timeout {
            url: url.to_string(),
            seconds: endpoint.timeout.as_secs_f64(),
            attempts: attempt,
        }
    } else {
        SourceError::Unreachable {
            url: url.to_string(),
            message: crate::error_chain(e),
        }
    }
}

/// Prometheus' `errorType` and `error` from an error body, or the body's start.
fn error_body(body: &[u8]) -> (Option<String>, String) {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let error_type = json
            .get("errorType")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        if let Some(message) = json.get("error").and_then(|v| v.as_str()) {
            return (error_type, message.to_string());
        }
    }
    let text = String::from_utf8_lossy(body);
    (None, text.trim().chars().take(200).collect())
}

fn protocol(url: &str, message: &str) -> SourceError {
    SourceError::Protocol {
        url: url.to_string(),
        message: message.to_string(),
    }
}

/// The `result` list of a successful answer of `result_type`.
fn result_of(
    url: &str,
    body: &[u8],
    result_type: &str,
) -> Result<Vec<serde_json::Value>, SourceError> {
    let mut json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| protocol(url, &format!("invalid JSON ({e})")))?;
    if json.get("status").and_then(|s| s.as_str()) != Some("success") {
        let (error_type, message) = error_body(body);
        return Err(SourceError::Http {
            url: url.to_string(),
            status: 200,
            error_type,
            message,
        });
    }
    let data = json
        .get_mut("data")
        .ok_or_else(|| protocol(url, "no `data`"))?;
    if data.get("resultType").and_then(|t| t.as_str()) != Some(result_type) {
        return Err(protocol(
            url,
            &format!("`resultType` is not `{result_type}`"),
        ));
    }
    match data.get_mut("result").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(result)) => Ok(result),
        _ => Err(protocol(url, "no `result` list")),
    }
}

/// A sample value: a string, "1.5", "NaN", "+Inf" or "-Inf".
fn sample_value(url: &str, value: Option<&serde_json::Value>) -> Result<f64, SourceError> {
    let text = value
        .and_then(|v| v.as_str())
        .ok_or_else(|| protocol(url, "a sample value is not a string"))?;
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        other => other
            .parse::<f64>()
            .map_err(|_| protocol(url, &format!("sample value `{other}` is not a number"))),
    }
}

/// Parses a `matrix` result with exactly one series.
pub fn parse_matrix(url: &str, body: &[u8]) -> Result<Vec<(i64, f64)>, SourceError> {
    let result = result_of(url, body, "matrix")?;
    if result.len() > 1 {
        return Err(SourceError::SeveralSeries {
            count: result.len(),
            labels: result
                .iter()
                .take(3)
                .map(|s| s.get("metric").map(labels).unwrap_or_default())
                .collect(),
        });
    }
    let Some(series) = result.first() else {
        return Ok(Vec::new());
    };
    let values = series
        .get("values")
        .and_then(|v| v.as_array())
        .ok_or_else(|| protocol(url, "a series has no `values`"))?;
    let mut points = Vec::with_capacity(values.len());
    for pair in values {
        let time = pair
            .get(0)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| protocol(url, "a sample has no time"))?;
        points.push((
            (time * 1000.0).round() as i64,
            sample_value(url, pair.get(1))?,
        ));
    }
    Ok(points)
}

/// Parses a `vector` result: every series' labels and value.
pub fn parse_vector(url: &str, body: &[u8]) -> Result<Vec<Sample>, SourceError> {
    let result = result_of(url, body, "vector")?;
    let mut out = Vec::with_capacity(result.len());
    for series in &result {
        let labels = series
            .get("metric")
            .and_then(|m| m.as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let value = sample_value(url, series.get("value").and_then(|v| v.get(1)))?;
        out.push((labels, value));
    }
    Ok(out)
}

/// `{job="a", instance="b"}` from a label object.
fn labels(metric: &serde_json::Value) -> String {
    let Some(map) = metric.as_object() else {
        return "{}".to_string();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or("")))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_gives_every_series_with_its_labels() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"ALERTS","alertname":"RevenueRed","whyline_metric":"revenue","severity":"critical"},"value":[1772485020,"1"]},
            {"metric":{"whyline_metric":"cpu"},"value":[1772485020,"+Inf"]}]}}"#;
        let series = parse_vector("u", body).expect("valid");
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].0["alertname"], "RevenueRed");
        assert_eq!(series[0].1, 1.0);
        assert_eq!(series[1].1, f64::INFINITY);
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(
            parse_vector("u", matrix),
            Err(SourceError::Protocol { .. })
        ));
    }

    #[test]
    fn ranges_split_at_the_points_limit_without_overlap() {
        // 1s step over 25,000 s: 25,000 points -> 11,000 + 11,000 + 3,000.
        let parts = split_range(
            TimeRange {
                start: 0,
                end: 25_000_000,
            },
            1000,
            MAX_POINTS_PER_QUERY,
        );
        assert_eq!(
            parts,
            [
                (0, 10_999_000),
                (11_000_000, 21_999_000),
                (22_000_000, 24_999_000)
            ]
        );
        let total: i64 = parts.iter().map(|(s, e)| (e - s) / 1000 + 1).sum();
        assert_eq!(total, 25_000);
        assert_eq!(
            split_range(
                TimeRange {
                    start: 0,
                    end: 60_000
                },
                60_000,
                MAX_POINTS_PER_QUERY
            ),
            [(0, 0)]
        );
    }

    #[test]
    fn matrix_parsing_handles_special_values_and_several_series() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.5,"1"],[2,"NaN"],[3,"+Inf"]]}]}}"#;
        let points = parse_matrix("u", body).unwrap();
        assert_eq!(points[0], (1500, 1.0));
        assert!(points[1].1.is_nan());
        assert_eq!(points[2].1, f64::INFINITY);
        let two = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[]},{"metric":{"job":"b"},"values":[]}]}}"#;
        let err = parse_matrix("u", two).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the query returned 2 series, whyline needs exactly one: {job=\"a\"}, {job=\"b\"}; aggregate it, e.g. `sum(...)` or `avg by () (...)`"
        );
        assert!(matches!(
            parse_matrix("u", b"<html>"),
            Err(SourceError::Protocol { .. })
        ));
    }
}
