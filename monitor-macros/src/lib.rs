//! Attribute macros for `monitor`. Use them through the `monitor` crate, which documents them.
//!
//! This file is only the entry point: arguments are parsed in `args.rs`, the function in
//! `item.rs`, code is generated in `expand.rs` (with the async shapes in `async_like.rs`, dataset
//! names in `datasets.rs`), and errors are emitted alongside the untouched function by
//! `fallback.rs`. The `ErrorLabel` derive is in `error_label.rs`.
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod args;
mod async_like;
mod datasets;
mod error_label;
mod expand;
mod explain;
mod fallback;
mod item;
#[cfg(test)]
mod tests;

/// See `monitor::monitor_step`.
#[proc_macro_attribute]
pub fn monitor_step(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(args::Kind::Step, attr.into(), item.into()).into()
}

/// See `monitor::monitor_query`.
#[proc_macro_attribute]
pub fn monitor_query(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(args::Kind::Query, attr.into(), item.into()).into()
}

/// See `monitor::ErrorLabel`.
#[proc_macro_derive(ErrorLabel, attributes(error_label))]
pub fn derive_error_label(input: TokenStream) -> TokenStream {
    error_label::derive(input.into()).into()
}
