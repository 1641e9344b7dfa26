//! How a call's true peak is found without losing a spike: high-water marks, epochs, and the
//! rule for when a mark may be folded into a call.
//!
//! Two marks are kept process-wide: the kernel's RSS high-water mark ([`crate::memory::hwm`]) and the
//! heap peak of [`crate::TrackingAllocator`]. Both only rise, until the sampler resets them (the
//! kernel's to the current RSS, the heap's to the current live heap). Each reset starts a new
//! **epoch**. A mark read in epoch `e` is the maximum over `[reset_e, now]`.
//!
//! ## The validity rule
//!
//! A call claimed at time `c` read, at entry, the epoch `e_c` and the marks `m_c` (the maximum
//! over `[reset_{e_c}, c]`). A mark `h` read later in epoch `e` may be folded into the call's peak
//! when it is a value the process really reached while the call ran:
//!
//! - `e > e_c`: the call was claimed before `reset_e`, so `[reset_e, now]` lies inside the call.
//!   Valid, provided `h > floor_e`, where `floor_e` is what the same source read right after the
//!   reset. For `VmHWM` and the heap the floor is the value at the reset itself (a real value,
//!   which the sampler folds directly anyway); for `getrusage` it also covers the sticky part
//!   that a reset does not clear (see [`crate::memory::hwm`]): only a reading above it is known to come
//!   from this epoch.
//! - `e == e_c`: `h` covers `[reset_e, now]`, which starts before the call. Valid only if
//!   `h > m_c`: a new high since entry, so reached after `c`.
//! - Otherwise (the reading is older than the claim): never.
//!
//! The rule is the same for the sampler (which folds into every active call before it resets)
//! and for a call's own exit. Since the sampler folds first and resets second, and an exit reads
//! the mark before it reads the folded peak, every spike lands in every call that was active
//! during it: if the exit's reading is older than a reset, it still contains the spike; if it is
//! newer, the sampler's fold before that reset is visible to it.
//!
//! ## Which kernel mark
//!
//! `getrusage` costs about 0.25 µs, `VmHWM` about 2.5 µs, so calls read `getrusage` at entry and
//! exit, except in an epoch where its sticky part is above the mark (after `exec` it holds the
//! parent's mark, see [`crate::memory::hwm`]): then a `getrusage` reading says nothing about the
//! epoch, and calls read `VmHWM` instead. The sampler decides this for each epoch when it starts
//! one (`new_epoch`); epoch 0, before any reset, uses `VmHWM` where it exists. The sampler reads
//! the same source as the calls.
//!
//! ## Quiet calls: the mark without reading it
//!
//! RSS rises only through a page fault, and `getrusage` counts the process's faults (every
//! thread's, living or exited) in the same 0.25 µs read. So a call reads the fault count first and
//! the mark second; while the count has not moved, no page came in anywhere in the process, the
//! mark cannot have risen, and it is still the value read then. Two things follow, both exact:
//!
//! - At entry, a thread that read the mark in the same epoch with the same fault count reuses that
//!   value instead of reading `VmHWM` again ([`entry_marks`]). A step called in a loop takes it
//!   from the previous call's exit.
//! - At exit, an unchanged count since entry means the highest RSS during the call was its RSS at
//!   entry: there is nothing for the mark to add, in this epoch or a later one (the sampler folded
//!   its own readings before any reset, and RSS after a reset cannot have risen either), so no
//!   mark is folded and, in a `VmHWM` epoch, the 2.5 µs read is skipped ([`exit_marks`]). A call
//!   that faulted reads the mark, and in a `VmHWM` epoch takes its RSS from the same read.
//!
//! The count is bumped when the fault completes, so a fault in progress on another thread at the
//! moment of a reading can move one page (or one huge page) across the call's boundary; nothing
//! larger can. RSS can also rise without a fault of this process when `khugepaged` fills a huge
//! page or another process writes into this one with `process_vm_writev`; a spike made only that
//! way and gone before the call returns is missed.
//!
//! ## Reading marks consistently
//!
//! The epoch counter is a sequence lock: odd while the sampler resets, even otherwise. Readers
//! take the counter, read the marks and the floor, and retry if the counter moved or was odd.

use std::cell::Cell;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

