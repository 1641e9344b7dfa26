//! Reads criterion's saved estimates back and prints medians with ratios to a baseline measured
//! in the same run, so the figures quoted in BENCHMARKS.md come from one command.

use std::path::{Path, PathBuf};

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

/// Median (ns) of one benchmark of a group, from `<group>/<id>/new/estimates.json`.
#[must_use]
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

/// Prints `id, median, ratio to baseline` for each id that was measured in this group.
pub fn print_table(group: &str, baseline: &str, ids: &[&str]) {
    let Some(base) = median_ns(group, baseline) else {
        println!("(no estimate for the baseline {group}/{baseline})");
        return;
    };
    println!("\n{group}: medians, and ratio to `{baseline}` ({base:.2} ns), same run");
    println!("| benchmark | median | × {baseline} |");
    println!("|---|---:|---:|");
    for id in ids {
        if let Some(m) = median_ns(group, id) {
            let shown = if m >= 1000.0 {
                format!("{:.2} µs", m / 1000.0)
            } else {
                format!("{m:.2} ns")
            };
            println!("| {id} | {shown} | {:.2} |", m / base);
        }
    }
}
