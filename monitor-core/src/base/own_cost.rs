//! What `monitor` spends on its own work, counted where it is spent, so that a run can say what
//! watching it cost (the report's `own_cost`, built in `crate::run`).
//!
//! Three process-wide counters, each a total of nanoseconds and a count:
//! - [`Part::Sampler`]: CPU time of the background sampler thread (its own thread clock, read
//!   once per tick), and its ticks;
//! - [`Part::MemoryReads`]: time memory-tracked calls spend reading RSS and the kernel marks at
//!   entry and exit, and those calls;
//! - [`Part::PlanCapture`]: time spent capturing query plans after (or, for DataFusion, around)
//!   the calls that get one, and those plans.
//!
//! Timing-only calls are not counted here: timing them again would double their cost, which
//! `cargo bench -p monitor-perf --bench contention` measures instead (tens of nanoseconds).
//! A run reads the totals at its start and end; the difference is what was spent meanwhile, in
//! the whole process (two runs open at once both count all of it).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Where the time went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The sampler thread's CPU time.
    Sampler,
    /// Memory-tracked calls' kernel reads at entry and exit.
    MemoryReads,
    /// Capturing query plans.
    PlanCapture,
}

const PARTS: usize = 3;

impl Part {
    fn index(self) -> usize {
        match self {
            Part::Sampler => 0,
            Part::MemoryReads => 1,
            Part::PlanCapture => 2,
        }
    }
}

/// Each part's nanoseconds and count. The parts are written by different threads at different
/// rates; each pair shares a line with nothing else that is written per call.
#[repr(align(128))]
struct Counter {
    ns: AtomicU64,
    count: AtomicU64,
}

static COUNTERS: [Counter; PARTS] = [const {
    Counter {
        ns: AtomicU64::new(0),
        count: AtomicU64::new(0),
    }
}; PARTS];

/// Adds one occurrence of `part` that took `ns`.
#[inline]
pub fn add(part: Part, ns: u64) {
    let c = &COUNTERS[part.index()];
    c.ns.fetch_add(ns, Relaxed);
    c.count.fetch_add(1, Relaxed);
}

/// Adds `ns` to `part` without counting an occurrence (work done for one that is counted
/// elsewhere, such as DataFusion's plan text built inside the query it describes).
#[inline]
#[cfg_attr(not(feature = "datafusion"), allow(dead_code))] // DataFusion's plans only
pub fn add_time(part: Part, ns: u64) {
    COUNTERS[part.index()].ns.fetch_add(ns, Relaxed);
}

/// The totals of every part so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    ns: [u64; PARTS],
    count: [u64; PARTS],
}

impl Totals {
    /// Nanoseconds spent on `part`.
    #[must_use]
    pub fn ns(&self, part: Part) -> u64 {
        self.ns[part.index()]
    }

    /// Occurrences of `part`.
    #[must_use]
    pub fn count(&self, part: Part) -> u64 {
        self.count[part.index()]
    }

    /// What was added between `earlier` and `self`.
    #[must_use]
    pub fn since(&self, earlier: &Totals) -> Totals {
        let mut out = Totals::default();
        for i in 0..PARTS {
            out.ns[i] = self.ns[i].saturating_sub(earlier.ns[i]);
            out.count[i] = self.count[i].saturating_sub(earlier.count[i]);
        }
        out
    }
}

/// The totals now.
#[must_use]
pub fn totals() -> Totals {
    let mut out = Totals::default();
    for (i, c) in COUNTERS.iter().enumerate() {
        out.ns[i] = c.ns.load(Relaxed);
        out.count[i] = c.count.load(Relaxed);
    }
    out
}

/// CPU time the calling thread has used, nanoseconds (`CLOCK_THREAD_CPUTIME_ID`); `None` where
/// the platform has no thread clock.
#[must_use]
pub fn thread_cpu_ns() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut ts = std::mem::MaybeUninit::<libc::timespec>::zeroed();
        // SAFETY: `ts` is a valid out-pointer for one `timespec`.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, ts.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: clock_gettime succeeded and filled it.
        let ts = unsafe { ts.assume_init() };
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u64::try_from(ts.tv_nsec).ok()?;
        secs.checked_mul(1_000_000_000)?.checked_add(nanos)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_what_was_added() {
        let before = totals();
        add(Part::PlanCapture, 1_500);
        add(Part::PlanCapture, 500);
        let added = totals().since(&before);
        // Other tests of this process may add too; ours are there at least.
        assert!(added.ns(Part::PlanCapture) >= 2_000, "{added:?}");
        assert!(added.count(Part::PlanCapture) >= 2, "{added:?}");
        assert_eq!(before.since(&totals()), Totals::default());
    }

    #[cfg(unix)]
    #[test]
    fn thread_clock_counts_work_not_sleep() {
        let start = thread_cpu_ns().expect("thread clock");
        std::thread::sleep(std::time::Duration::from_millis(30));
        let slept = thread_cpu_ns().unwrap() - start;
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let worked = thread_cpu_ns().unwrap() - start - slept;
        assert!(slept < 10_000_000, "sleeping used {slept} ns of CPU");
        assert!(worked > 15_000_000, "spinning 30 ms used only {worked} ns");
    }
}
