//! The table of monitored calls that are running right now.
//!
//! A fixed array of [`SLOTS`] slots, each claimed by one in-flight call and released when the
//! call ends. Claiming and releasing take no lock and allocate nothing: a claim is one CAS on a
//! slot's state word, starting at a per-thread hint so that threads rarely probe the same slots.
//! If every slot is taken the call still runs and is measured; its memory figures are then marked
//! approximate (see [`crate::call::stats::MemoryFigures::peak_approximate`]).
//!
//! The background thread ([`crate::background::sampler`]) walks the active slots with [`for_each_active`]:
//! the memory sampler folds the RSS it reads into every slot's peak, and other periodic tasks
//! (a watchdog for calls running past their threshold) read the site and start time and use the
//! slot's `reported` flag so that they report a call once.
//!
//! ## The state word
//!
//! `phase` in the low two bits (`FREE`, `CLAIMING`, `ACTIVE`, `RELEASED`), a pin count above it.
//! A reader pins an `ACTIVE` slot (CAS `+PIN`) before touching it and unpins it afterwards, so a
//! slot is never reused while a reader holds it: a release that finds pins sets `RELEASED`, and
//! the last unpin of a `RELEASED` slot frees it. Nobody ever waits for anybody.

use crate::site::Metadata;
use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// How many calls can be in flight at once with exact peak tracking.
pub const SLOTS: usize = 1024;

const FREE: u32 = 0;
const CLAIMING: u32 = 1;
const ACTIVE: u32 = 2;
const RELEASED: u32 = 3;
const PHASE: u32 = 3;
const PIN: u32 = 4;

/// One in-flight call. Fields are atomics because the background thread reads them while the
/// call runs; each is written by the claiming thread before the slot becomes `ACTIVE`, except
/// the peaks (folded by anyone with `fetch_max`) and `reported`.
#[derive(Debug)]
#[repr(align(128))] // two cache lines: claims on neighbouring slots do not false-share
pub struct Slot {
    state: AtomicU32,
    site: AtomicPtr<Metadata>,
    start_ticks: AtomicU64,
    /// Set (release) once the memory fields below are written; the sampler skips slots without it.
    memory: AtomicBool,
    rss_peak: AtomicU64,
    heap_peak: AtomicU64,
    epoch: AtomicU64,
    rss_mark_at_claim: AtomicU64,
    heap_mark_at_claim: AtomicU64,
    reported: AtomicBool,
    /// [`crate::background::sampler::ticks`] when claimed: a tick that began after the claim read it (its
    /// count is not below this) took its RSS reading possibly before the call began.
    claim_tick: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            state: AtomicU32::new(FREE),
            site: AtomicPtr::new(ptr::null_mut()),
            start_ticks: AtomicU64::new(0),
            memory: AtomicBool::new(false),
            rss_peak: AtomicU64::new(0),
            heap_peak: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            rss_mark_at_claim: AtomicU64::new(0),
            heap_mark_at_claim: AtomicU64::new(0),
            reported: AtomicBool::new(false),
            claim_tick: AtomicU64::new(0),
        }
    }

    /// The call site, or `None` for a [`memory_scope`](crate::memory::scope()) block.
    #[must_use]
    pub fn site(&self) -> Option<&'static Metadata> {
        let p = self.site.load(Ordering::Relaxed);
        // SAFETY: only `&'static Metadata`s (or null) are ever stored.
        unsafe { p.cast_const().as_ref() }
    }

    /// Clock ticks ([`crate::base::clock::now_ticks`]) at the call's start; 0 while it is entering.
    #[must_use]
    pub fn start_ticks(&self) -> u64 {
        self.start_ticks.load(Ordering::Relaxed)
    }

    /// Whether this call tracks memory (its memory fields are valid).
    #[must_use]
    pub fn tracks_memory(&self) -> bool {
        self.memory.load(Ordering::Acquire)
    }

    /// Highest RSS folded into this call so far (bytes).
    #[must_use]
    pub fn rss_peak(&self) -> u64 {
        self.rss_peak.load(Ordering::Relaxed)
    }

    /// Highest live heap folded into this call so far (bytes).
    #[must_use]
    pub fn heap_peak(&self) -> u64 {
        self.heap_peak.load(Ordering::Relaxed)
    }

    /// Raises the call's RSS peak to `bytes` if higher.
    pub fn fold_rss(&self, bytes: u64) {
        if bytes > self.rss_peak.load(Ordering::Relaxed) {
            self.rss_peak.fetch_max(bytes, Ordering::Relaxed);
        }
    }

    /// Raises the call's heap peak to `bytes` if higher.
    pub fn fold_heap(&self, bytes: u64) {
        if bytes > self.heap_peak.load(Ordering::Relaxed) {
            self.heap_peak.fetch_max(bytes, Ordering::Relaxed);
        }
    }

    /// The high-water-mark epoch and the marks the call read at entry (see [`crate::memory::peak`]).
    #[must_use]
    pub fn claim_marks(&self) -> ClaimMarks {
        ClaimMarks {
            epoch: self.epoch.load(Ordering::Relaxed),
            rss: self.rss_mark_at_claim.load(Ordering::Relaxed),
            heap: self.heap_mark_at_claim.load(Ordering::Relaxed),
        }
    }

    /// Whether a reading the sampler took in tick `tick` (its [`crate::background::sampler::Tick::count`])
    /// was certainly taken after this call began. A call that claims its slot between the
    /// sampler's reading and its walk over the slots must not get that older reading.
    #[must_use]
    pub fn began_before_tick(&self, tick: u64) -> bool {
        self.claim_tick.load(Ordering::Relaxed) <= tick
    }

    /// Marks the call as reported by a periodic task; `true` only for the first caller, so a
    /// watchdog reports each long call once.
    pub fn mark_reported(&self) -> bool {
        !self.reported.swap(true, Ordering::Relaxed)
    }

    /// Whether [`Slot::mark_reported`] has been called for this call.
    #[must_use]
    pub fn reported(&self) -> bool {
        self.reported.load(Ordering::Relaxed)
    }
}

