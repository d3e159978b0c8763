//! Times as users write them: RFC 3339 or Unix seconds; durations like `7d`.

use chrono::{DateTime, SecondsFormat, Utc};

/// A half-open span of time in Unix milliseconds: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

impl TimeRange {
    /// Length in milliseconds.
    pub fn len_ms(&self) -> i64 {
        self.end - self.start
    }

    /// True when `t` is inside.
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

/// Why a time or duration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Neither RFC 3339 nor a Unix timestamp.
    #[error(
        "`{0}` is not a time: write RFC 3339 (2026-03-02T20:57:00Z), a date (2026-03-02, its midnight UTC) or Unix seconds (1772484000)"
    )]
    BadTime(String),
    /// Not a duration.
    #[error("`{0}` is not a duration ({1}): write e.g. 90d, 6h, 1h30m, 500ms")]
    BadDuration(String, String),
    /// A duration of zero where a length is needed.
    #[error("`{0}` is zero: give a positive duration, e.g. 1m")]
    ZeroDuration(String),
    /// A duration past what a Unix millisecond count can hold.
    #[error("`{0}` is too long: the longest duration is about 292 million years")]
    HugeDuration(String),
    /// A window not written `FROM..TO`.
    #[error("`{0}` is not a window: write FROM..TO, e.g. 2021-01-01..2021-03-31")]
    BadWindow(String),
    /// A window whose start is not before its end.
    #[error("`{0}` is empty: its start is not before its end")]
    EmptyWindow(String),
}

/// Parses RFC 3339 (`2026-03-02T20:57:00Z`, offsets allowed, a space instead of
/// `T` accepted), a bare date (`2026-03-02`, its midnight UTC) or Unix seconds
/// (integer or fractional) into Unix ms: the one grammar of every time a user
/// writes (flags, the API's `at`, data files' time columns).
pub fn parse_time(text: &str) -> Result<i64, TimeError> {
    let text = text.trim();
    if is_bare_date(text) {
        return chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(|| TimeError::BadTime(text.to_string()));
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return seconds
            .checked_mul(1000)
            .ok_or_else(|| TimeError::BadTime(text.to_string()));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && seconds.abs() < 1e15 {
            return Ok((seconds * 1000.0).round() as i64);
        }
        return Err(TimeError::BadTime(text.to_string()));
    }
    let normalised;
    let candidate = if text.len() > 10 && text.as_bytes()[10] == b' ' {
        normalised = format!("{}T{}", &text[..10], &text[11..]);
        normalised.as_str()
    } else {
        text
    };
    DateTime::parse_from_rfc3339(candidate)
        .map(|t| t.timestamp_millis())
        .map_err(|_| TimeError::BadTime(text.to_string()))
}

/// Parses a window `FROM..TO`, each end in [`parse_time`]'s grammar; a bare
/// date as the end means the whole of that day (`2026-01-01..2026-03-31` is
/// the first quarter).
pub fn parse_window(text: &str) -> Result<TimeRange, TimeError> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| TimeError::BadWindow(text.to_string()))?;
    let start = parse_time(a)?;
    let mut end = parse_time(b)?;
    if is_bare_date(b) {
        end += 86_400_000;
    }
    if start >= end {
        return Err(TimeError::EmptyWindow(text.to_string()));
    }
    Ok(TimeRange { start, end })
}

/// Whether `text` is written as a bare date, `YYYY-MM-DD` (a window's end
/// written so means the whole day).
pub fn is_bare_date(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Formats Unix ms as RFC 3339 in UTC, with milliseconds only when needed.
pub fn format_time(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Parses a duration into ms in the catalog's grammar (Prometheus' duration
/// syntax: `90d`, `6h`, `1h30m`, `500ms`; see [`whyline_catalog::Duration`]),
/// so a flag reads durations exactly as a catalog's `lag:` does. Zero is
/// refused: every flag that takes one needs a length.
pub fn parse_duration_ms(text: &str) -> Result<i64, TimeError> {
    let text = text.trim();
    match whyline_catalog::Duration::parse(text) {
        Ok(d) if d.is_zero() => Err(TimeError::ZeroDuration(text.to_string())),
        Ok(d) => {
            i64::try_from(d.as_millis()).map_err(|_| TimeError::HugeDuration(text.to_string()))
        }
        Err(whyline_catalog::DurationError::Overflow) => {
            Err(TimeError::HugeDuration(text.to_string()))
        }
        Err(e) => Err(TimeError::BadDuration(text.to_string(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_from_to_and_a_bare_end_date_is_its_whole_day() {
        assert_eq!(
            parse_window("2026-03-02T20:00:00Z..2026-03-02T21:00:00Z"),
            Ok(TimeRange {
                start: 1_772_481_600_000,
                end: 1_772_485_200_000
            })
        );
        let quarter = parse_window("2026-01-01..2026-03-31").expect("a quarter");
        assert_eq!(quarter.len_ms(), 90 * 86_400_000);
        assert_eq!(
            parse_window("2026-03-02"),
            Err(TimeError::BadWindow("2026-03-02".to_string()))
        );
        assert_eq!(
            parse_window("2026-03-02..2026-03-01T00:00:00Z"),
            Err(TimeError::EmptyWindow(
                "2026-03-02..2026-03-01T00:00:00Z".to_string()
            ))
        );
        assert!(matches!(
            parse_window("2026-03-02..later"),
            Err(TimeError::BadTime(_))
        ));
    }

    #[test]
    fn a_zero_or_overflowing_duration_says_which() {
        assert_eq!(
            parse_duration_ms("0s"),
            Err(TimeError::ZeroDuration("0s".to_string()))
        );
        assert_eq!(
            parse_duration_ms("999999999999999w"),
            Err(TimeError::HugeDuration("999999999999999w".to_string()))
        );
        assert_eq!(parse_duration_ms("90m"), Ok(5_400_000));
    }

    #[test]
    fn parses_rfc3339_and_unix_seconds() {
        assert_eq!(parse_time("2026-03-02T20:57:00Z"), Ok(1_772_485_020_000));
        assert_eq!(
            parse_time("2026-03-02 21:57:00+01:00"),
            Ok(1_772_485_020_000)
        );
        assert_eq!(parse_time("1772485020"), Ok(1_772_485_020_000));
        assert_eq!(parse_time("1772485020.5"), Ok(1_772_485_020_500));
        assert!(parse_time("yesterday").is_err());
        // A bare date is its midnight UTC; an impossible one is refused.
        assert_eq!(parse_time("2026-03-02"), Ok(1_772_409_600_000));
        assert_eq!(parse_time(" 2026-03-02 "), Ok(1_772_409_600_000));
        assert!(parse_time("2026-02-30").is_err());
        assert!(parse_time("2026-3-2").is_err());
        assert!(parse_time("NaN").is_err());
        assert_eq!(format_time(1_772_485_020_000), "2026-03-02T20:57:00Z");
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_ms("7d"), Ok(604_800_000));
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert!(parse_duration_ms("7").is_err());
        assert!(parse_duration_ms("0d").is_err());
        assert!(parse_duration_ms("5m1h").is_err());
        // One grammar with the catalog's `lag:`: compound durations and years.
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("1y"), Ok(365 * 86_400_000));
        assert!(matches!(
            parse_duration_ms("5 m"),
            Err(TimeError::BadDuration(_, why)) if why.contains("without spaces")
        ));
    }
}
