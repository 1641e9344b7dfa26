//! `rows` counts Arrow record batches by their rows: a `RecordBatch`, a `Vec` or slice of them,
//! inside `Result` and `Option`, sync and async; other `Vec`s still count their elements.
use arrow_array::{Int32Array, RecordBatch};
use monitor::monitor_step;
use serial_test::serial;
use std::sync::Arc;

fn batch(n: i32) -> RecordBatch {
    RecordBatch::try_from_iter([("x", Arc::new(Int32Array::from_iter_values(0..n)) as _)]).unwrap()
}

#[monitor_step(rows)]
fn one_batch() -> RecordBatch {
    batch(42)
}

#[monitor_step(rows)]
fn three_batches() -> Vec<RecordBatch> {
    vec![batch(10), batch(20), batch(30)]
}

#[monitor_step(rows)]
fn batches_or_error(fail: bool) -> Result<Vec<RecordBatch>, String> {
    if fail {
        Err("no input".into())
    } else {
        Ok(vec![batch(5), batch(6)])
    }
}

#[monitor_step(rows)]
fn borrowed(batches: &[RecordBatch]) -> &[RecordBatch] {
    batches
}

#[monitor_step(rows)]
fn maybe(n: i32) -> Option<RecordBatch> {
    (n > 0).then(|| batch(n))
}

#[monitor_step(rows)]
async fn async_batches() -> Vec<RecordBatch> {
    vec![batch(7), batch(8)]
}

#[monitor_step(rows)]
fn plain_vec() -> Vec<u8> {
    vec![1, 2, 3]
}

#[test]
#[serial]
fn batches_count_their_rows() {
    monitor::reset();
    one_batch();
    three_batches();
    batches_or_error(false).unwrap();
    batches_or_error(true).unwrap_err();
    let held = vec![batch(100), batch(1)];
    borrowed(&held);
    maybe(9);
    maybe(0);
    futures::executor::block_on(async_batches());
    plain_vec();
    let snap = monitor::snapshot();
    let rows = |name: &str| snap.site(name).unwrap().rows;
    assert_eq!(rows("one_batch"), Some(42));
    assert_eq!(rows("three_batches"), Some(60));
    assert_eq!(rows("batches_or_error"), Some(11));
    assert_eq!(rows("borrowed"), Some(101));
    assert_eq!(rows("maybe"), Some(9));
    assert_eq!(rows("async_batches"), Some(15));
    assert_eq!(rows("plain_vec"), Some(3));
    assert_eq!(monitor::arrow::batch_bytes(&held), {
        held.iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum::<u64>()
    });
}
