//! The one clock: "now" for every window that ends now (`--since` without
//! `--to`, `why` without `--at` over a network source, the server's
//! refreshes and staleness).

/// Now, in Unix milliseconds (0 on a clock set before 1970).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