/// Twice the epoch; odd while a reset is in progress.
static SEQ: AtomicU64 = AtomicU64::new(0);
/// `getrusage` maximum RSS read right after the current epoch's reset.
static RSS_FLOOR: AtomicU64 = AtomicU64::new(0);
/// `VmHWM` floor of the current epoch: 0 after a successful reset (every later value was
/// reached in the epoch), else the mark as it stood when the epoch began.
static VM_FLOOR: AtomicU64 = AtomicU64::new(0);
/// Whether calls read `VmHWM` rather than `getrusage` in the current epoch (see the module docs).
static USE_VM_HWM: AtomicBool = AtomicBool::new(cfg!(target_os = "linux"));

/// Marks read together in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// The epoch they were read in.
    pub epoch: u64,
    /// Kernel RSS high-water mark (`getrusage`, or `VmHWM` in epochs where `getrusage` is stuck
    /// above it), bytes.
    pub rss: Option<u64>,
    /// The epoch's floor for `rss` (see the module docs).
    pub rss_floor: u64,
    /// Heap peak since the epoch began, when the tracking allocator is installed.
    pub heap: Option<u64>,
}

/// Reads the epoch, the `getrusage` mark and the heap peak consistently.
///
/// If a reset kept getting in the way (one takes about a microsecond, so this is rare), the marks
/// come back unknown (`None`) and the epoch is the one being started: a call that claims with
/// them then takes no mark from that epoch, only from later ones, which is safe.
#[must_use]
pub fn read_marks() -> Marks {
    match read_consistently(|seq| {
        let (rss, rss_floor, _) = kernel_mark(crate::base::rss::kernel_usage);
        Marks {
            epoch: seq / 2,
            rss,
            rss_floor,
            heap: crate::memory::alloc::heap_peak(),
        }
    }) {
        Ok((_, marks)) => marks,
        Err(seq) => unknown_marks(seq),
    }
}

/// Runs `read` under the sequence lock (module docs, "Reading marks consistently"): from an even
/// sequence value, again if a reset began or ended meanwhile. `Ok` with the sequence value the
/// reading belongs to; `Err` with the epoch being started when resets kept getting in the way
/// (one takes about a microsecond, so this is rare).
fn read_consistently<T>(mut read: impl FnMut(u64) -> T) -> Result<(u64, T), u64> {
    let mut seq = 0;
    for _ in 0..8 {
        seq = SEQ.load(Ordering::Acquire);
        if seq & 1 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let value = read(seq);
        fence(Ordering::Acquire);
        if SEQ.load(Ordering::Relaxed) == seq {
            return Ok((seq, value));
        }
    }
    Err(seq)
}

/// The current epoch's kernel mark, from the source calls read in it, with its floor, and the
/// RSS when the mark came from `/proc/self/status` (which carries it too). `usage` gives the
/// `getrusage` reading: one the caller already took, or a fresh one, only when needed.
fn kernel_mark(
    usage: impl FnOnce() -> Option<crate::base::rss::KernelUsage>,
) -> (Option<u64>, u64, Option<u64>) {
    if USE_VM_HWM.load(Ordering::Relaxed) {
        if let Some(status) = crate::memory::hwm::vm_status() {
            return (
                Some(status.hwm),
                VM_FLOOR.load(Ordering::Relaxed),
                status.rss,
            );
        }
    }
    (
        usage().map(|u| u.max_rss),
        RSS_FLOOR.load(Ordering::Relaxed),
        None,
    )
}

/// A kernel mark this thread read, with the sequence value it was read under and the process's
/// fault count read just before it (see "Quiet calls" in the module docs).
#[derive(Debug, Clone, Copy)]
struct LastReading {
    seq: u64,
    faults: u64,
    rss: u64,
    floor: u64,
}

thread_local! {
    static LAST: Cell<Option<LastReading>> = const { Cell::new(None) };
}

/// The mark this thread last read, if it is still current: same epoch, no fault since.
fn remembered(seq: u64, faults: u64) -> Option<LastReading> {
    LAST.with(Cell::get)
        .filter(|last| last.seq == seq && last.faults == faults)
}

fn remember(seq: u64, faults: Option<u64>, rss: Option<u64>, floor: u64) {
    let reading = match (faults, rss) {
        (Some(faults), Some(rss)) => Some(LastReading {
            seq,
            faults,
            rss,
            floor,
        }),
        _ => None,
    };
    LAST.with(|last| last.set(reading));
}

