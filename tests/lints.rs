//! Generated code adds no warnings to a user crate that denies warnings, `clippy::all` and
//! `clippy::pedantic` (CI runs clippy on this file with `-D warnings`).
#![deny(warnings, clippy::all, clippy::pedantic)]

use monitor::{monitor_query, monitor_step};

/// A step.
#[monitor_step(rows)]
fn load(n: u32) -> Vec<u32> {
    (0..n).collect()
}

/// Unit return.
#[monitor_step]
fn side_effect(v: &mut Vec<u32>) {
    v.push(1);
}

/// A query returning a result.
///
/// # Errors
/// When `n` is zero.
#[monitor_query("q", slow = "1s")]
fn query(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("zero".to_owned());
    }
    Ok(n)
}

/// Async.
#[monitor_step]
async fn fetch(n: u32) -> Option<u32> {
    Some(n)
}

/// `impl Trait` return.
#[monitor_step]
fn evens(n: u32) -> impl Iterator<Item = u32> {
    (0..n).filter(|x| x % 2 == 0)
}

#[test]
fn instrumented_code_is_lint_clean() {
    let mut v = load(3);
    side_effect(&mut v);
    assert_eq!(v.len(), 4);
    assert_eq!(query(2), Ok(2));
    assert_eq!(query(0), Err("zero".to_owned()));
    assert_eq!(evens(5).count(), 3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert_eq!(rt.block_on(fetch(4)), Some(4));
}
