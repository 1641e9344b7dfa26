//! Code a user writes after `observability = { package = "pipeline-monitor", .. }` in their
//! `Cargo.toml`: no crate named `monitor` exists here, so every generated path must go through
//! `crate = observability`.

use observability::{monitor_query, monitor_step, ErrorLabel};

/// An error whose variants name the `error_type` label.
#[derive(Debug, ErrorLabel)]
#[error_label(crate = observability)]
pub enum LoadError {
    /// The source was empty.
    Empty,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("empty source")
    }
}

/// A step: its rows come from the returned `Vec`.
#[monitor_step(rows, crate = observability)]
pub fn load(n: u64) -> Result<Vec<u64>, LoadError> {
    if n == 0 {
        return Err(LoadError::Empty);
    }
    Ok((0..n).collect())
}

/// A query, timed only.
#[monitor_query("renamed_sum", crate = observability)]
pub fn sum(values: &[u64]) -> u64 {
    values.iter().sum()
}

/// An async query.
#[monitor_query("renamed_async", crate = observability)]
pub async fn fetch(n: u64) -> u64 {
    n * 2
}
