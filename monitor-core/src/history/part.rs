//! What a fleet run leaves in the history besides whole runs: its opening ([`FleetOpening`],
//! written once by the coordinator or by the first worker to finish) and one [`WorkerPart`] per
//! worker that finished, as one line of JSON each ([`FleetEntry`]).
//!
//! They live apart from the runs (`<history>.fleet.jsonl` beside the JSON Lines file, tables
//! `monitor_fleet_runs` and `monitor_run_parts` in the databases), so a reader of runs, an older
//! `monitor` included, never sees them, and a pipeline's run retention is not spent on parts.

use super::line::{LineError, MAX_LINE_BYTES};
use super::record::RunStatus;
use crate::config::check_fleet_id;
use crate::report::{Report, Timeline};
use serde::{Deserialize, Serialize};

/// The version of the fleet line format this build writes (field `v`).
pub const FLEET_RECORD_VERSION: u32 = 1;

/// A fleet run as its coordinator (or its first worker) opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetOpening {
    /// Format version ([`FLEET_RECORD_VERSION`]).
    pub v: u32,
    /// The run id every worker shares.
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// When it was opened, milliseconds since the Unix epoch.
    pub opened_at_ms: u64,
    /// The machine that opened it.
    #[serde(default)]
    pub host: String,
    /// How many workers the run expects, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_workers: Option<u32>,
    /// The ids of the workers the run expects, when the coordinator listed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
}

impl FleetOpening {
    /// An opening of `run_id` for `pipeline`, now, on this machine.
    #[must_use]
    pub fn new(run_id: &str, pipeline: &str, expected_workers: Option<u32>) -> FleetOpening {
        FleetOpening {
            v: FLEET_RECORD_VERSION,
            run_id: run_id.to_owned(),
            pipeline: pipeline.to_owned(),
            opened_at_ms: crate::base::clock::unix_millis(),
            host: super::host_name(),
            expected_workers: expected_workers.filter(|&n| n > 0),
            workers: Vec::new(),
        }
    }
}

/// One worker's part of a fleet run: its report (each site with its exact durations and
/// histogram; the timeline and chunk list left out) and the keys a store finds it by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerPart {
    /// Format version ([`FLEET_RECORD_VERSION`]).
    pub v: u32,
    /// The run id every worker shares.
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// The worker's id.
    pub worker_id: String,
    /// How the worker's part ended.
    pub status: RunStatus,
    /// Its start, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// The worker's report, compared with the same worker id's history.
    pub report: Report,
}

impl WorkerPart {
    /// The part a worker's finished report makes: `None` when the report is not a fleet
    /// worker's. The timeline and chunk list stay in the worker's own report (they are per
    /// process and can be large); their counts are kept.
    #[must_use]
    pub fn from_report(report: &Report) -> Option<WorkerPart> {
        let worker = report.worker.as_ref()?;
        let mut part = report.clone();
        part.timeline = Timeline {
            calls: Vec::new(),
            calls_not_kept: report.timeline.calls.len() as u64 + report.timeline.calls_not_kept,
            memory: Vec::new(),
            memory_not_kept: report.timeline.memory.len() as u64 + report.timeline.memory_not_kept,
        };
        part.chunks_not_kept += part.chunks.len() as u64;
        part.chunks = Vec::new();
        Some(WorkerPart {
            v: FLEET_RECORD_VERSION,
            run_id: report.run_id.clone(),
            pipeline: report.pipeline.clone(),
            worker_id: worker.id.clone(),
            status: report.status,
            started_at_ms: report.started_at_unix_ms,
            report: part,
        })
    }

    /// Whether this part may feed the worker's baseline.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.status == RunStatus::Ok
    }
}

/// One line of a fleet file (or the record of a fleet row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "lowercase")]
pub enum FleetEntry {
    /// A run opened.
    Open(FleetOpening),
    /// A worker's part.
    Part(Box<WorkerPart>),
}

impl FleetEntry {
    /// The run the entry belongs to.
    #[must_use]
    pub fn run_id(&self) -> &str {
        match self {
            FleetEntry::Open(o) => &o.run_id,
            FleetEntry::Part(p) => &p.run_id,
        }
    }

    /// The pipeline of that run.
    #[must_use]
    pub fn pipeline(&self) -> &str {
        match self {
            FleetEntry::Open(o) => &o.pipeline,
            FleetEntry::Part(p) => &p.pipeline,
        }
    }

    /// When the run was opened, or the part started.
    #[must_use]
    pub fn at_ms(&self) -> u64 {
        match self {
            FleetEntry::Open(o) => o.opened_at_ms,
            FleetEntry::Part(p) => p.started_at_ms,
        }
    }
}

/// The keys of a fleet line, read without the part's report (a reader that only selects lines
/// reads no report).
#[derive(Debug, Deserialize)]
pub(crate) struct FleetKeys {
    pub(crate) entry: String,
    pub(crate) run_id: String,
    pub(crate) pipeline: String,
    #[serde(default)]
    pub(crate) worker_id: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<RunStatus>,
    #[serde(default)]
    pub(crate) started_at_ms: Option<u64>,
    #[serde(default)]
    pub(crate) opened_at_ms: Option<u64>,
}

