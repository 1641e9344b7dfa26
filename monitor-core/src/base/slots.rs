//! Fixed-capacity, lazily allocated, lock-free storage for a run: a table indexed by a dense id
//! ([`LazySlots`]) and an append-only log that keeps the first N entries and counts the rest
//! ([`BoundedLog`]).
//!
//! Both allocate in chunks of [`CHUNK`] slots, the first time a slot in a chunk is used, so an
//! idle run costs one small array of chunk pointers and a busy one never grows past its capacity.
//! Every slot is written at most once (`OnceLock::set`), so readers never see a torn value and
//! writers never wait on each other except while the one allocation of a chunk is made.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

/// Slots per lazily allocated chunk.
pub(crate) const CHUNK: usize = 64;

/// One chunk of slots, allocated on first use.
type Chunk<T> = OnceLock<Box<[OnceLock<T>]>>;

/// `capacity` slots, allocated a chunk at a time on first use.
pub(crate) struct LazySlots<T> {
    chunks: Box<[Chunk<T>]>,
    capacity: usize,
}

impl<T> LazySlots<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        let chunks = capacity.div_ceil(CHUNK);
        LazySlots {
            chunks: (0..chunks).map(|_| OnceLock::new()).collect(),
            capacity,
        }
    }

    /// The slot at `index`, allocating its chunk on first use; `None` past the capacity.
    #[inline]
    pub(crate) fn slot(&self, index: usize) -> Option<&OnceLock<T>> {
        if index >= self.capacity {
            return None;
        }
        let chunk = self
            .chunks
            .get(index / CHUNK)?
            .get_or_init(|| (0..CHUNK).map(|_| OnceLock::new()).collect());
        chunk.get(index % CHUNK)
    }

    /// The slot at `index` only if its chunk already exists (never allocates).
    #[cfg(test)]
    pub(crate) fn existing(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index / CHUNK)?
            .get()?
            .get(index % CHUNK)?
            .get()
    }

    /// Every filled slot, in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|chunk| chunk.iter().filter_map(OnceLock::get))
    }
}

impl<T> std::fmt::Debug for LazySlots<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySlots")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// An append-only log that keeps its first `capacity` entries, and (when made with
/// [`BoundedLog::counted`]) counts the ones after them.
///
/// Once full, a push is one relaxed load of a shared counter and nothing else, so a log that
/// every call of a busy run pushes to costs no contended write after its first entries. Logs
/// whose overflow can be derived elsewhere (calls, errors: from the per-site counts) use
/// [`BoundedLog::new`] and count nothing.
pub(crate) struct BoundedLog<T> {
    slots: LazySlots<T>,
    capacity: u64,
    claimed: AtomicU64,
    overflow: Option<AtomicU64>,
}

impl<T> BoundedLog<T> {
    /// A log that drops entries past `capacity` without counting them.
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedLog {
            slots: LazySlots::new(capacity),
            capacity: u64::try_from(capacity).unwrap_or(u64::MAX),
            claimed: AtomicU64::new(0),
            overflow: None,
        }
    }

    /// A log that counts the entries past `capacity` ([`BoundedLog::not_kept`]).
    pub(crate) fn counted(capacity: usize) -> Self {
        BoundedLog {
            overflow: Some(AtomicU64::new(0)),
            ..Self::new(capacity)
        }
    }

    /// Claims the next slot and fills it with `make()`. `make` runs only when the entry is kept,
    /// so an error message is formatted only if it will be shown. Returns whether it was kept.
    #[inline]
    pub(crate) fn push_with(&self, make: impl FnOnce() -> T) -> bool {
        if self.claimed.load(Relaxed) >= self.capacity {
            self.count_overflow();
            return false;
        }
        let index = self.claimed.fetch_add(1, Relaxed);
        let slot = usize::try_from(index).ok().and_then(|i| self.slots.slot(i));
        match slot {
            Some(slot) => slot.set(make()).is_ok(),
            None => {
                // Lost the race for the last free slots.
                self.count_overflow();
                false
            }
        }
    }

    #[inline]
    fn count_overflow(&self) {
        if let Some(o) = &self.overflow {
            o.fetch_add(1, Relaxed);
        }
    }

    /// The kept entries, in the order their slots were claimed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter()
    }

    /// How many entries came after the log was full (always 0 for a log made with
    /// [`BoundedLog::new`]).
    pub(crate) fn not_kept(&self) -> u64 {
        self.overflow.as_ref().map_or(0, |o| o.load(Relaxed))
    }
}

impl<T> std::fmt::Debug for BoundedLog<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedLog")
            .field("capacity", &self.slots.capacity)
            .field("claimed", &self.claimed.load(Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_entries_and_counts_the_rest() {
        let log = BoundedLog::counted(100);
        let mut made = 0;
        for i in 0..250u32 {
            log.push_with(|| {
                made += 1;
                i
            });
        }
        assert_eq!(made, 100, "entries past the capacity are never built");
        assert_eq!(
            log.iter().copied().collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
        assert_eq!(log.not_kept(), 150);
        let uncounted = BoundedLog::new(1);
        assert!(uncounted.push_with(|| 1) && !uncounted.push_with(|| 2));
        assert_eq!(uncounted.not_kept(), 0);
        assert_eq!(
            uncounted.claimed.load(Relaxed),
            1,
            "a full log is not written to"
        );
    }

    #[test]
    fn slots_allocate_only_the_chunks_used() {
        let slots: LazySlots<u32> = LazySlots::new(10 * CHUNK);
        assert!(slots.existing(3 * CHUNK + 1).is_none());
        slots.slot(3 * CHUNK + 1).map(|s| s.set(7));
        assert_eq!(slots.existing(3 * CHUNK + 1), Some(&7));
        assert_eq!(slots.chunks.iter().filter(|c| c.get().is_some()).count(), 1);
        assert!(slots.slot(10 * CHUNK).is_none(), "past the capacity");
        assert_eq!(slots.iter().copied().collect::<Vec<_>>(), vec![7]);
    }

    #[test]
    fn concurrent_pushes_lose_nothing_below_capacity() {
        let log = BoundedLog::counted(4 * CHUNK * 8);
        std::thread::scope(|s| {
            for t in 0..8u32 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..(4 * CHUNK as u32) {
                        log.push_with(|| t * 10_000 + i);
                    }
                });
            }
        });
        let mut all: Vec<u32> = log.iter().copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4 * CHUNK * 8);
        assert_eq!(log.not_kept(), 0);
    }
}