/// The high-water marks a call read at entry, with the epoch they belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimMarks {
    /// Epoch of the marks (see [`crate::memory::peak`]).
    pub epoch: u64,
    /// Kernel RSS mark at entry; `u64::MAX` when it could not be read.
    pub rss: u64,
    /// Heap peak at entry; `u64::MAX` when not tracked.
    pub heap: u64,
}

static TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// One past the highest slot index ever claimed: readers scan no further.
static HIGH: AtomicUsize = AtomicUsize::new(0);
/// Slots currently claimed (the sampler runs while this is non-zero).
static ACTIVE_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Claimed slots that track memory (the memory task has nothing to do while this is zero).
static MEMORY_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Spreads threads' starting hints over the table.
static NEXT_HINT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Where this thread starts probing; `usize::MAX` until first used.
    static HINT: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn start_hint() -> usize {
    HINT.try_with(|h| {
        let mut v = h.get();
        if v == usize::MAX {
            // 8 slots apart: a thread's nested calls fill its own stretch first.
            v = NEXT_HINT.fetch_add(8, Ordering::Relaxed) % SLOTS;
            h.set(v);
        }
        v
    })
    .unwrap_or(0)
}

fn set_hint(i: usize) {
    let _ = HINT.try_with(|h| h.set(i));
}

/// A claimed slot; releases it when dropped. `Send`: an async call may end on another thread.
#[derive(Debug)]
#[must_use]
pub struct InFlight {
    index: u32,
}

