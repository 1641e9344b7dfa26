//! What every command shares: where the history is, and reading it with its warnings shown.

use crate::error::CliError;
use monitor::history::{
    HistoryLocation, HistorySettings, HistoryStore, LoadedRuns, RunFilter, RunRecord,
};
use std::io::Write as _;

/// The global options, resolved.
#[derive(Debug)]
pub struct Context {
    location: HistoryLocation,
}

impl Context {
    /// `--history` if given, else `MONITOR_HISTORY`, else the default file.
    pub fn new(history: Option<&str>) -> Result<Context, CliError> {
        let location = match history {
            Some(h) => HistoryLocation::parse(h).map_err(|expected| {
                CliError::new(format!("--history {h:?}: expected {expected}"))
            })?,
            None => {
                let (settings, errors) = HistorySettings::from_env();
                if let Some(e) = errors.iter().find(|e| e.variable == "MONITOR_HISTORY") {
                    return Err(CliError::new(e.to_string()));
                }
                settings.location
            }
        };
        Ok(Context { location })
    }

    /// Opens the store; a history file must exist.
    pub fn open(&self) -> Result<Box<dyn HistoryStore>, CliError> {
        if let HistoryLocation::File(path) = &self.location {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_dir() => {
                    return Err(CliError::new(format!(
                        "history file {} is a directory",
                        path.display()
                    )))
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(CliError::new(format!(
                        "no history at {}: run a pipeline first, or point --history (or MONITOR_HISTORY) at one",
                        path.display()
                    )))
                }
                Err(e) => {
                    return Err(CliError::new(format!(
                        "history file {}: {e}",
                        path.display()
                    )))
                }
            }
        }
        Ok(self.location.open()?)
    }

    /// Opens the store whether or not a history file exists yet (a fleet run's parts live beside
    /// it, in `<history>.fleet.jsonl`).
    pub fn open_any(&self) -> Result<Box<dyn HistoryStore>, CliError> {
        Ok(self.location.open()?)
    }

    /// Loads the runs `filter` selects. Unreadable lines are reported on stderr and skipped; a
    /// store where nothing at all is readable is an error (it is not a history).
    pub fn load(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, CliError> {
        let mut store = self.open()?;
        let LoadedRuns { runs, skipped } = store.load(filter)?;
        let location = store.location();
        if runs.is_empty() && !skipped.is_empty() {
            // Is anything readable at all? If not, this is not a history.
            let everything = store.load(&RunFilter::all())?;
            if everything.runs.is_empty() {
                let first = &skipped[0];
                return Err(CliError::new(format!(
                    "{location} is not a monitor history: line {}: {}",
                    first.line, first.error
                )));
            }
        }
        for s in &skipped {
            // Never a panic for a closed stderr.
            let _ = writeln!(
                std::io::stderr(),
                "monitor: warning: {location}, line {}: skipped unreadable line: {}",
                s.line,
                s.error
            );
        }
        Ok(runs)
    }
}
