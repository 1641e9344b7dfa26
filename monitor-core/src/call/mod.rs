//! One monitored call, from entry to its record: the call site's `static` ([`callsite`]) and its
//! lock-free stats ([`stats`], [`histogram`], [`error_types`], and [`shard`], which copy of a
//! site's counters the calling thread writes), what the macros' generated code
//! calls around a synchronous call ([`guard`]) and a future ([`future`]), how a returned value is
//! read ([`probe`], [`rows`]), the `tracing` events a call emits ([`events`]), its budgets
//! ([`budget`]), its panic text ([`panic_text`]), the run it attaches to ([`attach`]) and the
//! watchdog's check of calls still running ([`watchdog`]).
//!
//! May import: `base`, `config`, `site`, `redact`, `background`, `memory`.

pub mod attach;
pub mod budget;
pub mod callsite;
pub mod error_types;
pub mod events;
pub mod future;
pub mod guard;
pub mod histogram;
pub mod probe;
pub mod rows;
pub mod shard;
pub mod stats;
pub mod watchdog;
