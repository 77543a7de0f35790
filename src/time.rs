//! Simulated time: an integer count of nanoseconds, and the duration syntax of
//! scenario files (`"250us"`, `"30ms"`, `"2s"`, `"5m"`, `"1h"`).
//!
//! Floating point appears only at the edges (reporting seconds and
//! milliseconds); nothing inside the model adds or compares `f64` times.

use std::fmt;

/// Nanoseconds, the unit of every duration inside the model.
pub type Nanos = u64;

pub const NS_PER_US: u64 = 1_000;
pub const NS_PER_MS: u64 = 1_000_000;
pub const NS_PER_S: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    #[inline]
    pub fn ns(self) -> u64 {
        self.0
    }

    /// This instant plus a duration, saturating instead of overflowing.
    #[inline]
    #[must_use]
    pub fn after(self, d: Nanos) -> SimTime {
        SimTime(self.0.saturating_add(d))
    }

    /// Nanoseconds from `earlier` to `self` (0 if `earlier` is later).
    #[inline]
    pub fn since(self, earlier: SimTime) -> Nanos {
        self.0.saturating_sub(earlier.0)
    }

    /// Seconds, for output only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_duration(self.0 as i64))
    }
}

/// Milliseconds of a duration, for output only.
pub fn ms(d: Nanos) -> f64 {
    d as f64 / NS_PER_MS as f64
}

/// Seconds of a duration, for output only.
pub fn secs(d: Nanos) -> f64 {
    d as f64 / NS_PER_S as f64
}

/// The units a duration string may end with, and their length in nanoseconds.
pub const UNITS: [(&str, u64); 9] = [
    ("ns", 1),
    ("us", NS_PER_US),
    ("µs", NS_PER_US),
    ("ms", NS_PER_MS),
    ("s", NS_PER_S),
    ("m", 60 * NS_PER_S),
    ("min", 60 * NS_PER_S),
    ("h", 3_600 * NS_PER_S),
    ("d", 86_400 * NS_PER_S),
];

/// Why a duration string was refused; the message completes "expected a
/// duration such as \"30ms\", ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    Empty,
    NoUnit,
    UnknownUnit(String),
    BadNumber,
    Negative,
    TooLarge,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => write!(f, "the duration is empty"),
            DurationError::NoUnit => write!(
                f,
                "the number has no unit (write \"30ms\", \"2s\": units ns, us, ms, s, m, h, d)"
            ),
            DurationError::UnknownUnit(u) => {
                write!(f, "unknown unit \"{u}\" (known: ns, us, ms, s, m, h, d)")
            }
            DurationError::BadNumber => write!(f, "not a number followed by a unit"),
            DurationError::Negative => write!(f, "a negative duration is not allowed here"),
            DurationError::TooLarge => write!(f, "the duration is too large (at most 100000d)"),
        }
    }
}

/// The longest duration a scenario may name; keeps every sum of times far
/// from `u64` overflow.
pub const MAX_DURATION: u64 = 100_000 * 86_400 * NS_PER_S;

/// Parses a signed duration such as `"-2.5ms"` into nanoseconds.
///
/// The number may have a fraction; it is converted exactly and rounded to the
/// nearest nanosecond.
pub fn parse_signed_duration(text: &str) -> Result<i64, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(body.len());
    let (number, unit) = (&body[..split], body[split..].trim());
    if number.is_empty() {
        return Err(DurationError::BadNumber);
    }
    if unit.is_empty() {
        return Err(DurationError::NoUnit);
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, s)| s)
        .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
    let number: String = number.chars().filter(|&c| c != '_').collect();
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number.as_str(), ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(DurationError::BadNumber);
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| DurationError::TooLarge)?
    };
    let mut total = int
        .checked_mul(scale as u128)
        .ok_or(DurationError::TooLarge)?;
    if !frac_part.is_empty() {
        // Keep at most 18 fractional digits: finer than a nanosecond for any unit.
        let digits = &frac_part[..frac_part.len().min(18)];
        let frac: u128 = digits.parse().map_err(|_| DurationError::BadNumber)?;
        let denom = 10u128.pow(digits.len() as u32);
        total += (frac * scale as u128 + denom / 2) / denom;
    }
    if total > MAX_DURATION as u128 {
        return Err(DurationError::TooLarge);
    }
    let total = total as i64;
    Ok(if negative { -total } else { total })
}

/// Parses a non-negative duration into nanoseconds.
pub fn parse_duration(text: &str) -> Result<Nanos, DurationError> {
    let v = parse_signed_duration(text)?;
    if v < 0 {
        return Err(DurationError::Negative);
    }
    Ok(v as u64)
}

/// Formats a duration in the largest unit that keeps it short and exact
/// enough for messages: `1.5s`, `250us`, `30ms`.
pub fn format_duration(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    let (value, unit) = if a >= NS_PER_S {
        (a as f64 / NS_PER_S as f64, "s")
    } else if a >= NS_PER_MS {
        (a as f64 / NS_PER_MS as f64, "ms")
    } else if a >= NS_PER_US {
        (a as f64 / NS_PER_US as f64, "us")
    } else {
        (a as f64, "ns")
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{sign}{text}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_exactly() {
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert_eq!(parse_duration("30ms"), Ok(30_000_000));
        assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("1.5ms"), Ok(1_500_000));
        assert_eq!(parse_duration("0.1s"), Ok(100_000_000));
        assert_eq!(parse_duration("1_000ms"), Ok(NS_PER_S));
        assert_eq!(parse_duration(".5s"), Ok(NS_PER_S / 2));
    }

    #[test]
    fn signed_durations_keep_their_sign() {
        assert_eq!(parse_signed_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_signed_duration("+3us"), Ok(3_000));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert_eq!(parse_duration("30"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("3 parsecs"),
            Err(DurationError::UnknownUnit("parsecs".into()))
        );
        assert_eq!(parse_duration("-5ms"), Err(DurationError::Negative));
        assert_eq!(parse_duration("ms"), Err(DurationError::BadNumber));
        assert_eq!(parse_duration("1.2.3s"), Err(DurationError::BadNumber));
        assert_eq!(
            parse_duration("99999999999999999999999999d"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(parse_duration("200000d"), Err(DurationError::TooLarge));
    }

    #[test]
    fn formats_short_units() {
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(250_000), "250us");
        assert_eq!(format_duration(-30_000_000), "-30ms");
        assert_eq!(format_duration(12), "12ns");
    }
}
