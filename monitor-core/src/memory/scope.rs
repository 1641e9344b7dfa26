//! [`memory_scope`]: the memory figures of any block, like the seed's `memory_usage_monitor()`
//! context manager, but with the real peak instead of end minus start.
//!
//! ```
//! let scope = monitor_core::memory_scope("build_index");
//! let index: Vec<u64> = (0..100_000).collect();
//! let so_far = scope.current(); // readable while the block runs
//! assert!(so_far.rss_peak >= so_far.rss_start);
//! drop(index);
//! let report = scope.finish(); // or just let it drop: it logs either way
//! assert!(report.rss_peak >= report.rss_end);
//! ```
//!
//! The scope claims an in-flight slot like a monitored step, so the background sampler and the
//! high-water marks give it the same true peak ([`crate::memory::per_call`]). When it ends it logs one
//! `info` event, `memory scope finished` (target `monitor`), with the figures as fields, and a
//! `warn` event, `high memory use`, when its peak passes `MONITOR_MEMORY_WARN`.

use crate::memory::per_call::MemoryFigures;
use crate::memory::per_call::MemoryScope;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// Starts measuring a block; see the [module docs](self).
pub fn memory_scope(name: impl Into<Cow<'static, str>>) -> MemoryScopeGuard {
    crate::start_up();
    MemoryScopeGuard {
        name: name.into(),
        started: Instant::now(),
        scope: Some(MemoryScope::enter(None)),
    }
}

/// The figures of one [`memory_scope`], in bytes: its name and duration around the same
/// [`MemoryFigures`] a monitored call gets. The figures read as fields of the report itself
/// (`report.rss_peak`, through `Deref`), and serialize flat, as they always have. RSS figures are
/// `None` only where the platform cannot read RSS; `heap_peak` and `allocated` need
/// [`crate::TrackingAllocator`]; `allocated` is also `None` when the guard was moved to another
/// thread (allocations are counted per thread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The scope's name.
    pub name: Cow<'static, str>,
    /// How long the scope ran (so far, for [`MemoryScopeGuard::current`]).
    pub duration: Duration,
    /// RSS at the start and end (now, for [`MemoryScopeGuard::current`]), the true peaks and
    /// the thread's allocations while the scope ran.
    #[serde(flatten)]
    pub figures: MemoryFigures,
}

impl std::ops::Deref for MemoryReport {
    type Target = MemoryFigures;

    fn deref(&self) -> &MemoryFigures {
        &self.figures
    }
}

/// Measures a block until [`finish`](MemoryScopeGuard::finish)ed or dropped.
#[derive(Debug)]
#[must_use = "the scope measures until it is dropped; bind it with `let _scope = ...`"]
pub struct MemoryScopeGuard {
    name: Cow<'static, str>,
    started: Instant,
    scope: Option<MemoryScope>,
}

impl MemoryScopeGuard {
    /// The scope's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The figures so far; the current RSS stands in for `rss_end`.
    #[must_use]
    pub fn current(&self) -> MemoryReport {
        let m = self
            .scope
            .as_ref()
            .map(MemoryScope::current)
            .unwrap_or_default();
        MemoryReport {
            name: self.name.clone(),
            duration: self.started.elapsed(),
            figures: m,
        }
    }

    /// Ends the scope, logs it, and returns its figures.
    pub fn finish(mut self) -> MemoryReport {
        self.end()
    }

    fn end(&mut self) -> MemoryReport {
        let m = self.scope.take().map(MemoryScope::exit).unwrap_or_default();
        let report = MemoryReport {
            name: self.name.clone(),
            duration: self.started.elapsed(),
            figures: m,
        };
        log(&report);
        report
    }
}

impl Drop for MemoryScopeGuard {
    fn drop(&mut self) {
        if self.scope.is_some() {
            self.end();
        }
    }
}

fn log(r: &MemoryReport) {
    tracing::info!(
        target: "monitor",
        name = %r.name,
        kind = "scope",
        duration_ms = crate::base::clock::ms(u64::try_from(r.duration.as_nanos()).unwrap_or(u64::MAX)),
        rss_start = r.rss_start,
        rss_end = r.rss_end,
        rss_delta = r.rss_delta(),
        rss_peak = r.rss_peak,
        heap_peak = r.heap_peak,
        allocated = r.allocated,
        peak_approximate = r.peak_approximate,
        "memory scope finished"
    );
    let threshold = crate::config::memory_warn();
    if let Some(peak) = r.rss_peak.filter(|&p| p > threshold) {
        crate::config::stderr_events::surfaced(|| {
            tracing::warn!(
                target: "monitor",
                name = %r.name,
                kind = "scope",
                rss_peak = peak,
                threshold,
                "high memory use"
            );
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report kept its flat JSON form when its figures became a `MemoryFigures`: saved
    /// reports still read back, and a reader sees `rss_peak` beside `name`.
    #[test]
    fn report_serializes_flat_and_reads_back() {
        let report = MemoryReport {
            name: "load".into(),
            duration: Duration::from_millis(5),
            figures: MemoryFigures {
                rss_start: Some(100),
                rss_end: Some(90),
                rss_peak: Some(300),
                heap_peak: None,
                allocated: Some(7),
                peak_approximate: false,
            },
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["rss_peak"], 300);
        assert_eq!(json["name"], "load");
        assert!(json.get("figures").is_none(), "{json}");
        let back: MemoryReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
        assert_eq!(
            (back.rss_delta(), back.rss_growth()),
            (Some(-10), Some(200))
        );
    }
}
