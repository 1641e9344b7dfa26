//! Which error types a site's calls returned, counted per type: lock-free, allocation-free and
//! bounded.
//!
//! Exporters label error counters with the error's *type* (`std::any::type_name` of `E` in
//! `Result<T, E>`), never its message: a type is a small, fixed set fixed by the code, a message
//! can carry ids and values and would make the series count unbounded. Each site keeps
//! [`ERROR_TYPE_SLOTS`] slots; a type is given the first free slot the first time it is returned
//! (a compare-and-swap, on the error path only), and errors of further types are counted by
//! nobody but the site's total, so they show up as [`OTHER`](crate::export::labels::OVERFLOW)
//! when exported (`errors - sum of the slots`).
//!
//! A slot stores the `type_name::<E>` *function pointer*, a single word, so claiming it is one
//! atomic operation; the name is read through it only when a slot is compared or exported.
//! The same type can have two function pointers (one per codegen unit), so slots are compared by
//! pointer first and by name second.

use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// How many error types each site counts separately.
pub const ERROR_TYPE_SLOTS: usize = 4;

/// Returns an error type's name: `std::any::type_name::<E>` of the returned `E`.
pub type TypeNameFn = fn() -> &'static str;

struct Slot {
    /// A [`TypeNameFn`] cast to a pointer; null while free.
    type_name: AtomicPtr<()>,
    count: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            type_name: AtomicPtr::new(std::ptr::null_mut()),
            count: AtomicU64::new(0),
        }
    }
}

fn to_ptr(f: TypeNameFn) -> *mut () {
    f as *mut ()
}

fn from_ptr(p: *mut ()) -> TypeNameFn {
    debug_assert!(!p.is_null());
    // SAFETY: slots hold only null or pointers made by `to_ptr` from a `TypeNameFn`, and callers
    // check for null first; a function pointer round-trips through a data pointer of the same
    // size on every platform Rust supports.
    unsafe { std::mem::transmute::<*mut (), TypeNameFn>(p) }
}

fn same_type(stored: *mut (), f: TypeNameFn) -> bool {
    stored == to_ptr(f) || from_ptr(stored)() == f()
}

/// Per-type error counts of one site (or of one site within one run).
pub struct ErrorTypeCounts {
    slots: [Slot; ERROR_TYPE_SLOTS],
}

impl fmt::Debug for ErrorTypeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorTypeCounts")
            .field(&self.load())
            .finish()
    }
}

impl Default for ErrorTypeCounts {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorTypeCounts {
    /// No errors seen.
    #[must_use]
    pub const fn new() -> Self {
        ErrorTypeCounts {
            slots: [Slot::new(), Slot::new(), Slot::new(), Slot::new()],
        }
    }

    /// Counts one error of the type `type_name` names. Returns `false` when every slot is taken
    /// by other types (the error then counts only in the site's total).
    pub fn record(&self, type_name: TypeNameFn) -> bool {
        for slot in &self.slots {
            let mut stored = slot.type_name.load(Ordering::Acquire);
            if stored.is_null() {
                match slot.type_name.compare_exchange(
                    std::ptr::null_mut(),
                    to_ptr(type_name),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        slot.count.fetch_add(1, Ordering::Relaxed);
                        return true;
                    }
                    // Another thread claimed it first, perhaps for this very type.
                    Err(now) => stored = now,
                }
            }
            if same_type(stored, type_name) {
                slot.count.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// The counts, in the order the types were first seen.
    #[must_use]
    pub fn load(&self) -> ErrorTypeValues {
        let mut out = ErrorTypeValues::default();
        for (o, slot) in out.0.iter_mut().zip(&self.slots) {
            let p = slot.type_name.load(Ordering::Acquire);
            if !p.is_null() {
                *o = Some((from_ptr(p)(), slot.count.load(Ordering::Relaxed)));
            }
        }
        out
    }

    /// Frees every slot (for tests and between runs; not atomic against concurrent calls).
    pub fn reset(&self) {
        for slot in &self.slots {
            slot.count.store(0, Ordering::Relaxed);
            slot.type_name
                .store(std::ptr::null_mut(), Ordering::Release);
        }
    }
}

/// A plain copy of [`ErrorTypeCounts`]: up to [`ERROR_TYPE_SLOTS`] `(type name, errors)` pairs.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorTypeValues([Option<(&'static str, u64)>; ERROR_TYPE_SLOTS]);

impl fmt::Debug for ErrorTypeValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl ErrorTypeValues {
    /// `(type name, errors)` for each type counted separately, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.0.iter().flatten().copied()
    }

    /// Errors counted under a named type.
    #[must_use]
    pub fn named_total(&self) -> u64 {
        self.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::any::type_name;

    #[derive(Debug)]
    struct Timeout;

    #[test]
    fn counts_per_type_in_first_seen_order_and_bounds_the_types() {
        let c = ErrorTypeCounts::new();
        assert!(c.record(type_name::<std::io::Error>));
        assert!(c.record(type_name::<Timeout>));
        assert!(c.record(type_name::<std::io::Error>));
        assert!(c.record(type_name::<String>));
        assert!(c.record(type_name::<u8>));
        // All four slots are taken: a fifth type is not counted separately.
        assert!(!c.record(type_name::<u16>));
        assert!(c.record(type_name::<Timeout>));
        let v: Vec<_> = c.load().iter().collect();
        assert_eq!(
            v,
            [
                ("std::io::error::Error", 2),
                (type_name::<Timeout>(), 2),
                ("alloc::string::String", 1),
                ("u8", 1),
            ]
        );
        assert_eq!(c.load().named_total(), 6);
        c.reset();
        assert_eq!(c.load().iter().count(), 0);
    }

    #[test]
    fn a_type_keeps_one_slot_whatever_its_function_pointer() {
        // Two distinct functions returning the same name stand for two codegen units' copies of
        // `type_name::<E>`.
        fn a() -> &'static str {
            "my::Error"
        }
        fn b() -> &'static str {
            "my::Error"
        }
        let c = ErrorTypeCounts::new();
        c.record(a);
        c.record(b);
        assert_eq!(c.load().iter().collect::<Vec<_>>(), [("my::Error", 2)]);
    }

    #[test]
    fn racing_threads_never_lose_a_count_or_split_a_type() {
        let c = ErrorTypeCounts::new();
        std::thread::scope(|s| {
            for t in 0..4 {
                let c = &c;
                s.spawn(move || {
                    for i in 0..10_000 {
                        if (i + t) % 2 == 0 {
                            c.record(type_name::<std::io::Error>);
                        } else {
                            c.record(type_name::<Timeout>);
                        }
                    }
                });
            }
        });
        let v = c.load();
        assert_eq!(v.iter().count(), 2, "{v:?}");
        assert_eq!(v.named_total(), 40_000);
        for (_, n) in v.iter() {
            assert_eq!(n, 20_000);
        }
    }
}
