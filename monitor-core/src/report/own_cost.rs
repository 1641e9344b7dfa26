//! What watching a run cost: `monitor`'s own work while the run was open, measured where it was
//! done ([`crate::base::own_cost`]), and the line that says so at the end of the text report.

use super::units::{count, duration_ms};
use super::Report;
use crate::base::clock::ms;
use crate::base::own_cost::{Part, Totals};
use serde::{Deserialize, Serialize};

/// `monitor`'s own work while the run was open, in the whole process. Each figure is measured
/// where the work is done; calls that only time themselves are not (timing them again would
/// double their cost: tens of nanoseconds each, see BENCHMARKS.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnCost {
    /// CPU time of the background sampler thread, ms.
    #[serde(default)]
    pub sampler_cpu_ms: f64,
    /// The sampler's ticks.
    #[serde(default)]
    pub sampler_ticks: u64,
    /// Time memory-tracked calls (every step) spent reading RSS and the kernel marks at entry
    /// and exit, ms, summed over threads.
    #[serde(default)]
    pub memory_reads_ms: f64,
    /// Those calls.
    #[serde(default)]
    pub memory_tracked_calls: u64,
    /// Time spent capturing query plans (`EXPLAIN` round trips, DataFusion's plan text and
    /// findings), ms.
    #[serde(default)]
    pub plan_capture_ms: f64,
    /// Plans captured.
    #[serde(default)]
    pub plans_captured: u64,
    /// Building this report and handing it to the history, exporters and sinks, ms (the copy
    /// they receive has only the building part).
    #[serde(default)]
    pub finish_ms: f64,
}

impl OwnCost {
    /// The figures spent between two readings of the counters.
    #[must_use]
    pub(crate) fn from_totals(spent: &Totals) -> Self {
        OwnCost {
            sampler_cpu_ms: ms(spent.ns(Part::Sampler)),
            sampler_ticks: spent.count(Part::Sampler),
            memory_reads_ms: ms(spent.ns(Part::MemoryReads)),
            memory_tracked_calls: spent.count(Part::MemoryReads),
            plan_capture_ms: ms(spent.ns(Part::PlanCapture)),
            plans_captured: spent.count(Part::PlanCapture),
            finish_ms: 0.0,
        }
    }

    /// Everything above, ms: CPU time of the sampler and time on the pipeline's threads for the
    /// rest, so an upper bound of what monitoring added to the run's wall time when the sampler
    /// competes for a core.
    #[must_use]
    pub fn total_ms(&self) -> f64 {
        self.sampler_cpu_ms + self.memory_reads_ms + self.plan_capture_ms + self.finish_ms
    }

    /// Whether nothing was measured (a report written before this field existed).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == OwnCost::default()
    }

    /// Adds another worker's figures (a fleet run's whole report).
    pub(crate) fn add(&mut self, other: &OwnCost) {
        self.sampler_cpu_ms += other.sampler_cpu_ms;
        self.sampler_ticks += other.sampler_ticks;
        self.memory_reads_ms += other.memory_reads_ms;
        self.memory_tracked_calls += other.memory_tracked_calls;
        self.plan_capture_ms += other.plan_capture_ms;
        self.plans_captured += other.plans_captured;
        self.finish_ms += other.finish_ms;
    }
}

/// `monitor's own work: 41.2 ms (0.48 % of the run): sampler 12.0 ms CPU (850 ticks), ...`,
/// or `None` for a report without the figures.
pub(crate) fn own_cost_line(r: &Report) -> Option<String> {
    let c = &r.own_cost;
    if c.is_empty() {
        return None;
    }
    let share = if r.duration_ms > 0.0 {
        format!(
            " ({:.2} % of the run)",
            100.0 * c.total_ms() / r.duration_ms
        )
    } else {
        String::new()
    };
    Some(format!(
        "monitor's own work: {}{share}: sampler {} CPU ({} ticks), memory readings {} ({} \
         calls), plans {} ({}), report and history {}",
        duration_ms(c.total_ms()),
        duration_ms(c.sampler_cpu_ms),
        count(c.sampler_ticks),
        duration_ms(c.memory_reads_ms),
        count(c.memory_tracked_calls),
        duration_ms(c.plan_capture_ms),
        count(c.plans_captured),
        duration_ms(c.finish_ms),
    ))
}

/// `line` with the space between each number and its unit made non-breaking (U+00A0), so that
/// wrapping the text report never leaves `1.5` at the end of a line and `ms` on the next.
pub(crate) fn unbreakable_units(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut after_digit = false;
    for c in line.chars() {
        if c == ' ' && after_digit {
            out.push('\u{a0}');
        } else {
            out.push(c);
        }
        after_digit = c.is_ascii_digit();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_and_old_reports_have_none() {
        let c = OwnCost {
            sampler_cpu_ms: 12.0,
            sampler_ticks: 850,
            memory_reads_ms: 6.25,
            memory_tracked_calls: 4_213,
            plan_capture_ms: 20.5,
            plans_captured: 14,
            finish_ms: 2.5,
        };
        assert!((c.total_ms() - 41.25).abs() < 1e-9);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<OwnCost>(&json).unwrap(), c);
        assert!(serde_json::from_str::<OwnCost>("{}").unwrap().is_empty());
    }

    #[test]
    fn units_stay_with_their_figures() {
        assert_eq!(
            unbreakable_units("readings 1.5 ms (501 calls), plans 423 µs"),
            "readings 1.5\u{a0}ms (501\u{a0}calls), plans 423\u{a0}µs"
        );
    }
}
