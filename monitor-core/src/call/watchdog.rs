//! The watchdog: a query still running past its slow threshold is reported while it runs, once,
//! with how long it has run so far (the `slow query still running` warning), not only when it
//! ends.
//!
//! It is one periodic task of the background thread (registered with [`crate::background::sampler::register_task`]), so it costs no
//! thread of its own and looks at the running queries every `MONITOR_SAMPLE_INTERVAL` (10 ms by
//! default): a report comes at most one interval after the threshold passes. Every query is
//! watched, with its own `slow` or the global `MONITOR_SLOW_QUERY`: memory-tracking ones through
//! their in-flight slot ([`crate::background::inflight`]), synchronous timing-only ones through their
//! thread's record (`running.rs`, two plain stores per call), async ones through an
//! in-flight slot of their own (a future can move between threads) while at most half the table
//! is taken, so that concurrent async queries never leave memory-tracking steps without a slot.
//! `MONITOR_WATCHDOG=0` (or `Config::builder().watchdog(false)`) turns the watching off.

use crate::background::sampler::Tick;
use crate::base::clock;
use crate::site::{Kind, Metadata};

/// The periodic task: reports each query in flight past its threshold, once per call.
pub(crate) fn check(tick: &Tick) {
    let mut check_one = |meta: &'static Metadata, start: u64, report_once: &dyn Fn() -> bool| {
        if meta.kind != Kind::Query || start == 0 {
            // Not a query, or still entering: the start time is not written yet.
            return;
        }
        let threshold = meta.slow_threshold_ns();
        let running = clock::nanos_between(start, tick.now_ticks);
        if running >= threshold && report_once() {
            crate::call::events::query_still_running(meta, running, threshold);
        }
    };
    crate::background::inflight::for_each_active(|slot| {
        if let Some(site) = slot.site() {
            if !slot.reported() {
                check_one(site, slot.start_ticks(), &|| slot.mark_reported());
            }
        }
    });
    crate::background::running::for_each(&mut check_one);
}
