//! An optional exact heap tracker: a [`GlobalAlloc`] wrapper that counts live heap bytes.
//!
//! ```
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: monitor_core::TrackingAllocator<System> = monitor_core::TrackingAllocator::new(System);
//! ```
//!
//! Per allocation it does one relaxed `fetch_add` on the live-bytes counter, one relaxed load of
//! the peak (and a `fetch_max` only when the peak moves), and one add to a `const` thread-local:
//! no lock, no allocation, no recursion into the allocator. With it installed, every monitored
//! call reports `heap_peak` (the highest live heap of the **whole process** while the call ran,
//! so concurrent calls on other threads count too) and `allocated` (bytes the call's own thread
//! allocated during the call; `realloc` counts its new size, as jemalloc's `thread.allocated`
//! does). Without it both figures are `None`, never zero.
//!
//! Install it as the global allocator: the counters are process-wide, so allocations through any
//! other instance would be counted too.
//!
//! The heap peak follows the same epoch protocol as the kernel's RSS mark ([`crate::memory::peak`]):
//! the sampler folds it into every active call and then resets it to the current live heap.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static LIVE: AtomicU64 = AtomicU64::new(0);
/// Also says whether the tracker is installed: it is non-zero from the first allocation on (a
/// reset sets it to the live heap, which a running Rust program never has at zero).
static PEAK: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Bytes allocated by this thread since it started (monotonic; wraps after 16 EiB).
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

/// A [`GlobalAlloc`] that counts what passes through it and forwards to `A`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrackingAllocator<A> {
    inner: A,
}

impl<A> TrackingAllocator<A> {
    /// Wraps `inner`; usable in a `static`.
    pub const fn new(inner: A) -> Self {
        TrackingAllocator { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

fn u64_of(n: usize) -> u64 {
    n as u64
}

#[inline]
fn grow(n: u64) {
    let live = LIVE.fetch_add(n, Relaxed).wrapping_add(n);
    if live > PEAK.load(Relaxed) {
        PEAK.fetch_max(live, Relaxed);
    }
}

#[inline]
fn shrink(n: u64) {
    LIVE.fetch_sub(n, Relaxed);
}

#[inline]
fn count_for_thread(n: u64) {
    // A `const` thread-local of a type without `Drop`: no lazy registration, no allocation, and
    // `try_with` never fails on it; ignoring the result keeps the allocator panic-free regardless.
    let _ = ALLOCATED.try_with(|c| c.set(c.get().wrapping_add(n)));
}

#[inline]
fn on_alloc(size: usize) {
    let n = u64_of(size);
    grow(n);
    count_for_thread(n);
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged and returns its
// result; the bookkeeping around it touches only atomics and a `const` thread-local.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.inner.dealloc(ptr, layout) };
        shrink(u64_of(layout.size()));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let (old, new) = (u64_of(layout.size()), u64_of(new_size));
            if new >= old {
                grow(new - old);
            } else {
                shrink(old - new);
            }
            count_for_thread(new);
        }
        p
    }
}

/// Whether a [`TrackingAllocator`] is the global allocator (it has seen an allocation).
#[must_use]
pub fn installed() -> bool {
    PEAK.load(Relaxed) > 0
}

/// Live heap bytes now, when tracked.
#[must_use]
pub fn live() -> Option<u64> {
    installed().then(|| LIVE.load(Relaxed))
}

/// Highest live heap since the last reset (see [`crate::memory::peak`]), when tracked.
#[must_use]
pub fn heap_peak() -> Option<u64> {
    installed().then(|| PEAK.load(Relaxed))
}

/// Bytes allocated by the current thread so far, when tracked. Subtract two readings to get what
/// happened in between.
#[must_use]
pub fn thread_allocated() -> Option<u64> {
    if !installed() {
        return None;
    }
    ALLOCATED.try_with(Cell::get).ok()
}

/// The current thread's counter with an identity for the thread (the address of its
/// thread-local), so a reading is only ever subtracted from one taken on the same thread.
pub(crate) fn thread_counter() -> Option<(usize, u64)> {
    if !installed() {
        return None;
    }
    ALLOCATED
        .try_with(|c| (std::ptr::from_ref(c) as usize, c.get()))
        .ok()
}

/// Resets the heap peak to the current live heap (the sampler does this at each new epoch).
pub(crate) fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}