/// Marks read at a call's entry, with the fault count that was read just before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMarks {
    /// The marks (the kernel one possibly reused, see [`entry_marks`]).
    pub marks: Marks,
    /// The process's page faults so far; `None` where `getrusage` is unavailable.
    pub faults: Option<u64>,
}

/// Marks read at a call's exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitMarks {
    /// The marks; `rss` is `None` when the call was quiet (nothing for the kernel mark to add).
    pub marks: Marks,
    /// The RSS, when the mark came from `/proc/self/status`, which carries it too.
    pub rss_now: Option<u64>,
}

/// [`read_marks`] for a call's entry: the fault count first, then the marks, reusing this thread's
/// last reading when no page has come in since (module docs, "Quiet calls").
#[must_use]
pub fn entry_marks() -> EntryMarks {
    let read = read_consistently(|seq| {
        let usage = crate::base::rss::kernel_usage();
        let faults = usage.map(|u| u.faults);
        let (rss, rss_floor) = match faults.and_then(|f| remembered(seq, f)) {
            Some(last) => (Some(last.rss), last.floor),
            None => {
                let (rss, floor, _) = kernel_mark(|| usage);
                (rss, floor)
            }
        };
        let marks = Marks {
            epoch: seq / 2,
            rss,
            rss_floor,
            heap: crate::memory::alloc::heap_peak(),
        };
        EntryMarks { marks, faults }
    });
    match read {
        Ok((seq, entry)) => {
            remember(seq, entry.faults, entry.marks.rss, entry.marks.rss_floor);
            entry
        }
        Err(seq) => EntryMarks {
            marks: unknown_marks(seq),
            faults: None,
        },
    }
}

/// [`read_marks`] for a call's exit: no kernel mark at all when no page came in since `entry`
/// (module docs, "Quiet calls").
#[must_use]
pub fn exit_marks(entry: &EntryMarks) -> ExitMarks {
    let read = read_consistently(|seq| {
        let usage = crate::base::rss::kernel_usage();
        let faults = usage.map(|u| u.faults);
        let (rss, rss_floor, rss_now) = if faults.is_some() && faults == entry.faults {
            (None, u64::MAX, None)
        } else {
            kernel_mark(|| usage)
        };
        let marks = Marks {
            epoch: seq / 2,
            rss,
            rss_floor,
            heap: crate::memory::alloc::heap_peak(),
        };
        (ExitMarks { marks, rss_now }, faults)
    });
    match read {
        Ok((seq, (exit, faults))) => {
            if exit.marks.rss.is_some() {
                remember(seq, faults, exit.marks.rss, exit.marks.rss_floor);
            } else if exit.marks.epoch == entry.marks.epoch {
                // Quiet: the mark is still the one read (or reused) at entry.
                remember(seq, faults, entry.marks.rss, entry.marks.rss_floor);
            }
            exit
        }
        Err(seq) => ExitMarks {
            marks: unknown_marks(seq),
            rss_now: None,
        },
    }
}

/// Marks that say nothing, claimed in the epoch being started (see [`read_marks`]).
fn unknown_marks(seq: u64) -> Marks {
    Marks {
        epoch: seq.div_ceil(2),
        rss: None,
        rss_floor: u64::MAX,
        heap: None,
    }
}

/// The current epoch (exact for the sampler thread, the only one that changes it).
#[must_use]
pub fn epoch() -> u64 {
    SEQ.load(Ordering::Acquire) / 2
}

/// The sampler's view of the kernel mark in the current epoch, with its floor: the same source
/// calls read. In an epoch where `getrusage` is not stuck, its sticky part stays at or below
/// `VmHWM` until the next reset (only `exec` sets it), so the two agree and the 0.25 µs read
/// does the 2.5 µs read's job.
#[must_use]
pub(crate) fn sampler_mark() -> (Option<u64>, u64) {
    let (rss, floor, _) = kernel_mark(crate::base::rss::kernel_usage);
    (rss, floor)
}

