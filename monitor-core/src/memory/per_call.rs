//! Memory figures of one call: RSS at entry and exit, and the true peak in between.
//!
//! The peak of a call is the largest of:
//! - its RSS at entry and at exit;
//! - every RSS reading the background sampler ([`crate::background::sampler`], every
//!   `MONITOR_SAMPLE_INTERVAL`) folded into the call's in-flight slot while it ran;
//! - the kernel's RSS high-water mark, wherever [`crate::memory::peak`]'s validity rule allows it: the
//!   sampler folds it into every active call before resetting it, and the call folds it once more
//!   at exit. This catches spikes shorter than the sampling interval.
//!
//! With [`crate::TrackingAllocator`] installed, the live heap gets the same treatment (`heap_peak`)
//! and the calling thread's allocations are counted (`allocated`).
//!
//! RSS and the heap are process-wide: a call's peak includes what other threads held at the same
//! time. Two steps running side by side both see the process's peak.

use crate::background::inflight::{self, ClaimMarks, InFlight};
use crate::background::sampler::Tick;
use crate::base::own_cost;
use crate::memory::peak::{self, Marks};
use crate::site::Metadata;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Memory figures of one call, in bytes. `None` means "not measured", never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryFigures {
    /// RSS at entry.
    pub rss_start: Option<u64>,
    /// RSS at exit.
    pub rss_end: Option<u64>,
    /// Highest RSS seen during the call (sampler and kernel high-water mark combined).
    pub rss_peak: Option<u64>,
    /// Highest live heap of the process during the call (needs `TrackingAllocator`).
    pub heap_peak: Option<u64>,
    /// Bytes allocated by the calling thread during the call (needs `TrackingAllocator`).
    pub allocated: Option<u64>,
    /// The in-flight table was full, so the background sampler could not fold its readings into
    /// this call: `rss_peak`/`heap_peak` come from entry, exit and the high-water marks (which
    /// the sampler stops resetting meanwhile), so a spike below the mark at entry can be missed.
    pub peak_approximate: bool,
}

impl MemoryFigures {
    /// `rss_end - rss_start`, signed (memory released during the call makes it negative).
    #[must_use]
    pub fn rss_delta(&self) -> Option<i64> {
        let (s, e) = (self.rss_start?, self.rss_end?);
        let s = i64::try_from(s).ok()?;
        let e = i64::try_from(e).ok()?;
        Some(e - s)
    }

    /// `rss_peak - rss_start`: how far above its starting point the call took the process.
    #[must_use]
    pub fn rss_growth(&self) -> Option<u64> {
        Some(self.rss_peak?.saturating_sub(self.rss_start?))
    }
}

/// Memory-tracked calls running without a slot (the table was full). While there are any, the
/// sampler does not reset the marks: a reset would erase a spike that nothing folded into them.
static UNTRACKED: AtomicUsize = AtomicUsize::new(0);

/// Memory state captured at a call's entry, finished into [`MemoryFigures`] at its exit.
#[derive(Debug)]
pub struct MemoryScope {
    /// Time spent reading at entry, charged to monitor's own cost with the exit's at exit.
    reading_ns: u64,
    rss_start: Option<u64>,
    heap_start: Option<u64>,
    /// The marks and fault count read at entry (the exit compares its fault count with this one:
    /// see "Quiet calls" in `crate::memory::peak`).
    entry: peak::EntryMarks,
    slot: Option<InFlight>,
    /// Bytes the call's threads allocated while it ran on them, summed over resumptions; `None`
    /// once that is unknowable (untracked, or a guard moved threads between two readings).
    allocated: Option<u64>,
    /// The thread (see `alloc::thread_counter`) and its allocation counter when the call last
    /// started running on it; `None` while suspended (async) or untracked.
    alloc_mark: Option<(usize, u64)>,
}

fn claim_marks(m: &Marks) -> ClaimMarks {
    ClaimMarks {
        epoch: m.epoch,
        rss: m.rss.unwrap_or(u64::MAX),
        heap: m.heap.unwrap_or(u64::MAX),
    }
}

impl MemoryScope {
    /// Reads RSS, the heap and the high-water marks at entry and claims an in-flight slot so the
    /// sampler folds its readings into this call. `site` is `None` for a
    /// [`memory_scope`](crate::memory_scope()) block.
    #[must_use]
    pub fn enter(site: Option<&'static Metadata>) -> Self {
        let began = crate::base::clock::now_ticks();
        let rss_start = crate::base::rss::current_rss();
        let heap_start = crate::memory::alloc::live();
        let entry = peak::entry_marks();
        let claim = claim_marks(&entry.marks);
        let slot = inflight::claim(site, 0);
        match &slot {
            Some(s) => s.track_memory(rss_start.unwrap_or(0), heap_start.unwrap_or(0), claim),
            None => {
                UNTRACKED.fetch_add(1, Ordering::SeqCst);
            }
        }
        MemoryScope {
            reading_ns: crate::base::clock::nanos_between(began, crate::base::clock::now_ticks()),
            rss_start,
            heap_start,
            entry,
            slot,
            allocated: heap_start.map(|_| 0),
            alloc_mark: crate::memory::alloc::thread_counter(),
        }
    }

    /// The in-flight slot, if one was free (periodic tasks can see the call through it).
    #[must_use]
    pub fn slot(&self) -> Option<&InFlight> {
        self.slot.as_ref()
    }

