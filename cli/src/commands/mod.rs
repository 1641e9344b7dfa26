//! One module per subcommand.

pub mod compare;
pub mod grafana;
pub mod history;
pub mod open_run;
pub mod report;
pub mod trend;

use monitor::report::units;

/// A duration cell.
pub fn ms_cell(ms: f64) -> String {
    units::duration_ms(ms)
}

/// A byte-count cell (`-` when absent).
pub fn bytes_cell(b: Option<u64>) -> String {
    b.map_or_else(|| "-".to_owned(), units::bytes)
}
