#![deny(warnings)]
//! Bodies that rely on the function's return type as their expected type: coercions in return
//! position and inference of `.into()` targets behave as without the attribute.
use monitor::{monitor_query, monitor_step};
use std::error::Error;
use std::fmt::Display;

/// Unsizing in one branch, an `.into()` whose target comes from the return type in the other.
#[monitor_query("boxed_error")]
fn boxed_error(refused: bool) -> Result<(), Box<dyn Error + Send + Sync>> {
    if refused {
        Err("connection refused".into())
    } else {
        Err(Box::new(std::io::Error::other("timeout")))
    }
}

/// A boxed closure coerced to a trait object.
#[monitor_step]
fn callback() -> Box<dyn Fn(u32) -> u32> {
    Box::new(|x| x + 1)
}

/// Deref coercion of the tail expression.
#[monitor_step]
fn first_word(s: &String) -> &str {
    s
}

/// A reference to a concrete type returned as a trait object.
#[monitor_step]
fn shown(n: &u64) -> &dyn Display {
    n
}

/// `?` converting through `From` into the declared error type, next to a literal `.into()`.
#[monitor_step]
fn parsed(s: &str) -> Result<u8, Box<dyn Error>> {
    if s.is_empty() {
        return Err("empty".into());
    }
    Ok(s.parse::<u8>()?)
}

fn main() {
    assert!(boxed_error(true).is_err());
    assert!(boxed_error(false).is_err());
    assert_eq!(callback()(1), 2);
    assert_eq!(first_word(&"a b".to_owned()), "a b");
    assert_eq!(shown(&7).to_string(), "7");
    assert_eq!(parsed("9").unwrap(), 9);
    assert!(parsed("").is_err());
}
