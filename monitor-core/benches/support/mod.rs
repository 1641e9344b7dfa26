//! What the runtime's benchmarks share: one criterion setting, and reading a finished
//! benchmark's median back so a bench can print same-run ratios.

use criterion::Criterion;
use std::path::PathBuf;
use std::time::Duration;

/// 30 samples of 2 s after a 0.5 s warm-up: enough for medians on a noisy 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(30)
}

/// Median in ns of a finished benchmark, read back from criterion's output.
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}
