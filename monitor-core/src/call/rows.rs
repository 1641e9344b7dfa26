//! Row counts: from a step's return value (`#[monitor_step(rows)]`) or from inside its body
//! ([`record_rows`], [`record_rows_in`]).
//!
//! Rows recorded inside a body belong to the innermost monitored call running on this thread (for
//! async calls, the one being polled). Each call saves the thread's counter at entry and restores
//! it at exit, so nested steps keep their rows apart without any lookup.

use std::cell::Cell;

/// Types whose value says how many rows a step produced.
pub trait RowCount {
    /// The number of rows, or `None` when the value carries none (an `Err`, a `None`).
    fn row_count(&self) -> Option<u64>;
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl<T> RowCount for Vec<T> {
    fn row_count(&self) -> Option<u64> {
        Some(len_u64(self.len()))
    }
}

impl<T> RowCount for [T] {
    fn row_count(&self) -> Option<u64> {
        Some(len_u64(self.len()))
    }
}

impl<T, const N: usize> RowCount for [T; N] {
    fn row_count(&self) -> Option<u64> {
        Some(len_u64(N))
    }
}

impl<T> RowCount for std::collections::VecDeque<T> {
    fn row_count(&self) -> Option<u64> {
        Some(len_u64(self.len()))
    }
}

impl RowCount for usize {
    fn row_count(&self) -> Option<u64> {
        Some(len_u64(*self))
    }
}

impl RowCount for u64 {
    fn row_count(&self) -> Option<u64> {
        Some(*self)
    }
}

impl RowCount for u32 {
    fn row_count(&self) -> Option<u64> {
        Some(u64::from(*self))
    }
}

impl<T: RowCount + ?Sized> RowCount for &T {
    fn row_count(&self) -> Option<u64> {
        (**self).row_count()
    }
}

impl<T: RowCount + ?Sized> RowCount for Box<T> {
    fn row_count(&self) -> Option<u64> {
        (**self).row_count()
    }
}

impl<T: RowCount, E> RowCount for Result<T, E> {
    fn row_count(&self) -> Option<u64> {
        self.as_ref().ok().and_then(RowCount::row_count)
    }
}

impl<T: RowCount> RowCount for Option<T> {
    fn row_count(&self) -> Option<u64> {
        self.as_ref().and_then(RowCount::row_count)
    }
}

/// Values made of Arrow record batches (a `Vec` or slice of `RecordBatch`, and `Result`,
/// `Option`, `Box` and references of those): their rows are the batches' `num_rows()` summed,
/// where [`RowCount`]'s impl for `Vec<T>` would count the batches. Implemented with the `arrow`
/// feature (see `crate::arrow`).
pub trait BatchRowCount {
    /// The number of rows in the batches, or `None` when the value carries none.
    fn batch_row_count(&self) -> Option<u64>;
}

impl<T: BatchRowCount + ?Sized> BatchRowCount for &T {
    fn batch_row_count(&self) -> Option<u64> {
        (**self).batch_row_count()
    }
}

impl<T: BatchRowCount + ?Sized> BatchRowCount for Box<T> {
    fn batch_row_count(&self) -> Option<u64> {
        (**self).batch_row_count()
    }
}

impl<T: BatchRowCount, E> BatchRowCount for Result<T, E> {
    fn batch_row_count(&self) -> Option<u64> {
        self.as_ref().ok().and_then(BatchRowCount::batch_row_count)
    }
}

impl<T: BatchRowCount> BatchRowCount for Option<T> {
    fn batch_row_count(&self) -> Option<u64> {
        self.as_ref().and_then(BatchRowCount::batch_row_count)
    }
}

/// What `#[monitor_step(rows)]` generates: `(&&RowProbe(&value)).__monitor_batch_rows()` is
/// `Some(rows)` for [`BatchRowCount`] values ([`RowsOfBatches`], picked first by auto-reference)
/// and `None` for anything else ([`RowsOfOther`]), which then goes through [`RowCount`] (whose
/// "not implemented" error is the one a type without rows gets). Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct RowProbe<'a, T: ?Sized>(pub &'a T);

#[doc(hidden)]
pub trait RowsOfBatches {
    /// `Some(rows)`: the value is made of record batches.
    fn __monitor_batch_rows(&self) -> Option<Option<u64>>;
}

#[doc(hidden)]
pub trait RowsOfOther {
    /// `None`: the value is not made of record batches.
    fn __monitor_batch_rows(&self) -> Option<Option<u64>>;
}

impl<T: BatchRowCount + ?Sized> RowsOfBatches for &RowProbe<'_, T> {
    #[inline]
    fn __monitor_batch_rows(&self) -> Option<Option<u64>> {
        Some(self.0.batch_row_count())
    }
}

