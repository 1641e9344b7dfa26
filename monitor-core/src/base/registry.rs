//! A lock-free, append-only list of `'static` items, linked through the items themselves (a CAS on
//! the head, as `tracing-core` keeps its callsites): how call sites and plan-capturing sites are
//! found by the snapshot and the exporters without a lock or an allocation.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// An item that carries its own link.
pub(crate) trait Linked: Sized + Sync + 'static {
    /// The item pushed before this one (null for the first).
    fn next(&self) -> &AtomicPtr<Self>;
}

/// The list's head; items are pushed once each and never removed.
pub(crate) struct Registry<T> {
    head: AtomicPtr<T>,
}

impl<T: Linked> Registry<T> {
    pub(crate) const fn new() -> Self {
        Registry {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Adds `item` at the front. The caller pushes each item once (its own state says when).
    pub(crate) fn push(&self, item: &'static T) {
        let me = ptr::from_ref(item).cast_mut();
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            item.next().store(head, Ordering::Relaxed);
            match self
                .head
                .compare_exchange_weak(head, me, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Calls `f` for every item, newest first.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&'static T)) {
        let mut cur = self.head.load(Ordering::Acquire);
        while !cur.is_null() {
            // SAFETY: only `&'static T`s are ever pushed, and they are never removed.
            let item: &'static T = unsafe { &*cur };
            f(item);
            cur = item.next().load(Ordering::Acquire);
        }
    }
}
