#![deny(warnings)]
//! `#[derive(ErrorLabel)]` on enums (unit, tuple and struct variants, generics, no variants) and
//! structs: each names its kind from the code.
use monitor::ErrorLabel;

#[derive(Debug, ErrorLabel)]
enum Fetch<E: std::fmt::Debug> {
    Timeout,
    Refused(String),
    Upstream { source: E },
}

#[derive(Debug, ErrorLabel)]
struct Corrupt {
    #[allow(dead_code)]
    line: u64,
}

#[derive(Debug, ErrorLabel)]
enum Never {}

fn label<T: monitor::ErrorLabel>(t: &T) -> &'static str {
    t.error_label()
}

fn main() {
    assert_eq!(label(&Fetch::<u8>::Timeout), "Fetch::Timeout");
    assert_eq!(label(&Fetch::<u8>::Refused("db".into())), "Fetch::Refused");
    assert_eq!(label(&Fetch::Upstream { source: 7u8 }), "Fetch::Upstream");
    assert_eq!(label(&Corrupt { line: 3 }), "Corrupt");
    let _: Option<&dyn Fn(&Never) -> &'static str> = Some(&|n: &Never| n.error_label());
}
