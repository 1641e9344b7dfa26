//! Which shard of a site's counters the current thread writes.
//!
//! A site called from many threads at once would move one cache line between cores on every
//! call if all of them wrote the same counters. Instead each site's counters come in
//! [`SHARDS`] copies ([`crate::call::stats`]), and each thread writes one of them. The first
//! [`OWNABLE`] shards are owned: the first [`OWNABLE`] threads alive at the same time each own
//! one for as long as they live, and an owner is its shard's only writer, so it updates the
//! counters with a plain load and store instead of a locked read-modify-write. Threads beyond
//! that share the remaining `SHARDS - OWNABLE` shards, chosen round-robin, and update them with
//! atomic read-modify-writes (never an owned shard: a plain store there would erase their adds),
//! so counts stay exact either way. A thread that exits gives its shard back (a pool that
//! replaces its threads keeps finding free shards), and readers sum the shards.
//!
//! The index lives in one `const`-initialised thread-local without a destructor, so reading it
//! costs a plain thread-local load; a second thread-local, touched only when a thread claims a
//! shard, gives the shard back when the thread exits.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Copies of a site's counters: threads that can record into one site at once without sharing a
/// cache line.
pub const SHARDS: usize = 32;
/// Shards that a thread can own (the rest are shared by the threads past these).
pub const OWNABLE: usize = 24;

/// Not yet assigned.
const UNASSIGNED: u32 = u32::MAX;
/// Set in the thread's value when it owns its shard (the only writer).
const OWNED: u32 = 1 << 8;

/// Shards owned by a live thread, one bit each.
static OWNED_SHARDS: AtomicU64 = AtomicU64::new(0);
/// Round-robin over shards for threads that find none free.
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The shard index, `| OWNED` when this thread owns it.
    static INDEX: Cell<u32> = const { Cell::new(UNASSIGNED) };
    /// Gives an owned shard back when the thread exits (set only when one is owned).
    static OWNERSHIP: Ownership = const { Ownership(Cell::new(None)) };
}

/// The current thread's shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which of the [`SHARDS`] copies to write.
    pub index: usize,
    /// This thread is its only writer: plain stores are enough.
    pub owned: bool,
}

/// The current thread's shard, claimed on its first call.
#[inline]
#[must_use]
pub fn current() -> Shard {
    // `try_with`: a thread being torn down may still run a monitored call from another
    // thread-local's destructor; it then writes a shared shard atomically.
    let v = INDEX.try_with(Cell::get).unwrap_or(UNASSIGNED);
    if v == UNASSIGNED {
        return assign();
    }
    Shard {
        index: (v & (OWNED - 1)) as usize,
        owned: v & OWNED != 0,
    }
}

#[cold]
fn assign() -> Shard {
    let mut claimed = OWNED_SHARDS.load(Ordering::Relaxed);
    let shard = loop {
        let free = !claimed & mask();
        if free == 0 {
            break shared();
        }
        let index = free.trailing_zeros() as usize;
        // Acquire: the previous owner's last plain stores happened before it gave the shard back.
        match OWNED_SHARDS.compare_exchange_weak(
            claimed,
            claimed | (1 << index),
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => {
                let registered = OWNERSHIP.try_with(|o| o.0.set(Some(index))).is_ok();
                if !registered {
                    // No destructor can run for this thread any more: never own.
                    OWNED_SHARDS.fetch_and(!(1 << index), Ordering::Release);
                    break shared();
                }
                break Shard { index, owned: true };
            }
            Err(now) => claimed = now,
        }
    };
    let value = shard.index as u32 | if shard.owned { OWNED } else { 0 };
    let _ = INDEX.try_with(|c| c.set(value));
    shard
}

/// One of the shared shards, round-robin.
fn shared() -> Shard {
    let index = OWNABLE + NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % (SHARDS - OWNABLE);
    Shard {
        index,
        owned: false,
    }
}

/// The bits of the ownable shards.
const fn mask() -> u64 {
    (1 << OWNABLE) - 1
}

const _: () = assert!(OWNABLE < SHARDS && OWNABLE < 64 && SHARDS < OWNED as usize);

struct Ownership(Cell<Option<usize>>);

impl Drop for Ownership {
    fn drop(&mut self) {
        if let Some(index) = self.0.take() {
            // From here on this thread writes a shared shard (atomically): a call in a later
            // thread-local destructor must not touch the shard the next owner will write.
            let _ = INDEX.try_with(|c| c.set(shared().index as u32));
            // Release: this thread's plain stores happen before the next owner's claim.
            OWNED_SHARDS.fetch_and(!(1 << index), Ordering::Release);
        }
    }
}

/// Adds `v` to a counter of the current thread's shard.
#[inline]
pub fn add(counter: &AtomicU64, v: u64, owned: bool) {
    if owned {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(v),
            Ordering::Relaxed,
        );
    } else {
        counter.fetch_add(v, Ordering::Relaxed);
    }
}

/// Raises a counter of the current thread's shard to `v` if `v` is larger.
#[inline]
pub fn max(counter: &AtomicU64, v: u64, owned: bool) {
    if v > counter.load(Ordering::Relaxed) {
        if owned {
            counter.store(v, Ordering::Relaxed);
        } else {
            counter.fetch_max(v, Ordering::Relaxed);
        }
    }
}

/// Lowers a counter of the current thread's shard to `v` if `v` is smaller.
#[inline]
pub fn min(counter: &AtomicU64, v: u64, owned: bool) {
    if v < counter.load(Ordering::Relaxed) {
        if owned {
            counter.store(v, Ordering::Relaxed);
        } else {
            counter.fetch_min(v, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_threads_never_own_the_same_shard() {
        let here = current();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
        let live: Vec<_> = (0..3)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || {
                    let s = current();
                    b.wait();
                    s
                })
            })
            .collect();
        let live: Vec<Shard> = live.into_iter().map(|h| h.join().unwrap()).collect();
        let mut owned: Vec<usize> = live
            .iter()
            .filter(|s| s.owned)
            .map(|s| s.index)
            .chain(here.owned.then_some(here.index))
            .collect();
        let n = owned.len();
        owned.sort_unstable();
        owned.dedup();
        assert_eq!(
            owned.len(),
            n,
            "two live threads own one shard: {live:?}, {here:?}"
        );
    }
}
