//! Arrow record batches (feature `arrow`): row counts and memory sizes.
//!
//! `#[monitor_step(rows)]` counts a returned [`RecordBatch`] by its `num_rows()`, and a
//! `Vec<RecordBatch>` or `&[RecordBatch]` (also inside `Result`, `Option`, `Box`) by the sum of
//! its batches' rows, not by the number of batches. [`batch_bytes`] is the Arrow memory size of
//! batches (`RecordBatch::get_array_memory_size`), the figure chunked Parquet passes report as
//! `bytes_in` and `bytes_out`:
//!
//! ```
//! use arrow_array::{Int64Array, RecordBatch};
//! use std::sync::Arc;
//!
//! let batch = RecordBatch::try_from_iter([(
//!     "id",
//!     Arc::new(Int64Array::from_iter_values(0..1000)) as _,
//! )])
//! .unwrap();
//! assert_eq!(monitor_core::RowCount::row_count(&batch), Some(1000));
//! assert!(monitor_core::arrow::batch_bytes([&batch]) >= 8000);
//! ```
//!
//! May import: `call`.

use crate::call::rows::{BatchRowCount, RowCount};
pub use arrow_array::RecordBatch;

fn rows(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .map(|b| u64::try_from(b.num_rows()).unwrap_or(u64::MAX))
        .fold(0u64, u64::saturating_add)
}

impl RowCount for RecordBatch {
    fn row_count(&self) -> Option<u64> {
        Some(u64::try_from(self.num_rows()).unwrap_or(u64::MAX))
    }
}

impl BatchRowCount for RecordBatch {
    fn batch_row_count(&self) -> Option<u64> {
        self.row_count()
    }
}

impl BatchRowCount for [RecordBatch] {
    fn batch_row_count(&self) -> Option<u64> {
        Some(rows(self))
    }
}

impl BatchRowCount for Vec<RecordBatch> {
    fn batch_row_count(&self) -> Option<u64> {
        Some(rows(self))
    }
}

impl<const N: usize> BatchRowCount for [RecordBatch; N] {
    fn batch_row_count(&self) -> Option<u64> {
        Some(rows(self))
    }
}

/// The Arrow memory size of `batches`, in bytes: the sum of
/// [`RecordBatch::get_array_memory_size`] (buffers shared between batches are counted once per
/// batch, as Arrow counts them).
pub fn batch_bytes<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> u64 {
    batches
        .into_iter()
        .map(|b| u64::try_from(b.get_array_memory_size()).unwrap_or(u64::MAX))
        .fold(0u64, u64::saturating_add)
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the borrows select the impl: that is the point
mod tests {
    use super::*;
    use crate::call::rows::{RowProbe, RowsOfBatches as _};
    use arrow_array::Int32Array;
    use std::sync::Arc;

    fn batch(n: i32) -> RecordBatch {
        RecordBatch::try_from_iter([("x", Arc::new(Int32Array::from_iter_values(0..n)) as _)])
            .unwrap()
    }

    #[test]
    fn batches_count_their_rows_not_themselves() {
        let v = vec![batch(3), batch(4)];
        assert_eq!((&&RowProbe(&v)).__monitor_batch_rows(), Some(Some(7)));
        assert_eq!((&&RowProbe(&v[..])).__monitor_batch_rows(), Some(Some(7)));
        let r: Result<Vec<RecordBatch>, String> = Ok(v.clone());
        assert_eq!((&&RowProbe(&r)).__monitor_batch_rows(), Some(Some(7)));
        let e: Result<Vec<RecordBatch>, String> = Err("no".into());
        assert_eq!((&&RowProbe(&e)).__monitor_batch_rows(), Some(None));
        assert_eq!(batch(5).row_count(), Some(5));
        assert!(batch_bytes(&v) >= 7 * 4);
    }
}
