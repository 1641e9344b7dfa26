//! The one named initialisation of the runtime, run once by whichever comes first: a monitored
//! call (its site's registration), [`Pipeline::start`](crate::Pipeline::start), a
//! [`memory_scope`](crate::memory_scope()), [`add_report_sink`](crate::add_report_sink) or the
//! sampler thread's start (it runs the tasks registered here). The
//! layers below reach it through the crate root ([`crate::start_up`]) without naming what it
//! does.
//!
//! In order: the settings from the environment (and the panic hook they switch on), the
//! background thread's periodic tasks, the listeners of finished runs (the history first, so
//! its verdict is in the report the others read), and the exporters the environment asks for.
//!
//! May import: every folder.

use crate::run::listeners::add_listener;
use std::sync::{Arc, Once};

static START_UP: Once = Once::new();

/// Starts the runtime, once per process.
pub(crate) fn start_up() {
    START_UP.call_once(|| {
        crate::config::ensure_init();
        let register = crate::background::sampler::register_task;
        register(crate::memory::per_call::sample);
        register(crate::call::attach::sample);
        register(crate::call::watchdog::check);
        add_listener(Arc::new(crate::history::run_report::HistoryListener));
        add_listener(Arc::new(crate::export::ExportListener));
        add_listener(Arc::new(crate::lineage::LineageListener));
        // Exporters switched on by MONITOR_PROMETHEUS_ADDR & co.; a port already taken is a
        // warning on stderr when no subscriber is installed.
        crate::config::stderr_events::surfaced(crate::export::env::start_from_env);
    });
}
