//! Where `monitor`'s own `warn` and `error` events go when the program installed no `tracing`
//! subscriber: one line each on stderr, with their fields, so that a warning promised by the
//! README ("one `warn` names the file and the reason") reaches a person by default.
//!
//! ```text
//! monitor: WARN run history not updated: history file /dev/full: cannot append a run: No space left on device (os error 28) store="history file /dev/full" reason="..."
//! ```
//!
//! Every place that emits such an event runs it through [`surfaced`] (the per-call events in
//! [`crate::call::events`], configuration errors, the end of a run with its history and exporters, the
//! exporters' flush threads). `surfaced` looks, at the moment of the event, at the current
//! thread's dispatcher: when it is `tracing`'s no-op one (no global default, no scoped one), the
//! event is dispatched to [`StderrWarnings`] for its duration; otherwise it goes to the program's
//! subscriber as usual and this module does nothing. `MONITOR_STDERR_WARNINGS=0` (or
//! [`ConfigBuilder::stderr_warnings`](crate::ConfigBuilder::stderr_warnings)) turns the fallback
//! off.
//!
//! At most ten lines are printed per kind of event and monitored site (the `name` field), then
//! one line saying that further ones are not; the report counts and keeps them as always.
//!
//! Nothing here is on the per-call path: `surfaced` is called only where a warning or an error
//! is about to be emitted. The fallback dispatcher is created once, on the first such event
//! without a subscriber; programs that install their own subscriber never create it.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::{Mutex, OnceLock};
use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{Interest, NoSubscriber};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// Runs `emit`, which emits `monitor` events; when no subscriber is installed (and the fallback
/// is on), its `warn` and `error` events with a `monitor` target are written to stderr.
#[cold]
#[inline(never)]
pub(crate) fn surfaced<R>(emit: impl FnOnce() -> R) -> R {
    match fallback() {
        Some(dispatch) => tracing::dispatcher::with_default(dispatch, emit),
        None => emit(),
    }
}

/// The stderr dispatcher, when the fallback is on and this thread has no subscriber right now.
fn fallback() -> Option<&'static Dispatch> {
    if !crate::config::stderr_warnings() {
        return None;
    }
    let unobserved = tracing::dispatcher::get_default(|d| d.is::<NoSubscriber>());
    if !unobserved {
        return None;
    }
    static FALLBACK: OnceLock<Dispatch> = OnceLock::new();
    // Creating the dispatcher registers it with every call site (recomputing their interest and
    // the global maximum level), so the events emitted under it are enabled.
    Some(FALLBACK.get_or_init(|| Dispatch::new(StderrWarnings)))
}

/// Whether the fallback would print an event with this metadata: `monitor`'s own events
/// (target `monitor` or a `monitor_core` module) at `warn` or `error`.
fn wanted(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    meta.is_event()
        && *meta.level() <= Level::WARN
        && (target == "monitor"
            || target.starts_with("monitor::")
            || target.starts_with("monitor_core"))
}

/// The fallback subscriber: prints each wanted event as one line on stderr.
#[derive(Debug, Clone, Copy)]
struct StderrWarnings;

impl Subscriber for StderrWarnings {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // "Sometimes": the same call site may fire under the program's subscriber later.
        if wanted(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::WARN)
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        wanted(meta)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let line = match admit(event) {
            Admit::Print => format_line(event),
            Admit::LastOne(shown) => {
                let mut line = format_line(event);
                let mut site = SiteName(None);
                event.record(&mut site);
                let _ = writeln!(
                    line,
                    "monitor: {} further `{}` events{} are not printed here ({shown} were); \
                     install a `tracing` subscriber to see every one",
                    event.metadata().level(),
                    event_message(event),
                    site.0.map(|n| format!(" of `{n}`")).unwrap_or_default()
                );
                line
            }
            Admit::Quiet => return,
        };
        // One write of the whole line (stderr is unbuffered), so lines from threads never mix.
        // A closed stderr is not the pipeline's problem.
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Lines printed for one kind of event of one monitored site (its `name` field): a pipeline that
/// fails a million rows must not print a million lines. The report and a real subscriber still
/// see every one.
const LINES_PER_SITE: u32 = 10;
/// Distinct (event, site) pairs counted; past it, events are printed uncounted (bounded memory).
const COUNTED_PAIRS: usize = 4096;

enum Admit {
    Print,
    /// The last line printed for its pair, with how many were shown.
    LastOne(u32),
    Quiet,
}

/// Whether this event's line is printed: the first [`LINES_PER_SITE`] of each kind of event per
/// site are. Only the `name` field is read before deciding, so a suppressed error is never
/// formatted.
fn admit(event: &Event<'_>) -> Admit {
    static PRINTED: Mutex<Option<HashMap<(Identifier, String), u32>>> = Mutex::new(None);
    let mut site = SiteName(None);
    event.record(&mut site);
    let Some(name) = site.0 else {
        return Admit::Print;
    };
    let mut printed = PRINTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = printed.get_or_insert_with(HashMap::new);
    let key = (event.metadata().callsite(), name);
    if map.len() >= COUNTED_PAIRS && !map.contains_key(&key) {
        return Admit::Print;
    }
    let n = map.entry(key).or_insert(0);
    *n = n.saturating_add(1);
    match (*n).cmp(&LINES_PER_SITE) {
        std::cmp::Ordering::Less => Admit::Print,
        std::cmp::Ordering::Equal => Admit::LastOne(LINES_PER_SITE),
        std::cmp::Ordering::Greater => Admit::Quiet,
    }
}

/// The event's message alone.
fn event_message(event: &Event<'_>) -> String {
    let mut line = Line {
        message: String::new(),
        fields: String::new(),
    };
    event.record(&mut line);
    line.message
}

/// Reads only an event's `name` field (the monitored site).
struct SiteName(Option<String>);

impl Visit for SiteName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "name" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "name" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// `monitor: WARN <message> key=value ...` with a final newline.
fn format_line(event: &Event<'_>) -> String {
    let mut line = Line {
        message: String::new(),
        fields: String::new(),
    };
    event.record(&mut line);
    let level = *event.metadata().level();
    let mut out = format!("monitor: {level} {}", line.message);
    out.push_str(&line.fields);
    // A multi-line value (a query plan) stays on the event's one line.
    let mut out = out.replace('\n', " | ");
    out.push('\n');
    out
}

struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_monitor_warnings_and_errors_are_wanted() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;
        struct Cs;
        impl tracing::Callsite for Cs {
            fn set_interest(&self, _: Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let meta = |target: &'static str, level: Level| {
            Metadata::new(
                "event",
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(&[], Identifier(&CS)),
                Kind::EVENT,
            )
        };
        assert!(wanted(&meta("monitor", Level::WARN)));
        assert!(wanted(&meta("monitor", Level::ERROR)));
        assert!(wanted(&meta("monitor_core::history::jsonl", Level::WARN)));
        assert!(!wanted(&meta("monitor", Level::INFO)));
        assert!(!wanted(&meta("my_pipeline", Level::ERROR)));
        assert!(!wanted(&meta("monitoring_tool", Level::ERROR)));
    }
}