impl InFlight {
    fn slot(&self) -> &'static Slot {
        &TABLE[self.index as usize % SLOTS]
    }

    /// The slot's contents.
    #[must_use]
    pub fn get(&self) -> &'static Slot {
        self.slot()
    }

    /// Records the call's start time (the guard reads the clock after the memory readings).
    pub fn set_start_ticks(&self, ticks: u64) {
        self.slot().start_ticks.store(ticks, Ordering::Relaxed);
    }

    /// Publishes the call's entry memory readings; from then on the sampler folds into it.
    pub(crate) fn track_memory(&self, rss: u64, heap: u64, marks: ClaimMarks) {
        let s = self.slot();
        s.rss_peak.store(rss, Ordering::Relaxed);
        s.heap_peak.store(heap, Ordering::Relaxed);
        s.epoch.store(marks.epoch, Ordering::Relaxed);
        s.rss_mark_at_claim.store(marks.rss, Ordering::Relaxed);
        s.heap_mark_at_claim.store(marks.heap, Ordering::Relaxed);
        if !s.memory.swap(true, Ordering::Release) {
            MEMORY_COUNT.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.slot().memory.load(Ordering::Relaxed) {
            MEMORY_COUNT.fetch_sub(1, Ordering::Relaxed);
        }
        release(self.slot());
        ACTIVE_COUNT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `ACTIVE` to `FREE`, or to `RELEASED` while a reader holds a pin (the last unpin frees it).
fn release(s: &Slot) {
    let mut cur = s.state.load(Ordering::Relaxed);
    loop {
        let pins = cur & !PHASE;
        let next = if pins == 0 { FREE } else { pins | RELEASED };
        match s
            .state
            .compare_exchange_weak(cur, next, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(c) => cur = c,
        }
    }
}

/// Claims a slot for a call of `site` (`None` for a memory scope) that started at `start_ticks`
/// (0 if the caller sets it later). `None` when the table is full: the call must still run.
///
/// Starts the background thread if it is not running.
#[must_use]
pub fn claim(site: Option<&'static Metadata>, start_ticks: u64) -> Option<InFlight> {
    let hint = start_hint();
    for k in 0..SLOTS {
        let i = (hint + k) % SLOTS;
        let s = &TABLE[i];
        if s.state.load(Ordering::Relaxed) != FREE {
            continue;
        }
        if s.state
            .compare_exchange(FREE, CLAIMING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        s.site.store(
            site.map_or(ptr::null_mut(), |c| ptr::from_ref(c).cast_mut()),
            Ordering::Relaxed,
        );
        s.start_ticks.store(start_ticks, Ordering::Relaxed);
        s.memory.store(false, Ordering::Relaxed);
        s.reported.store(false, Ordering::Relaxed);
        // After the caller's entry readings, before the slot is visible (see `began_before_tick`).
        s.claim_tick
            .store(crate::background::sampler::ticks(), Ordering::Relaxed);
        if i >= HIGH.load(Ordering::Relaxed) {
            HIGH.fetch_max(i + 1, Ordering::Release);
        }
        s.state.store(ACTIVE, Ordering::Release);
        set_hint(i);
        // SeqCst pairs with the sampler's "stopping, then re-check the count" (see sampler.rs).
        ACTIVE_COUNT.fetch_add(1, Ordering::SeqCst);
        crate::background::sampler::ensure_running();
        #[allow(clippy::cast_possible_truncation)] // i < SLOTS
        return Some(InFlight { index: i as u32 });
    }
    None
}

/// A slot for a call that only wants to be watched while it runs (an async query that does not
/// track memory), taken only while at most half the table is in use: thousands of concurrent
/// async queries must not leave memory-tracking calls without slots.
#[must_use]
pub(crate) fn claim_to_watch(site: &'static Metadata) -> Option<InFlight> {
    if active_count() >= SLOTS / 2 {
        return None;
    }
    claim(Some(site), 0)
}

/// Number of claimed slots.
#[must_use]
pub fn active_count() -> usize {
    ACTIVE_COUNT.load(Ordering::SeqCst)
}

/// Number of claimed slots that track memory.
#[must_use]
pub fn memory_count() -> usize {
    MEMORY_COUNT.load(Ordering::Relaxed)
}

/// Calls `f` for every active slot. Each slot is pinned while `f` runs, so it cannot be released
/// and reused by another call under `f`'s feet. Meant for the background thread's periodic tasks.
pub fn for_each_active(mut f: impl FnMut(&Slot)) {
    let high = HIGH.load(Ordering::Acquire).min(SLOTS);
    for s in &TABLE[..high] {
        let cur = s.state.load(Ordering::Acquire);
        if cur & PHASE != ACTIVE {
            continue;
        }
        if s.state
            .compare_exchange(cur, cur + PIN, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Released or pinned by someone else this instant: catch it next tick.
            continue;
        }
        f(s);
        unpin(s);
    }
}

fn unpin(s: &Slot) {
    let mut cur = s.state.load(Ordering::Relaxed);
    loop {
        let pins_left = (cur & !PHASE) - PIN;
        let next = if cur & PHASE == RELEASED && pins_left == 0 {
            FREE
        } else {
            pins_left | (cur & PHASE)
        };
        match s
            .state
            .compare_exchange_weak(cur, next, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => break,
            Err(c) => cur = c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn claims_are_distinct_and_seen_while_active() {
        let a = claim(None, 1).unwrap();
        let b = claim(None, 2).unwrap();
        assert_ne!(a.index, b.index);
        assert_eq!(a.get().start_ticks(), 1);
        let mut seen = Vec::new();
        for_each_active(|s| seen.push(ptr::from_ref(s)));
        assert!(seen.contains(&ptr::from_ref(a.get())));
        assert!(seen.contains(&ptr::from_ref(b.get())));
        drop((a, b));
    }

    #[test]
    fn a_pinned_slot_is_freed_by_the_last_unpin() {
        // A slot outside the table, so no background reader interferes.
        let s = Slot::new();
        s.state.store(ACTIVE, Ordering::Relaxed);
        release(&s);
        assert_eq!(
            s.state.load(Ordering::Relaxed),
            FREE,
            "no pins: freed at once"
        );

        s.state.store(ACTIVE + 2 * PIN, Ordering::Relaxed); // two readers hold it
        release(&s);
        assert_eq!(s.state.load(Ordering::Relaxed), RELEASED | (2 * PIN));
        unpin(&s);
        assert_eq!(
            s.state.load(Ordering::Relaxed),
            RELEASED | PIN,
            "still pinned"
        );
        unpin(&s);
        assert_eq!(
            s.state.load(Ordering::Relaxed),
            FREE,
            "the last unpin frees it"
        );

        s.state.store(ACTIVE + PIN, Ordering::Relaxed);
        unpin(&s);
        assert_eq!(
            s.state.load(Ordering::Relaxed),
            ACTIVE,
            "unpin keeps an active slot"
        );
    }

    #[test]
    fn a_claim_is_after_every_tick_already_begun() {
        let t = crate::background::sampler::ticks();
        let a = claim(None, 0).unwrap();
        assert!(a.get().began_before_tick(u64::MAX));
        if t > 0 {
            // Tick `t - 1` had begun (and read RSS) before this claim: not this call's reading.
            assert!(!a.get().began_before_tick(t - 1));
        }
    }

    #[test]
    fn reported_flag_is_set_once() {
        let a = claim(None, 0).unwrap();
        assert!(!a.get().reported());
        assert!(a.get().mark_reported());
        assert!(!a.get().mark_reported());
        drop(a);
        let b = claim(None, 0).unwrap();
        assert!(!b.get().reported(), "a new claim starts unreported");
    }

    #[test]
    fn threads_claim_without_collisions() {
        let barrier = std::sync::Barrier::new(4);
        let indices: Vec<Vec<u32>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let held: Vec<InFlight> =
                            (0..50).map(|_| claim(None, 0).unwrap()).collect();
                        // Hold every claim until all threads have claimed theirs.
                        barrier.wait();
                        held.iter().map(|h| h.index).collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<u32> = indices.into_iter().flatten().collect();
        let unique: HashSet<u32> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len());
    }
}