impl<T: ?Sized> RowsOfOther for RowProbe<'_, T> {
    #[inline]
    fn __monitor_batch_rows(&self) -> Option<Option<u64>> {
        None
    }
}

/// Rows recorded on this thread for the innermost running call.
///
/// Two words with `u64::MAX` meaning "nothing recorded", so saving and restoring a tally on every
/// call moves 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowTally {
    out: u64,
    input: u64,
}

const NONE: u64 = u64::MAX;

impl Default for RowTally {
    fn default() -> Self {
        RowTally::EMPTY
    }
}

impl RowTally {
    /// Nothing recorded.
    pub const EMPTY: RowTally = RowTally {
        out: NONE,
        input: NONE,
    };

    /// A tally with these counts.
    #[must_use]
    pub fn new(out: Option<u64>, input: Option<u64>) -> Self {
        RowTally {
            out: out.map_or(NONE, |n| n.min(NONE - 1)),
            input: input.map_or(NONE, |n| n.min(NONE - 1)),
        }
    }

    /// Rows out, if any were recorded.
    #[must_use]
    pub fn out(self) -> Option<u64> {
        (self.out != NONE).then_some(self.out)
    }

    /// Rows in, if any were recorded.
    #[must_use]
    pub fn input(self) -> Option<u64> {
        (self.input != NONE).then_some(self.input)
    }
}

fn add(slot: u64, n: u64) -> u64 {
    if slot == NONE {
        n.min(NONE - 1)
    } else {
        slot.saturating_add(n).min(NONE - 1)
    }
}

thread_local! {
    static TALLY: Cell<RowTally> = const { Cell::new(RowTally::EMPTY) };
}

/// Starts a fresh tally for a call; returns the enclosing call's tally to restore later.
#[inline]
pub(crate) fn swap_in(fresh: RowTally) -> RowTally {
    TALLY.with(|t| t.replace(fresh))
}

/// Adds `n` output rows to the innermost monitored call running on this thread.
///
/// Outside any monitored call it does nothing.
#[inline]
pub fn record_rows(n: u64) {
    TALLY.with(|t| {
        let mut v = t.get();
        v.out = add(v.out, n);
        t.set(v);
    });
}

/// Adds `n` input rows to the innermost monitored call running on this thread, so the report can
/// show how many rows the step dropped (rows in minus rows out).
#[inline]
pub fn record_rows_in(n: u64) {
    TALLY.with(|t| {
        let mut v = t.get();
        v.input = add(v.input, n);
        t.set(v);
    });
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the borrows select the impl: that is the point
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(vec![1, 2, 3].row_count(), Some(3));
        assert_eq!([1u8, 2][..].row_count(), Some(2));
        assert_eq!(Ok::<_, ()>(7usize).row_count(), Some(7));
        assert_eq!(Err::<usize, _>(()).row_count(), None);
        assert_eq!(None::<u64>.row_count(), None);
        assert_eq!(Some(Box::new(vec![0; 4])).row_count(), Some(4));
        // Not batches: the probe defers to `RowCount`.
        assert_eq!((&&RowProbe(&vec![1, 2])).__monitor_batch_rows(), None);
    }
}
