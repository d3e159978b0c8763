//! Durations as users write them in a catalog: `30s`, `5m`, `1h30m`, `250ms`.
//!
//! The grammar is Prometheus' duration syntax (a sequence of integer + unit
//! pairs, units from largest to smallest), so a value copied from a PromQL
//! range selector means the same thing here.

use std::fmt;

/// A non-negative length of time with millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    millis: u64,
}

/// Units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("the duration is empty")]
    Empty,
    /// A number without a unit, other than a bare `0`.
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    /// A unit this grammar does not know.
    #[error("`{0}` is not a duration unit")]
    UnknownUnit(String),
    /// Units out of order or repeated (`5m1h`).
    #[error("units must go from largest to smallest, each at most once")]
    Order,
    /// Does not fit in 64 bits of milliseconds.
    #[error("the duration is too long")]
    Overflow,
    /// A character that is neither digit nor unit letter.
    #[error("unexpected `{0}`")]
    Unexpected(char),
    /// Spaces inside the duration (`5 m`).
    #[error("a duration is written without spaces")]
    Space,
}

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration { millis: 0 };

    /// A duration of `millis` milliseconds.
    pub fn from_millis(millis: u64) -> Self {
        Duration { millis }
    }

    /// A duration of `secs` seconds.
    pub fn from_secs(secs: u64) -> Self {
        Duration {
            millis: secs.saturating_mul(1000),
        }
    }

    /// Length in milliseconds.
    pub fn as_millis(self) -> u64 {
        self.millis
    }

    /// Length in seconds, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// True for a zero-length duration.
    pub fn is_zero(self) -> bool {
        self.millis == 0
    }

    /// Parses `1h30m`-style text.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        if text == "0" {
            return Ok(Duration::ZERO);
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        let mut next_unit = 0; // index into UNITS of the largest unit still allowed
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(unexpected(&text[i..]));
            }
            let number: u64 = text[start..i]
                .parse()
                .map_err(|_| DurationError::Overflow)?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &text[unit_start..i];
            if unit.is_empty() {
                return match bytes.get(i) {
                    None => Err(DurationError::MissingUnit(text.to_string())),
                    Some(_) => Err(unexpected(&text[i..])),
                };
            }
            let position = UNITS
                .iter()
                .position(|(name, _)| *name == unit)
                .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
            if position < next_unit {
                return Err(DurationError::Order);
            }
            next_unit = position + 1;
            let part = number
                .checked_mul(UNITS[position].1)
                .ok_or(DurationError::Overflow)?;
            total = total.checked_add(part).ok_or(DurationError::Overflow)?;
        }
        Ok(Duration { millis: total })
    }
}

fn unexpected(rest: &str) -> DurationError {
    match rest.chars().next() {
        Some(c) if c.is_whitespace() => DurationError::Space,
        Some(c) => DurationError::Unexpected(c),
        None => DurationError::Empty,
    }
}

impl fmt::Display for Duration {
    /// Writes the shortest canonical form, e.g. `1h30m`; zero is `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (name, size) in UNITS {
            if rest >= size {
                write!(f, "{}{}", rest / size, name)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_forms_users_write() {
        assert_eq!(Duration::parse("5m").unwrap().as_millis(), 300_000);
        assert_eq!(Duration::parse("1h30m").unwrap().as_millis(), 5_400_000);
        assert_eq!(Duration::parse("250ms").unwrap().as_millis(), 250);
        assert_eq!(Duration::parse("0").unwrap(), Duration::ZERO);
        assert_eq!(Duration::parse("2d").unwrap().to_string(), "2d");
    }

    #[test]
    fn rejects_what_is_ambiguous() {
        assert_eq!(
            Duration::parse("5"),
            Err(DurationError::MissingUnit("5".into()))
        );
        assert_eq!(Duration::parse("5 minutes"), Err(DurationError::Space));
        assert_eq!(
            Duration::parse("5min"),
            Err(DurationError::UnknownUnit("min".into()))
        );
        assert_eq!(Duration::parse("5m1h"), Err(DurationError::Order));
        assert_eq!(Duration::parse("-5m"), Err(DurationError::Unexpected('-')));
        assert_eq!(
            Duration::parse("99999999999999999999s"),
            Err(DurationError::Overflow)
        );
        assert_eq!(Duration::parse(""), Err(DurationError::Empty));
    }

    proptest! {
        #[test]
        fn display_round_trips(millis in 0u64..10_000_000_000_000) {
            let d = Duration::from_millis(millis);
            prop_assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn never_panics(text in ".{0,24}") {
            let _ = Duration::parse(&text);
        }
    }
}
