//! The watchdog: a query still running past its slow threshold is reported while it runs, once,
//! with how long it has run so far (the `slow query still running` warning), not only when it
//! ends.
//!
//! It is one periodic task of the background thread ([`crate::sampler::TASKS`]), so it costs no
//! thread of its own and looks at the in-flight calls every `MONITOR_SAMPLE_INTERVAL` (10 ms by
//! default): a report comes at most one interval after the threshold passes. It sees calls that
//! hold an in-flight slot ([`crate::inflight`]): every memory-tracking call does, and a query
//! that declares its own threshold (`#[monitor_query("q", slow = "2s")]`) claims one just for the
//! watchdog. A query on the global threshold only is not watched while it runs (it still warns
//! when it ends): the claim would cost more than the rest of a timing-only call (about 90 ns
//! measured). `MONITOR_WATCHDOG=0` (or `Config::builder().watchdog(false)`) turns the watchdog's
//! claims off altogether.

use crate::callsite::Kind;
use crate::clock;
use crate::sampler::Tick;

/// The periodic task: reports each query in flight past its threshold, once per call.
pub(crate) fn check(tick: &Tick) {
    crate::inflight::for_each_active(|slot| {
        let Some(site) = slot.site() else {
            return;
        };
        let meta = site.metadata();
        if meta.kind != Kind::Query || slot.reported() {
            return;
        }
        let start = slot.start_ticks();
        if start == 0 {
            // Still entering: the start time is not written yet.
            return;
        }
        let threshold = crate::guard::slow_threshold_ns(meta);
        let running = clock::nanos_between(start, tick.now_ticks);
        if running >= threshold && slot.mark_reported() {
            crate::events::query_still_running(meta, running, threshold);
        }
    });
}
