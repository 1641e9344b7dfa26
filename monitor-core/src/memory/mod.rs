//! Memory: the kernel's high-water mark ([`hwm`]), the optional
//! exact heap tracker ([`alloc`]), the rule that folds a mark into a call without losing a spike
//! ([`peak`]), a call's memory figures from entry to exit ([`per_call`]), and [`scope`]s around
//! any block.
//!
//! May import: `base`, `config`, `site`, `background`.

pub mod alloc;
pub mod hwm;
pub mod peak;
pub mod per_call;
pub mod scope;

pub use per_call::MemoryScope;
