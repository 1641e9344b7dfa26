//! Pipeline runs: [`Pipeline::start`](pipeline::Pipeline::start) begins one, the
//! [`Run`](pipeline::Run) guard ends it with a [`Report`](crate::Report), and every listener of
//! finished runs hears about it.
//!
//! May import: `base`, `config`, `site`, `background`, `memory`, `call`, `query`, `report`.

pub(crate) mod listeners;
pub mod pipeline;

pub use listeners::{add_report_sink, remove_report_sink, SinkId};
