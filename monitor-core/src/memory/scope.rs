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

/// The figures of one [`memory_scope`], in bytes. RSS figures are `None` only where the platform
/// cannot read RSS; `heap_peak` and `allocated` need [`crate::TrackingAllocator`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The scope's name.
    pub name: Cow<'static, str>,
    /// How long the scope ran (so far, for [`MemoryScopeGuard::current`]).
    pub duration: Duration,
    /// RSS when the scope began.
    pub rss_start: Option<u64>,
    /// RSS when it ended (now, for [`MemoryScopeGuard::current`]).
    pub rss_end: Option<u64>,
    /// Highest RSS of the process while the scope ran.
    pub rss_peak: Option<u64>,
    /// Highest live heap of the process while the scope ran.
    pub heap_peak: Option<u64>,
    /// Bytes the scope's thread allocated while it ran; `None` without the tracking allocator,
    /// or when the guard was moved to another thread (allocations are counted per thread).
    pub allocated: Option<u64>,
    /// The peak comes without the sampler's help (the in-flight table was full).
    pub peak_approximate: bool,
}

impl MemoryReport {
    fn new(name: Cow<'static, str>, duration: Duration, m: MemoryFigures) -> Self {
        MemoryReport {
            name,
            duration,
            rss_start: m.rss_start,
            rss_end: m.rss_end,
            rss_peak: m.rss_peak,
            heap_peak: m.heap_peak,
            allocated: m.allocated,
            peak_approximate: m.peak_approximate,
        }
    }

    /// `rss_end - rss_start`, signed (memory released in the block makes it negative).
    #[must_use]
    pub fn rss_delta(&self) -> Option<i64> {
        let (s, e) = (self.rss_start?, self.rss_end?);
        let s = i64::try_from(s).ok()?;
        let e = i64::try_from(e).ok()?;
        Some(e - s)
    }

    /// `rss_peak - rss_start`: how far above its starting point the block took the process.
    #[must_use]
    pub fn rss_growth(&self) -> Option<u64> {
        Some(self.rss_peak?.saturating_sub(self.rss_start?))
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
        MemoryReport::new(self.name.clone(), self.started.elapsed(), m)
    }

    /// Ends the scope, logs it, and returns its figures.
    pub fn finish(mut self) -> MemoryReport {
        self.end()
    }

    fn end(&mut self) -> MemoryReport {
        let m = self.scope.take().map(MemoryScope::exit).unwrap_or_default();
        let report = MemoryReport::new(self.name.clone(), self.started.elapsed(), m);
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
