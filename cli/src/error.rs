//! One clear message and a non-zero exit for every failure.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

/// Exit code for bad input: a missing or corrupt file, an unknown step, a bad argument; and for
/// standard output that cannot be written.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of `compare --fail-on-regression` when something regressed.
pub const EXIT_REGRESSION: u8 = 1;
/// Exit code of `compare --fail-on-regression` when there was nothing to compare (no run, a
/// latest run without steps or queries, no baseline), unless `--allow-empty` is given.
pub const EXIT_NOTHING_TO_COMPARE: u8 = 3;

/// A failure the user can act on.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// Bad input, with the message to show.
    pub fn new(message: impl Into<String>) -> Self {
        CliError::with_code(EXIT_BAD_INPUT, message)
    }

    /// A failure with its own exit code.
    pub fn with_code(code: u8, message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code,
        }
    }

    /// Prints `monitor: <message>` on stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        // A closed stderr is no reason to panic.
        let _ = writeln!(std::io::stderr(), "monitor: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<monitor::history::HistoryError> for CliError {
    fn from(e: monitor::history::HistoryError) -> Self {
        CliError::new(e.to_string())
    }
}
