//! The leaf layer: mechanisms every other folder may use and that name nothing else in the
//! crate: the hot-path clock and the bounded lock-free storage runs are kept in.
//!
//! May import: nothing from this crate.

pub mod clock;
pub mod slots;
