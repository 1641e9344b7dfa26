//! The two unit grammars `monitor` accepts from people: durations (`"500ms"`, `"1.5s"`) and byte
//! sizes (`"512MiB"`, `"2GB"`).
//!
//! One parser serves both the proc-macro crate (which rejects a bad literal at compile time) and
//! the runtime (which reads the same grammar from environment variables), so the two can never
//! disagree about what `"250ms"` means.
#![deny(missing_docs)]

use std::fmt;

/// Why a duration or byte-size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    input: String,
    expected: &'static str,
}

impl UnitError {
    fn new(input: &str, expected: &'static str) -> Self {
        UnitError {
            input: input.to_owned(),
            expected,
        }
    }

    /// What the parser expected, for example `a number followed by ns, us, ms, s, m or h`.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?}: expected {}",
            self.input, self.expected
        )
    }
}

impl std::error::Error for UnitError {}

/// What [`parse_duration_nanos`] accepts.
pub const DURATION_EXPECTED: &str =
    "a number followed by a unit: ns, us, ms, s, m or h (for example \"500ms\" or \"1.5s\")";

/// What [`parse_bytes`] accepts.
pub const BYTES_EXPECTED: &str =
    "a number followed by a unit: B, KiB, MiB, GiB, TiB, KB, MB, GB or TB (for example \"512MiB\")";

/// Splits `" 1.5 s "` into `(1.5, "s")`, refusing negatives, NaN and a missing unit.
fn split_number(input: &str) -> Option<(f64, &str)> {
    let s = input.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    let number: String = number.chars().filter(|c| *c != '_').collect();
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value, unit.trim()))
}

fn scaled(value: f64, scale: f64) -> Option<u64> {
    let v = (value * scale).round();
    // 2^64 as f64; anything at or past it does not fit.
    if v >= 18_446_744_073_709_551_616.0 {
        None
    } else {
        // Truncation is exact here: `v` is a non-negative whole number below 2^64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(v as u64)
    }
}

/// Parses a duration such as `"500ms"`, `"1.5s"`, `"2m"`, `"250us"` into nanoseconds.
///
/// A unit is required: a bare `"30"` is ambiguous and rejected.
///
/// # Errors
/// A [`UnitError`] naming the input when it is not a non-negative number followed by a unit.
pub fn parse_duration_nanos(input: &str) -> Result<u64, UnitError> {
    let err = || UnitError::new(input, DURATION_EXPECTED);
    let (value, unit) = split_number(input).ok_or_else(err)?;
    let scale = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(err()),
    };
    scaled(value, scale).ok_or_else(err)
}

/// Parses a byte size such as `"512MiB"`, `"1GiB"`, `"2GB"` or `"1048576B"` into bytes.
///
/// Binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1024; decimal units (`KB`, `MB`, `GB`,
/// `TB`) powers of 1000, as their names say. A unit is required.
///
/// # Errors
/// A [`UnitError`] naming the input when it is not a non-negative number followed by a unit.
pub fn parse_bytes(input: &str) -> Result<u64, UnitError> {
    let err = || UnitError::new(input, BYTES_EXPECTED);
    let (value, unit) = split_number(input).ok_or_else(err)?;
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return Err(err()),
    };
    scaled(value, scale).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_nanos("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration_nanos("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_nanos("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration_nanos("250us"), Ok(250_000));
        assert_eq!(parse_duration_nanos(" 30 s "), Ok(30_000_000_000));
        assert_eq!(parse_duration_nanos("1_000ms"), Ok(1_000_000_000));
        assert_eq!(parse_duration_nanos("0s"), Ok(0));
    }

    #[test]
    fn bad_durations() {
        for bad in [
            "",
            "30",
            "ms",
            "-1s",
            "1.5.2s",
            "1 fortnight",
            ".5s",
            "5.s",
            "NaNs",
            "1e3s",
        ] {
            let e = parse_duration_nanos(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        assert!(parse_duration_nanos("99999999999999999999h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("1 GB"), Ok(1_000_000_000));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert_eq!(parse_bytes("10B"), Ok(10));
        assert!(parse_bytes("10").is_err());
        assert!(parse_bytes("10 gigs").is_err());
    }
}
