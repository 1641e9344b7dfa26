//! Bounding the number of label values every exporter emits.
//!
//! Site names come from code, so their number is fixed by the program, but a program can have
//! thousands, and pipeline names can come from configuration. Past a bound, further values are
//! folded into one overflow value, [`OVERFLOW`]: the figures still add up, the series count stays
//! bounded, and `monitor_exporter_overflowed_series` says that it happened.
//!
//! Which values keep their own label is decided by first appearance (registration order for
//! sites, first finished run for pipelines), so an existing series never changes its name when a
//! new site appears.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The label value that stands for every value past the bound.
pub use crate::call::error_types::OVERFLOW;

/// Default bound on distinct `name` values per kind (steps, queries).
pub const DEFAULT_MAX_NAMES: usize = 1000;
/// Default bound on distinct `pipeline` values.
pub const DEFAULT_MAX_PIPELINES: usize = 100;

static MAX_NAMES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_NAMES);
static MAX_PIPELINES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_PIPELINES);

/// Sets how many distinct step names (and, separately, query names) get their own `name` label;
/// the rest are exported as [`OVERFLOW`]. At least 1.
pub fn set_max_names(n: usize) {
    MAX_NAMES.store(n.max(1), Relaxed);
}

/// Sets how many distinct pipelines get their own `pipeline` label. At least 1.
pub fn set_max_pipelines(n: usize) {
    MAX_PIPELINES.store(n.max(1), Relaxed);
}

pub(crate) fn max_names() -> usize {
    MAX_NAMES.load(Relaxed)
}

pub(crate) fn max_pipelines() -> usize {
    MAX_PIPELINES.load(Relaxed)
}

/// Makes a label value safe for DogStatsD tags (`key:value`, comma separated): `,`, `|`, `#`
/// and `@` would end the tag or the line's field, and whitespace is not allowed in a tag, so
/// those become `_`. A `:` stays: only the first one separates key and value, and Datadog allows
/// colons in values, so `error_type:std::io::error::Error` keeps its type readable.
#[must_use]
pub fn tag_value(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            ',' | '|' | '#' | '@' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_values_cannot_break_a_datagram() {
        assert_eq!(tag_value("a,b|c#d:e\nf@g h"), "a_b_c_d:e_f_g_h");
        assert_eq!(
            tag_value("core::result::Result<u8, alloc::string::String>"),
            "core::result::Result<u8__alloc::string::String>"
        );
        assert_eq!(tag_value("load_orders"), "load_orders");
    }
}