impl FleetKeys {
    /// When the run was opened, or the part started.
    pub(crate) fn at_ms(&self) -> u64 {
        self.started_at_ms.or(self.opened_at_ms).unwrap_or(0)
    }
}

/// Checks the version first, so a newer format is reported as such rather than as garbage.
fn text_of(bytes: &[u8]) -> Result<&str, LineError> {
    if bytes.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| LineError::NotUtf8)?;
    let text = text.trim_end_matches('\r');
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    match serde_json::from_str::<Version>(text) {
        Ok(Version { v }) if v != FLEET_RECORD_VERSION => Err(LineError::UnsupportedVersion(v)),
        _ => Ok(text),
    }
}

/// Reads only the keys of a fleet line.
pub(crate) fn parse_fleet_keys(bytes: &[u8]) -> Result<FleetKeys, LineError> {
    let text = text_of(bytes)?;
    serde_json::from_str(text).map_err(|e| LineError::Malformed(e.to_string()))
}

/// Parses one fleet line (without its newline).
///
/// # Errors
/// A [`LineError`] saying what is wrong; never panics, whatever the bytes.
pub fn parse_fleet_line(bytes: &[u8]) -> Result<FleetEntry, LineError> {
    let text = text_of(bytes)?;
    let entry: FleetEntry =
        serde_json::from_str(text).map_err(|e| LineError::Malformed(e.to_string()))?;
    validate(&entry)?;
    Ok(entry)
}

fn validate(entry: &FleetEntry) -> Result<(), LineError> {
    let invalid = |what: &str, value: &str, why: String| {
        LineError::Invalid(format!("{what} {value:?} is not valid: expected {why}"))
    };
    check_fleet_id(entry.run_id()).map_err(|e| invalid("run id", entry.run_id(), e))?;
    if entry.pipeline().is_empty() {
        return Err(LineError::Invalid("empty pipeline name".to_owned()));
    }
    if let FleetEntry::Part(p) = entry {
        check_fleet_id(&p.worker_id).map_err(|e| invalid("worker id", &p.worker_id, e))?;
        if p.report.run_id != p.run_id || p.report.pipeline != p.pipeline {
            return Err(LineError::Invalid(format!(
                "the part of run {:?} holds the report of run {:?} of pipeline {:?}",
                p.run_id, p.report.run_id, p.report.pipeline
            )));
        }
        if !(p.report.duration_ms.is_finite() && p.report.duration_ms >= 0.0) {
            return Err(LineError::Invalid(format!(
                "run duration {} ms is not a non-negative number",
                p.report.duration_ms
            )));
        }
    }
    Ok(())
}

/// Encodes a fleet entry as one line of JSON, without the trailing newline.
///
/// # Errors
/// If the entry holds an impossible value (a bad id, a non-finite duration).
pub fn encode_fleet_line(entry: &FleetEntry) -> Result<String, LineError> {
    validate(entry)?;
    let line = serde_json::to_string(entry).map_err(|e| LineError::Invalid(e.to_string()))?;
    if line.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong(line.len()));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part() -> WorkerPart {
        let report = Report::from_json(
            r#"{"schema":"monitor.report/v1","pipeline":"etl","run_id":"r-1",
                "started_at":"2026-01-01T00:00:00.000Z","started_at_unix_ms":1,"duration_ms":2.5,
                "status":"ok","steps":[],"queries":[],"errors":[],
                "worker":{"id":"3","expected_workers":8}}"#,
        )
        .unwrap();
        WorkerPart::from_report(&report).unwrap()
    }

    #[test]
    fn parts_and_openings_round_trip_on_one_line() {
        for entry in [
            FleetEntry::Part(Box::new(part())),
            FleetEntry::Open(FleetOpening::new("r-1", "etl", Some(8))),
        ] {
            let line = encode_fleet_line(&entry).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(parse_fleet_line(line.as_bytes()).unwrap(), entry);
            let keys = parse_fleet_keys(line.as_bytes()).unwrap();
            assert_eq!(keys.run_id, "r-1");
        }
        let line = encode_fleet_line(&FleetEntry::Part(Box::new(part()))).unwrap();
        assert!(line.starts_with(r#"{"entry":"part","v":1,"#), "{line}");
    }

    #[test]
    fn bad_ids_and_newer_versions_are_named() {
        let mut p = part();
        p.worker_id = "a b".into();
        let err = encode_fleet_line(&FleetEntry::Part(Box::new(p))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid record: worker id \"a b\" is not valid: expected 1 to 128"),
            "{err}"
        );
        let line = encode_fleet_line(&FleetEntry::Part(Box::new(part())))
            .unwrap()
            .replace("\"v\":1", "\"v\":9");
        assert_eq!(
            parse_fleet_line(line.as_bytes()).unwrap_err(),
            LineError::UnsupportedVersion(9)
        );
        assert!(matches!(
            parse_fleet_line(b"{\"entry\":\"part\",\"v\":1}"),
            Err(LineError::Malformed(_))
        ));
    }
}
