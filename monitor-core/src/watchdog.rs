//! The watchdog: a query still running past its slow threshold is reported while it runs, once,
//! with how long it has run so far (the `slow query still running` warning), not only when it
//! ends.
//!
//! It is one periodic task of the background thread ([`crate::sampler::TASKS`]), so it costs no
//! thread of its own and looks at the in-flight calls every `MONITOR_SAMPLE_INTERVAL` (10 ms by
//! default): a report comes at most one interval after the threshold passes. Every query holds an
//! in-flight slot while it runs ([`crate::inflight`]); queries that do not track memory claim one
//! just for the watchdog, and `MONITOR_WATCHDOG=0` (or `Config::builder().watchdog(false)`) turns
//! that off.

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
