//! Thresholds checked after a call: the memory warning and the `max_peak` / `max_duration`
//! budgets (a warning, or a panic under `MONITOR_ENFORCE_BUDGETS=1`, as pytest-memray's
//! `limit_memory` does for tests and CI).

use crate::call::callsite::Metadata;
use crate::call::stats::{CallRecord, Outcome};

fn mib(bytes: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let v = bytes as f64 / (1024.0 * 1024.0);
    v
}

/// Checks one finished call against its thresholds. Returns the budget message to panic with
/// when budgets are enforced and one was passed.
pub(crate) fn check(meta: &Metadata, rec: &CallRecord<'_>) -> Option<String> {
    let mut violation = None;
    if let Some(peak) = rec.memory.rss_peak {
        let warn_at = match meta.memory_warn {
            0 => crate::config::memory_warn(),
            t => t,
        };
        if peak > warn_at {
            crate::call::events::memory_high(meta, peak, warn_at);
        }
        if meta.max_peak > 0 && peak > meta.max_peak {
            crate::call::events::budget_passed(meta, "max_peak", meta.max_peak, peak);
            violation = Some(format!(
                "monitor: {} `{}` passed its max_peak budget: peak RSS {:.1} MiB > {:.1} MiB",
                meta.kind.as_str(),
                meta.name,
                mib(peak),
                mib(meta.max_peak)
            ));
        }
    }
    if meta.max_duration_ns > 0 && rec.duration_ns > meta.max_duration_ns {
        crate::call::events::budget_passed(
            meta,
            "max_duration",
            meta.max_duration_ns,
            rec.duration_ns,
        );
        violation.get_or_insert_with(|| {
            format!(
                "monitor: {} `{}` passed its max_duration budget: {:.3} ms > {:.3} ms",
                meta.kind.as_str(),
                meta.name,
                crate::call::events::ms(rec.duration_ns),
                crate::call::events::ms(meta.max_duration_ns)
            )
        });
    }
    // Never turn an unwinding or cancelled call into a second panic.
    let enforce = crate::config::enforce_budgets()
        && matches!(rec.outcome, Outcome::Ok | Outcome::Err(_))
        && !std::thread::panicking();
    violation.filter(|_| enforce)
}

/// Panics with a budget message. Only reached when the user asked for enforcement.
#[cold]
#[allow(clippy::panic)]
pub(crate) fn enforce(message: String) -> ! {
    panic!("{message}")
}
