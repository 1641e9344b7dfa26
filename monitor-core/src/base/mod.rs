//! The leaf layer: mechanisms every other folder may use and that name nothing else in the
//! crate: the hot-path clock, the process's RSS read cheaply (the sampler thread and every call
//! that tracks memory read it), the bounded lock-free storage runs are kept in, and the counters
//! of what monitor spends on its own work.
//!
//! May import: nothing from this crate.

pub mod clock;
pub mod host;
pub mod own_cost;
pub(crate) mod registry;
pub mod rss;
pub mod slots;
