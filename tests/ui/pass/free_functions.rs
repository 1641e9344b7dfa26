#![deny(warnings)]
use monitor::{monitor_query, monitor_step};
use std::fmt::Display;

/// Doc comments and other attributes are kept.
#[monitor_step]
#[inline]
#[must_use]
fn plain(x: u32) -> u32 {
    x + 1
}

#[monitor_step(name = "returns_result", rows)]
fn result(fail: bool) -> Result<Vec<u8>, std::io::Error> {
    if fail {
        return Err(std::io::Error::other("nope"));
    }
    let n: u8 = "3".parse().map_err(std::io::Error::other)?;
    Ok(vec![0; n.into()])
}

#[monitor_step]
fn option(x: Option<u8>) -> Option<u8> {
    let v = x?;
    Some(v * 2)
}

#[monitor_step]
fn unit() {}

#[monitor_query("patterns")]
fn patterns((a, b): (u32, u32), _: u8, mut c: u32) -> u32 {
    c += a;
    c + b
}

#[monitor_step]
fn generic<'a, T: Display + ?Sized, U>(name: &'a T, items: &'a [U]) -> (&'a T, usize)
where
    U: Clone,
{
    (name, items.len())
}

#[monitor_step]
fn impl_trait_arg(it: impl Iterator<Item = u32>) -> u32 {
    it.sum()
}

#[monitor_step]
fn impl_trait_ret(n: u32) -> impl Iterator<Item = u32> {
    (0..n).map(|x| x * 2)
}

#[monitor_step]
fn impl_trait_nested(n: u32) -> Result<impl Iterator<Item = u32>, String> {
    Ok(0..n)
}

#[monitor_step]
fn collects(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[monitor_step]
fn recursive(n: u64) -> u64 {
    if n == 0 {
        1
    } else {
        n * recursive(n - 1)
    }
}

#[monitor_step]
unsafe fn unsafe_fn(p: *const u32) -> u32 {
    *p
}

#[monitor_step]
extern "C" fn extern_c(x: i32) -> i32 {
    x - 1
}

#[monitor_step]
fn never(code: i32) -> ! {
    std::process::exit(code)
}

#[monitor_step]
fn inner_attributes(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 5;
    x
}

#[monitor_step]
fn borrows_mut(v: &mut Vec<u32>) -> &mut u32 {
    v.push(1);
    v.last_mut().unwrap()
}

#[monitor_step]
fn early_return(x: i32) -> &'static str {
    if x < 0 {
        return "negative";
    }
    "non-negative"
}

fn main() {
    assert_eq!(plain(1), 2);
    assert_eq!(result(false).unwrap().len(), 3);
    assert!(result(true).is_err());
    assert_eq!(option(Some(2)), Some(4));
    assert_eq!(option(None), None);
    unit();
    assert_eq!(patterns((1, 2), 0, 3), 6);
    assert_eq!(generic("x", &[1, 2]), ("x", 2));
    assert_eq!(impl_trait_arg([1, 2].into_iter()), 3);
    assert_eq!(impl_trait_ret(3).sum::<u32>(), 6);
    assert_eq!(impl_trait_nested(3).unwrap().count(), 3);
    assert_eq!(collects(3), vec![0, 1, 2]);
    assert_eq!(recursive(5), 120);
    let v = 7;
    assert_eq!(unsafe { unsafe_fn(&v) }, 7);
    assert_eq!(extern_c(1), 0);
    assert_eq!(inner_attributes(4), 4);
    let mut v = vec![];
    *borrows_mut(&mut v) = 9;
    assert_eq!(v, [9]);
    assert_eq!(early_return(-1), "negative");
    let snap = monitor::snapshot();
    assert_eq!(snap.site("recursive").unwrap().calls, 6);
    assert_eq!(snap.site("returns_result").unwrap().rows, Some(3));
    assert_eq!(snap.site("returns_result").unwrap().errors, 1);
    if std::env::args().count() > 100 {
        never(3);
    }
}
