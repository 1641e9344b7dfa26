//! Compile tests: every supported function shape compiles and runs (`ui/pass`), every misuse
//! gets one spanned error naming the attribute (`ui/fail`, with committed `.stderr` files).
//!
//! The `.stderr` files are tied to the toolchain CI uses (rustc's wording changes between
//! releases); regenerate them with `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
