//! Which kinds of error a site's calls returned, counted per kind: lock-free, allocation-free and
//! bounded.
//!
//! Exporters label error counters with the error's *kind*, never its message: a kind is one of a
//! small set fixed by the code, a message can carry ids and values and would make the series
//! count unbounded. The kind is the error's type (`std::any::type_name` of `E` in
//! `Result<T, E>`), or what the error says it is when its type implements
//! [`ErrorLabel`](crate::call::probe::ErrorLabel) (an enum naming its variant).
//!
//! Each site keeps [`ERROR_TYPE_SLOTS`] slots; a kind takes the first free slot the first time it
//! is returned (a compare-and-swap, on the error path only), and errors of further kinds are
//! counted only in the site's total, so they show up as
//! [`OVERFLOW`](crate::export::labels::OVERFLOW) when exported (`errors - sum of the slots`).
//! A slot holds a `&'static str` as a pointer and a length: the length is written first and the
//! pointer published after it, and a slot being claimed (its pointer `CLAIMING`) is passed
//! over, so in a rare race one kind can take two slots; [`ErrorTypeCounts::load`] adds those
//! together.

/// The label value that stands for every kind past the bound (exporters fold their label values
/// past their own bound into it too).
pub const OVERFLOW: &str = "__other__";
use std::fmt;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// How many error kinds each site counts separately.
pub const ERROR_TYPE_SLOTS: usize = 4;

/// A slot's pointer while its claimer writes the length (never the address of a label: labels
/// are never empty, see [`ErrorTypeCounts::record`]).
const CLAIMING: *mut u8 = std::ptr::dangling_mut::<u8>();

struct Slot {
    /// The label's bytes; null while free, [`CLAIMING`] while being claimed.
    name: AtomicPtr<u8>,
    /// The label's length, written before `name` is published.
    len: AtomicUsize,
    count: AtomicU64,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            name: AtomicPtr::new(std::ptr::null_mut()),
            len: AtomicUsize::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// The slot's label, if one is published.
    fn label(&self) -> Option<&'static str> {
        let p = self.name.load(Ordering::Acquire);
        if p.is_null() || p == CLAIMING {
            return None;
        }
        let len = self.len.load(Ordering::Relaxed);
        // SAFETY: `p` and `len` were taken together from a `&'static str` in `record`; `len` was
        // stored before `p` was published with `Release`, and read after the `Acquire` load.
        Some(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p, len)) })
    }
}

/// Per-kind error counts of one site (or of one site within one run).
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
            slots: [const { Slot::new() }; ERROR_TYPE_SLOTS],
        }
    }

    /// Counts one error of kind `label` (an empty label counts as `unknown`). Returns `false`
    /// when every slot is taken by other kinds (the error then counts only in the site's total).
    pub fn record(&self, label: &'static str) -> bool {
        let label = if label.is_empty() { "unknown" } else { label };
        let ptr = label.as_ptr().cast_mut();
        for slot in &self.slots {
            let mut stored = slot.name.load(Ordering::Acquire);
            if stored.is_null() {
                match slot.name.compare_exchange(
                    std::ptr::null_mut(),
                    CLAIMING,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        slot.len.store(label.len(), Ordering::Relaxed);
                        slot.name.store(ptr, Ordering::Release);
                        slot.count.fetch_add(1, Ordering::Relaxed);
                        return true;
                    }
                    // Another thread claimed it first, perhaps for this very kind.
                    Err(now) => stored = now,
                }
            }
            if stored == CLAIMING {
                continue;
            }
            if slot.label() == Some(label) {
                slot.count.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// The counts, in the order the kinds were first seen.
    #[must_use]
    pub fn load(&self) -> ErrorTypeValues {
        let mut out = ErrorTypeValues::default();
        let mut n = 0;
        for slot in &self.slots {
            let Some(label) = slot.label() else { continue };
            let count = slot.count.load(Ordering::Relaxed);
            // A kind that raced into two slots is one kind.
            if let Some(e) = out.0[..n].iter_mut().flatten().find(|(l, _)| *l == label) {
                e.1 += count;
            } else {
                out.0[n] = Some((label, count));
                n += 1;
            }
        }
        out
    }

    /// Frees every slot (for tests and between runs; not atomic against concurrent calls).
    pub fn reset(&self) {
        for slot in &self.slots {
            slot.count.store(0, Ordering::Relaxed);
            slot.name.store(std::ptr::null_mut(), Ordering::Release);
        }
    }
}

/// A plain copy of [`ErrorTypeCounts`]: up to [`ERROR_TYPE_SLOTS`] `(kind, errors)` pairs.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorTypeValues([Option<(&'static str, u64)>; ERROR_TYPE_SLOTS]);

impl fmt::Debug for ErrorTypeValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl ErrorTypeValues {
    /// `(kind, errors)` for each kind counted separately, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.0.iter().flatten().copied()
    }

    /// Errors counted under a named kind.
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
        assert!(c.record(type_name::<std::io::Error>()));
        assert!(c.record(type_name::<Timeout>()));
        assert!(c.record(type_name::<std::io::Error>()));
        assert!(c.record(type_name::<String>()));
        assert!(c.record(type_name::<u8>()));
        // All four slots are taken: a fifth type is not counted separately.
        assert!(!c.record(type_name::<u16>()));
        assert!(c.record(type_name::<Timeout>()));
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
    fn a_kind_keeps_one_slot_whatever_its_address() {
        // The same text at two addresses (two crates' copies of one type name, or a label built
        // into two binaries' data) is one kind.
        static A: &str = "my::Error";
        let b: &'static str = Box::leak(String::from("my::Error").into_boxed_str());
        let c = ErrorTypeCounts::new();
        c.record(A);
        c.record(b);
        c.record("");
        assert_eq!(
            c.load().iter().collect::<Vec<_>>(),
            [("my::Error", 2), ("unknown", 1)]
        );
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
                            c.record(type_name::<std::io::Error>());
                        } else {
                            c.record(type_name::<Timeout>());
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
