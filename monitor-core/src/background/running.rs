//! Which synchronous query each thread is running right now, for the watchdog.
//!
//! The in-flight table ([`crate::background::inflight`]) serves calls that track memory; a claim there is a
//! compare-and-swap plus two sequentially consistent counter updates, about 90 ns, more than the
//! rest of a timing-only query. A thread runs at most one outermost synchronous query at a time,
//! so each thread instead owns one [`Record`] here, claimed on its first query and freed when the
//! thread exits, and a query only writes its start time and site into it (plain stores) and clears
//! the site when it ends. The watchdog walks the records from the sampler thread.
//!
//! A nested query (a query inside a query on the same thread) finds the record taken and is not
//! watched itself; the outer one is. Past [`RECORDS`] threads alive at once, further threads'
//! queries are not watched while they run (they still warn when they end). Async queries move
//! between threads and use in-flight slots instead.

use crate::site::Metadata;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// Threads that can have a record at once.
pub const RECORDS: usize = 1024;

/// One thread's running query.
#[derive(Debug)]
#[repr(align(64))] // one cache line per thread: writers never share a line
pub(crate) struct Record {
    /// Whether a live thread owns this record.
    owned: AtomicBool,
    /// The running query's site; null while none runs.
    site: AtomicPtr<Metadata>,
    /// Clock ticks at the running query's entry (written before `site`).
    start_ticks: AtomicU64,
    /// `start_ticks` of the last call reported as still running, so each call warns once.
    reported: AtomicU64,
}

impl Record {
    const fn new() -> Self {
        Record {
            owned: AtomicBool::new(false),
            site: AtomicPtr::new(ptr::null_mut()),
            start_ticks: AtomicU64::new(0),
            reported: AtomicU64::new(0),
        }
    }
}

static TABLE: [Record; RECORDS] = [const { Record::new() }; RECORDS];
/// One past the highest record ever owned: the watchdog walks no further.
static HIGH: AtomicUsize = AtomicUsize::new(0);

/// Frees the thread's record when the thread exits.
struct Owner(&'static Record);

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = MINE.try_with(|m| m.set(None));
        self.0.site.store(ptr::null_mut(), Ordering::Release);
        self.0.owned.store(false, Ordering::Release);
    }
}

thread_local! {
    /// The thread's record: a plain `const` thread-local with no destructor, so reading it on
    /// every query is one load; `OWNER` gives the record back when the thread exits.
    static MINE: Cell<Option<&'static Record>> = const { Cell::new(None) };
    static OWNER: RefCell<Option<Owner>> = const { RefCell::new(None) };
}

#[cold]
#[inline(never)]
fn claim() -> Option<&'static Record> {
    let (i, r) = TABLE.iter().enumerate().find(|(_, r)| {
        !r.owned.load(Ordering::Relaxed)
            && r.owned
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    })?;
    // Registers the destructor; a thread already tearing down its thread-locals gets no record.
    let kept = OWNER.try_with(|o| {
        if let Ok(mut o) = o.try_borrow_mut() {
            *o = Some(Owner(r));
        }
    });
    if kept.is_err() {
        r.owned.store(false, Ordering::Release);
        return None;
    }
    HIGH.fetch_max(i + 1, Ordering::Release);
    let _ = MINE.try_with(|m| m.set(Some(r)));
    Some(r)
}

/// This thread's record, if it is free for a query: `None` inside another watched query, past
/// [`RECORDS`] threads, or while the thread is exiting.
#[inline]
pub(crate) fn reserve() -> Option<Reserved> {
    let r = match MINE.try_with(Cell::get).ok()? {
        Some(r) => r,
        None => claim()?,
    };
    r.site
        .load(Ordering::Relaxed)
        .is_null()
        .then_some(Reserved(r))
}

