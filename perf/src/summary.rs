//! Reads criterion's saved estimates back and prints medians, their confidence intervals and
//! ratios to a baseline measured in the same run, so the figures quoted in BENCHMARKS.md come
//! from one command. Estimates left by an earlier run (a benchmark filtered out this time) are
//! never mixed in: only files written since this process started are read.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Criterion's output directory: `$CARGO_TARGET_DIR/criterion`, else `target/criterion` found
/// from the bench executable's own path (`target/release/deps/overhead-…`).
#[must_use]
pub fn criterion_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return Path::new(&dir).join("criterion");
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map_or_else(
            || PathBuf::from("target/criterion"),
            |t| t.join("criterion"),
        )
}

/// When this process started: Linux gives `/proc/<pid>` that time. Elsewhere `None`, and every
/// estimate is taken as this run's.
fn process_start() -> Option<SystemTime> {
    std::fs::metadata(format!("/proc/{}", std::process::id()))
        .and_then(|m| m.modified())
        .ok()
}

/// A benchmark's median and its 95 % confidence interval, nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The median's point estimate.
    pub median: f64,
    /// The interval's lower bound.
    pub lower: f64,
    /// The interval's upper bound.
    pub upper: f64,
}

/// The estimate of one benchmark of a group from `<group>/<id>/new/estimates.json`, if this
/// process wrote it (a stale file from an earlier run gives `None`).
#[must_use]
pub fn estimate(group: &str, id: &str) -> Option<Estimate> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    if let Some(start) = process_start() {
        let written = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if written < start {
            return None;
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let m = v.get("median")?;
    let ci = m.get("confidence_interval")?;
    Some(Estimate {
        median: m.get("point_estimate")?.as_f64()?,
        lower: ci.get("lower_bound")?.as_f64()?,
        upper: ci.get("upper_bound")?.as_f64()?,
    })
}

/// Median (ns) of one benchmark of a group measured in this run.
#[must_use]
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    estimate(group, id).map(|e| e.median)
}

fn shown(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.2} ns")
    }
}

/// Prints `id, median [interval], ratio to baseline` for each id measured in this run; ids not
/// measured now are listed as such, never filled from an earlier run.
pub fn print_table(group: &str, baseline: &str, ids: &[&str]) {
    let Some(base) = estimate(group, baseline) else {
        println!("(no estimate for the baseline {group}/{baseline} in this run)");
        return;
    };
    println!(
        "\n{group}: medians with their 95 % interval, and the ratio to `{baseline}` ({}), all \
         measured by this one run",
        shown(base.median)
    );
    println!("| benchmark | median | 95 % interval | × {baseline} |");
    println!("|---|---:|---:|---:|");
    for id in ids {
        match estimate(group, id) {
            Some(e) => println!(
                "| {id} | {} | {}–{} | {:.2} |",
                shown(e.median),
                shown(e.lower),
                shown(e.upper),
                e.median / base.median
            ),
            None => println!("| {id} | not measured in this run | | |"),
        }
    }
}