/// Starts a new epoch: inside the odd window, resets the heap peak and (if `reset_kernel`) the
/// kernel mark, records the new epoch's floors and picks the mark calls will read. Only the
/// sampler thread calls this.
pub(crate) fn new_epoch(reset_kernel: bool) {
    SEQ.fetch_add(1, Ordering::SeqCst);
    crate::memory::alloc::reset_peak();
    let reset = reset_kernel && crate::memory::hwm::reset();
    // getrusage first: the mark only rises within the epoch, so `ru > vm` proves the sticky part
    // is above the mark, not that memory grew between the two reads. Right after a reset the
    // mark is the current RSS, so the cheap statm read (1 µs, not 7) stands in for VmHWM; if RSS
    // fell in between, that errs towards `VmHWM`, which is always correct.
    let ru = crate::memory::hwm::max_rss();
    let vm = if reset {
        crate::base::rss::current_rss()
    } else {
        crate::memory::hwm::vm_hwm()
    };
    RSS_FLOOR.store(ru.unwrap_or(0), Ordering::Relaxed);
    VM_FLOOR.store(if reset { 0 } else { vm.unwrap_or(0) }, Ordering::Relaxed);
    let sticky = matches!((ru, vm), (Some(r), Some(v)) if r > v);
    USE_VM_HWM.store(sticky, Ordering::Relaxed);
    SEQ.fetch_add(1, Ordering::SeqCst);
}

/// Whether calls read `VmHWM` (rather than `getrusage`) in the current epoch.
#[must_use]
pub fn calls_read_vm_hwm() -> bool {
    USE_VM_HWM.load(Ordering::Relaxed)
}

/// Makes calls read `VmHWM` (`true`) or `getrusage` (`false`) until the sampler starts another
/// epoch, so that one benchmark process can measure both paths (`perf/benches/step_cost.rs`).
/// While the choice does not match the process, the kernel-mark part of calls' peaks is wrong:
/// never call it outside a benchmark.
#[doc(hidden)]
pub fn set_mark_source_for_benchmarks(vm_hwm: bool) {
    USE_VM_HWM.store(vm_hwm, Ordering::Relaxed);
}

/// The validity rule (module docs): may the mark `value`, read in `epoch` whose floor is `floor`,
/// be folded into a call that read `at_claim` in `claim_epoch`?
#[must_use]
pub fn may_fold(value: u64, epoch: u64, floor: u64, claim_epoch: u64, at_claim: u64) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match epoch.cmp(&claim_epoch) {
        Greater => value > floor,
        Equal => value > at_claim,
        Less => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn same_epoch_needs_a_new_high_since_entry() {
        // Claimed in epoch 3 with the mark at 500 MiB (a spike before the call).
        assert!(
            !may_fold(500 * MIB, 3, 0, 3, 500 * MIB),
            "the old spike is not the call's"
        );
        assert!(!may_fold(400 * MIB, 3, 0, 3, 500 * MIB));
        assert!(
            may_fold(501 * MIB, 3, 0, 3, 500 * MIB),
            "a new high since entry is"
        );
    }

    #[test]
    fn later_epoch_is_inside_the_call_above_its_floor() {
        // Claimed in epoch 3; the mark was reset at epoch 4 (the call was running then).
        assert!(
            may_fold(120 * MIB, 4, 100 * MIB, 3, 900 * MIB),
            "below the claim mark is fine"
        );
        // getrusage's sticky floor: a reading equal to it may predate the epoch.
        assert!(!may_fold(300 * MIB, 4, 300 * MIB, 3, 0));
        assert!(may_fold(301 * MIB, 4, 300 * MIB, 3, 0));
    }

    #[test]
    fn a_reading_older_than_the_claim_is_never_folded() {
        assert!(!may_fold(u64::MAX, 2, 0, 3, 0));
    }

    #[test]
    fn unknown_claim_mark_rejects_its_own_epoch() {
        // `u64::MAX` at claim: the entry mark could not be read; only later epochs count.
        assert!(!may_fold(u64::MAX - 1, 5, 0, 5, u64::MAX));
        assert!(may_fold(10, 6, 0, 5, u64::MAX));
    }

    #[cfg(unix)]
    #[test]
    fn marks_are_readable() {
        // Values are checked in their own processes (tests/kernel_mark.rs and the facade's
        // memory tests): RSS is process-wide and the unit tests share one process.
        let m = read_marks();
        assert!(m.rss.is_some_and(|v| v > 0), "{m:?}");
        assert!(m.epoch <= epoch());
    }
}
