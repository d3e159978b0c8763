//! What every request passes through before and after its handler: the
//! read-only rule, size limits, the bearer token, the time limit and the
//! security headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::alerts;
use super::api::ApiError;
use super::state::Shared;

/// The longest query string accepted, in bytes.
pub(crate) const MAX_QUERY: usize = 2_048;
/// The largest request body accepted: the API is read-only, so bodies are only tolerated when tiny.
pub(crate) const MAX_BODY: u64 = 1_024;

/// The page loads only its own script, style and data: no inline script,
/// no third-party origin, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Compares without an early exit, so the time taken says nothing about the token.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        diff |= usize::from(given.get(i).copied().unwrap_or(0) ^ e);
    }
    diff == 0
}

/// Whether the request carries the right token (always, when none is set).
fn authorised(headers: &HeaderMap, token: Option<&str>) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this server needs a token: send `Authorization: Bearer TOKEN`",
        )),
        Some(given) if same_secret(given.trim().as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not the one this server was started with",
        )),
    }
}

/// The alert receiver's rules: POST only, always the token (a server started
/// without one refuses), and a body no larger than an Alertmanager post.
fn alert_refusal(request: &Request, token: Option<&str>) -> Option<ApiError> {
    if request.method() != Method::POST {
        return Some(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} is not allowed here: Alertmanager POSTs its webhook",
                request.method()
            ),
        ));
    }
    let Some(token) = token else {
        return Some(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the alert route needs a token, and this server has none: start it with $WHYLINE_TOKEN or --token-file, and give Alertmanager the same token (http_config.authorization)",
        ));
    };
    if let Err(e) = authorised(request.headers(), Some(token)) {
        return Some(e);
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused on the declared length, before a byte of the body is read; a
    // body sent without a length is cut at the same limit while it is read.
    if length.is_some_and(|n| n > alerts::MAX_BODY) {
        return Some(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the post is {} bytes; at most {} are read: lower `max_alerts` in the Alertmanager webhook_config",
                length.unwrap_or(0),
                alerts::MAX_BODY
            ),
        ));
    }
    None
}

/// Refuses what a read-only API must not take; `None` lets the request through.
fn refusal(request: &Request, token: Option<&str>) -> Option<ApiError> {
    if request.uri().path() == alerts::ROUTE {
        return alert_refusal(request, token);
    }
    let query = request.uri().query().map_or(0, str::len);
    if query > MAX_QUERY {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the query string is {query} bytes; at most {MAX_QUERY} are accepted"),
        ));
    }
    let headers = request.headers();
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > MAX_BODY) || headers.contains_key(header::TRANSFER_ENCODING) {
        return Some(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request bodies over {MAX_BODY} bytes are refused: every route is a GET with its parameters in the path or query"
            ),
        ));
    }
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Some(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed: this server is read-only; use GET"),
        ));
    }
    let path = request.uri().path();
    if path.starts_with("/api/") {
        return authorised(headers, token).err();
    }
    None
}

/// Applies the rules, runs the handler within the time limit, adds the headers.
pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let path_is_alerts = request.uri().path() == alerts::ROUTE;
    let mut response = match refusal(&request, shared.config.token.as_deref()) {
        Some(error) => error.into_response(),
        None => {
            let limit = shared.config.request_timeout;
            match tokio::time::timeout(limit, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the request took longer than {} s and was stopped; try again, or ask for less",
                        limit.as_secs_f64()
                    ),
                )
                .into_response(),
            }
        }
    };
    let status = response.status();
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    if api {
        set(header::CACHE_CONTROL, "no-store");
    }
    if status == StatusCode::UNAUTHORIZED {
        set(header::WWW_AUTHENTICATE, "Bearer");
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        set(
            header::ALLOW,
            if path_is_alerts { "POST" } else { "GET, HEAD" },
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
