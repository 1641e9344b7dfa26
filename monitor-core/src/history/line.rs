//! One history line: encoding a [`RunRecord`] as a single line of JSON, and parsing a line back
//! with an error that says what is wrong instead of a panic.
//!
//! The same text is what the SQLite and PostgreSQL stores keep in their `record` column, so every
//! store reads through [`parse_line`].

use super::record::{RunRecord, RECORD_VERSION};
use std::fmt;

/// Longest line accepted (a run with thousands of sites stays far below it); longer input is
/// refused before parsing so a garbage file cannot make a reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Why a history line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// The line is not UTF-8.
    NotUtf8,
    /// The line is longer than [`MAX_LINE_BYTES`].
    TooLong(usize),
    /// The line is not a JSON object of the expected shape (truncated, corrupt, missing field).
    Malformed(String),
    /// The line was written by a format version this build does not read.
    UnsupportedVersion(u32),
    /// The JSON is well formed but a value is impossible (negative or non-finite duration, empty
    /// pipeline name).
    Invalid(String),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::NotUtf8 => f.write_str("not UTF-8 text"),
            LineError::TooLong(n) => write!(f, "line of {n} bytes is longer than the limit of {MAX_LINE_BYTES}"),
            LineError::Malformed(m) => write!(f, "not a history record: {m}"),
            LineError::UnsupportedVersion(v) => write!(
                f,
                "record format version {v} is not supported by this build (it reads version {RECORD_VERSION})"
            ),
            LineError::Invalid(m) => write!(f, "invalid record: {m}"),
        }
    }
}

impl std::error::Error for LineError {}

impl LineError {
    /// The line was written in a newer record format than this build reads (by a newer
    /// `monitor` sharing the history). Such a line is not damaged: stores skip it with one note
    /// per read and never move it aside.
    #[must_use]
    pub fn is_newer_version(&self) -> bool {
        matches!(self, LineError::UnsupportedVersion(v) if *v > RECORD_VERSION)
    }
}

/// Parses one line (without its newline) as a [`RunRecord`].
///
/// # Errors
/// A [`LineError`] saying what is wrong; never panics, whatever the bytes.
pub fn parse_line(bytes: &[u8]) -> Result<RunRecord, LineError> {
    if bytes.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| LineError::NotUtf8)?;
    let text = text.trim_end_matches('\r');
    // Read the version first, so a newer format is reported as such rather than as garbage.
    #[derive(serde::Deserialize)]
    struct Version {
        v: u32,
    }
    match serde_json::from_str::<Version>(text) {
        Ok(Version { v }) if v != RECORD_VERSION => return Err(LineError::UnsupportedVersion(v)),
        _ => {}
    }
    let record: RunRecord =
        serde_json::from_str(text).map_err(|e| LineError::Malformed(e.to_string()))?;
    validate(&record)?;
    Ok(record)
}

fn validate(r: &RunRecord) -> Result<(), LineError> {
    if r.pipeline.is_empty() {
        return Err(LineError::Invalid("empty pipeline name".to_owned()));
    }
    if !(r.duration_ms.is_finite() && r.duration_ms >= 0.0) {
        return Err(LineError::Invalid(format!(
            "run duration {} ms is not a non-negative number",
            r.duration_ms
        )));
    }
    for s in &r.sites {
        if s.name.is_empty() {
            return Err(LineError::Invalid("a site has an empty name".to_owned()));
        }
        for (what, v) in [("total_ms", s.total_ms), ("p95_ms", s.p95_ms)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(LineError::Invalid(format!(
                    "site {:?}: {what} {v} is not a non-negative number",
                    s.name
                )));
            }
        }
    }
    Ok(())
}

/// Encodes a record as one line of JSON, without the trailing newline.
///
/// # Errors
/// If the record holds a value JSON cannot carry (a non-finite duration).
pub fn encode_line(record: &RunRecord) -> Result<String, LineError> {
    validate(record)?;
    // serde_json never emits a raw newline (control characters in strings are escaped), so the
    // result is always exactly one line.
    serde_json::to_string(record).map_err(|e| LineError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::{RunStatus, SiteRecord};
    use crate::Kind;

    fn sample() -> RunRecord {
        RunRecord {
            v: RECORD_VERSION,
            run_id: "r1".into(),
            pipeline: "nightly\netl".into(),
            status: RunStatus::Ok,
            started_at_ms: 1_700_000_000_000,
            duration_ms: 1234.5,
            host: "h".into(),
            version: Some("v1".into()),
            sites: vec![SiteRecord {
                name: "load".into(),
                kind: Kind::Step,
                calls: 3,
                errors: 0,
                total_ms: 12.5,
                p95_ms: 5.0,
                rows: Some(10),
                rows_in: None,
                rss_peak: Some(1 << 20),
                heap_peak: None,
            }],
        }
    }

    #[test]
    fn round_trips_on_one_line() {
        let line = encode_line(&sample()).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(parse_line(line.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn truncated_line_is_malformed() {
        let line = encode_line(&sample()).unwrap();
        let err = parse_line(&line.as_bytes()[..line.len() / 2]).unwrap_err();
        assert!(matches!(err, LineError::Malformed(_)), "{err}");
        assert!(
            err.to_string().starts_with("not a history record: "),
            "{err}"
        );
    }

    #[test]
    fn newer_version_is_named() {
        let line = encode_line(&sample())
            .unwrap()
            .replace("\"v\":1", "\"v\":7");
        let err = parse_line(line.as_bytes()).unwrap_err();
        assert_eq!(err, LineError::UnsupportedVersion(7));
        assert!(err.is_newer_version());
        let older = encode_line(&sample())
            .unwrap()
            .replace("\"v\":1", "\"v\":0");
        assert!(!parse_line(older.as_bytes()).unwrap_err().is_newer_version());
    }

    #[test]
    fn negative_duration_is_invalid() {
        let line = encode_line(&sample())
            .unwrap()
            .replace("\"total_ms\":12.5", "\"total_ms\":-1.0");
        let err = parse_line(line.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("total_ms -1"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_reported() {
        assert_eq!(parse_line(b"{\"v\":1,\xff}"), Err(LineError::NotUtf8));
    }
}