    /// The call stops running on this thread (an async call returning `Pending`): banks the
    /// thread's allocations since [`MemoryScope::resume`].
    pub fn suspend(&mut self) {
        self.allocated = add(self.allocated, self.alloc_mark.take());
    }

    /// The call starts running on the current thread again (an async call being polled).
    pub fn resume(&mut self) {
        self.alloc_mark = crate::memory::alloc::thread_counter();
    }

    /// The figures so far, without ending the call: the current RSS and heap stand in for the
    /// exit readings.
    #[must_use]
    pub fn current(&self) -> MemoryFigures {
        let marks = peak::read_marks();
        let now = Readings::take();
        self.figures(&marks, now)
    }

    /// Reads RSS at exit and works out the peak.
    #[must_use]
    pub fn exit(mut self) -> MemoryFigures {
        // (The slot is released when `self` drops, after the figures are read.)
        // The marks first, then the folded peaks: see `crate::memory::peak` for why this order loses
        // nothing to a concurrent reset.
        let began = crate::base::clock::now_ticks();
        let exit = peak::exit_marks(&self.entry);
        self.suspend();
        let now = Readings {
            rss: exit.rss_now.or_else(crate::base::rss::current_rss),
            heap: crate::memory::alloc::live(),
        };
        let figures = self.figures(&exit.marks, now);
        let exit_ns = crate::base::clock::nanos_between(began, crate::base::clock::now_ticks());
        own_cost::add(own_cost::Part::MemoryReads, self.reading_ns + exit_ns);
        figures
    }

    fn figures(&self, marks: &Marks, now: Readings) -> MemoryFigures {
        let (slot_rss, slot_heap) = self.slot.as_ref().map_or((None, None), |s| {
            let s = s.get();
            (Some(s.rss_peak()), Some(s.heap_peak()))
        });
        let c = claim_marks(&self.entry.marks);
        let kernel = marks
            .rss
            .filter(|&h| peak::may_fold(h, marks.epoch, marks.rss_floor, c.epoch, c.rss));
        let rss_peak = [self.rss_start, now.rss, kernel]
            .into_iter()
            .flatten()
            .chain(slot_rss.filter(|&v| v > 0))
            .max();
        let heap_mark = marks
            .heap
            .filter(|&h| peak::may_fold(h, marks.epoch, 0, c.epoch, c.heap));
        let heap_peak = self.heap_start.map(|start| {
            [Some(start), now.heap, heap_mark, slot_heap]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(start)
        });
        let allocated = add(self.allocated, self.alloc_mark);
        MemoryFigures {
            rss_start: self.rss_start,
            rss_end: now.rss,
            rss_peak,
            heap_peak,
            allocated,
            peak_approximate: self.slot.is_none(),
        }
    }
}

/// `total` plus what this thread allocated since `mark` (nothing to add without a mark). If the
/// mark was taken on another thread (a [`memory_scope`](crate::memory::scope()) guard moved across
/// threads), what happened in between is unknowable: the figure becomes `None`, never a guess.
fn add(total: Option<u64>, mark: Option<(usize, u64)>) -> Option<u64> {
    let Some((thread, then)) = mark else {
        return total;
    };
    match crate::memory::alloc::thread_counter() {
        Some((here, now)) if here == thread => Some(total?.wrapping_add(now.saturating_sub(then))),
        _ => None,
    }
}

impl Drop for MemoryScope {
    fn drop(&mut self) {
        if self.slot.take().is_none() {
            UNTRACKED.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Readings taken at exit (or at a mid-call look).
struct Readings {
    rss: Option<u64>,
    heap: Option<u64>,
}

impl Readings {
    fn take() -> Self {
        Readings {
            rss: crate::base::rss::current_rss(),
            heap: crate::memory::alloc::live(),
        }
    }
}

/// The sampler's memory task: folds the current RSS and heap, then the high-water marks where
/// valid, into every active call; then resets the marks and starts a new epoch.
pub(crate) fn sample(tick: &Tick) {
    // Only calls that do not track memory are in flight (queries the watchdog watches): no
    // reading, no reset.
    if inflight::memory_count() == 0 {
        return;
    }
    let rss = tick.rss();
    let heap_live = crate::memory::alloc::live();
    let epoch = peak::epoch();
    let (kernel, kernel_floor) = peak::sampler_mark();
    let heap_mark = crate::memory::alloc::heap_peak();
    inflight::for_each_active(|slot| {
        if !slot.tracks_memory() {
            return;
        }
        let c = slot.claim_marks();
        // The current readings were taken at the start of this walk: a call that began after
        // them must not get them (the marks below carry their own rule).
        if slot.began_before_tick(tick.count) {
            if let Some(r) = rss {
                slot.fold_rss(r);
            }
            if let Some(h) = heap_live {
                slot.fold_heap(h);
            }
        }
        if let Some(k) = kernel {
            if peak::may_fold(k, epoch, kernel_floor, c.epoch, c.rss) {
                slot.fold_rss(k);
            }
        }
        if let Some(h) = heap_mark {
            if peak::may_fold(h, epoch, 0, c.epoch, c.heap) {
                slot.fold_heap(h);
            }
        }
    });
    // A call without a slot has had nothing folded into it: keep the marks for its exit.
    if UNTRACKED.load(Ordering::SeqCst) == 0 {
        peak::new_epoch(crate::config::reset_hwm());
    }
}