/// A free record of this thread, taken by [`Reserved::start`] once the call's clock is read.
#[derive(Debug)]
pub(crate) struct Reserved(&'static Record);

impl Reserved {
    /// Publishes the running query: its start first, then its site.
    #[inline]
    pub(crate) fn start(self, site: &'static Metadata, start_ticks: u64) -> Running {
        self.0.start_ticks.store(start_ticks, Ordering::Relaxed);
        self.0
            .site
            .store(ptr::from_ref(site).cast_mut(), Ordering::Release);
        Running(self.0)
    }
}

/// A query published in its thread's record; dropping it (the call ended, returned or unwound)
/// clears the record.
#[derive(Debug)]
#[must_use]
pub(crate) struct Running(&'static Record);

impl Drop for Running {
    #[inline]
    fn drop(&mut self) {
        self.0.site.store(ptr::null_mut(), Ordering::Release);
    }
}

/// Whether some thread is running a published query.
pub(crate) fn any() -> bool {
    let high = HIGH.load(Ordering::Acquire).min(RECORDS);
    TABLE[..high]
        .iter()
        .any(|r| !r.site.load(Ordering::Relaxed).is_null())
}

/// Calls `f(site, start_ticks, report_once)` for every running query; `report_once()` is `true`
/// the first time it is called for that call.
pub(crate) fn for_each(mut f: impl FnMut(&'static Metadata, u64, &dyn Fn() -> bool)) {
    let high = HIGH.load(Ordering::Acquire).min(RECORDS);
    for r in &TABLE[..high] {
        let site = r.site.load(Ordering::Acquire);
        if site.is_null() {
            continue;
        }
        let start = r.start_ticks.load(Ordering::Relaxed);
        // Read the site again: if it changed, the start may belong to another call; skip this
        // tick rather than pair one call's site with another's start.
        if r.site.load(Ordering::Acquire) != site {
            continue;
        }
        // SAFETY: a non-null site was stored from a `&'static Metadata`.
        let site: &'static Metadata = unsafe { &*site };
        f(site, start, &|| {
            r.reported.swap(start, Ordering::Relaxed) != start
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::{Kind, Metadata};

    static SITE: Metadata = Metadata::new(
        "running_test",
        Kind::Query,
        module_path!(),
        file!(),
        line!(),
    );

    /// These tests claim and free records of the one table: run one at a time, or a record one
    /// test frees is claimed by another's thread before the first looks at it.
    static TABLE_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        TABLE_TESTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn running_here() -> Vec<u64> {
        let mut out = Vec::new();
        for_each(|site, start, _| {
            if std::ptr::eq(site, &SITE) {
                out.push(start);
            }
        });
        out
    }

    #[test]
    fn a_query_is_seen_while_it_runs_and_reported_once() {
        let _table = one_at_a_time();
        let outer = reserve().expect("a free record").start(&SITE, 42);
        assert!(reserve().is_none(), "a nested query finds the record taken");
        assert_eq!(running_here(), [42]);
        let mut first = Vec::new();
        for _ in 0..2 {
            for_each(|site, _, report_once| {
                if std::ptr::eq(site, &SITE) {
                    first.push(report_once());
                }
            });
        }
        assert_eq!(first, [true, false]);
        drop(outer);
        assert!(running_here().is_empty());
        assert!(reserve().is_some(), "free again");
    }

    #[test]
    fn a_thread_gives_its_record_back_when_it_exits() {
        let _table = one_at_a_time();
        // The very record the thread owned is free again once `join` returns (thread-locals are
        // destroyed before the thread ends).
        let claimed = std::thread::spawn(|| {
            let q = reserve().expect("a free record").start(&SITE, 7);
            assert_eq!(running_here(), [7]);
            let record: &'static Record = q.0;
            drop(q);
            record as *const Record as usize
        })
        .join()
        .unwrap();
        let record = TABLE
            .iter()
            .find(|r| std::ptr::from_ref(*r) as usize == claimed)
            .expect("a record of the table");
        assert!(
            !record.owned.load(Ordering::Acquire),
            "the exited thread's record is still owned"
        );
        assert!(
            !running_here().contains(&7),
            "the exited thread's query is gone"
        );
    }

    #[test]
    fn more_threads_than_records_over_time_all_get_one() {
        let _table = one_at_a_time();
        // One after another, more threads than the table holds: each finds a free record only if
        // every earlier thread gave its own back.
        for i in 0..RECORDS + 64 {
            let got = std::thread::spawn(|| reserve().map(|r| r.start(&SITE, 9)).is_some())
                .join()
                .unwrap();
            assert!(
                got,
                "thread {i} found no free record: records leak at thread exit"
            );
        }
    }
}
