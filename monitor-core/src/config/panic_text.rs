//! The text of a panic, for a run's error list and the `call panicked` event.
//!
//! A monitored call sees its own panic only as unwinding (its guard is dropped while
//! `std::thread::panicking()`): the payload is not reachable from there, and catching the unwind
//! to read it would change the function. So a panic hook, chained in front of whatever hook was
//! installed before (which still runs, unchanged), copies the message, its location and the clock
//! into a thread-local; a call that ends in a panic takes that text if it was written after the
//! call started. A program that installs its own hook later replaces this one: its panics are
//! then reported as `panicked`, without text. `MONITOR_PANIC_TEXT=0` keeps the hook out.

use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::sync::Once;

thread_local! {
    /// `(clock ticks, "message (at file:line:col)")` of this thread's last panic.
    static LAST: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// The longest panic text kept, in characters.
const MAX_CHARS: usize = 1024;

/// Chains the hook in, once per process (never from a panicking thread, where `set_hook` itself
/// would panic).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    if std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            remember(info);
            previous(info);
        }));
    });
}

fn remember(info: &PanicHookInfo<'_>) {
    let at = crate::base::clock::now_ticks();
    // What `panic!` carries: a `&'static str` literal or a formatted `String`.
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let mut text: String = message.chars().take(MAX_CHARS).collect();
    if let Some(loc) = info.location() {
        text.push_str(&format!(
            " (at {}:{}:{})",
            loc.file(),
            loc.line(),
            loc.column()
        ));
    }
    // `try_*`: a panic while this thread's storage is being torn down, or inside a borrow, keeps
    // no text rather than panicking inside the hook.
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some((at, text));
        }
    });
}

/// The text of this thread's latest panic, if it began at or after `start_ticks` (so a call
/// never gets the text of an earlier, caught panic).
pub(crate) fn since(start_ticks: u64) -> Option<String> {
    if !crate::config::panic_text() {
        return None;
    }
    LAST.try_with(|last| {
        last.try_borrow().ok().and_then(|last| {
            last.as_ref()
                .filter(|(at, _)| *at >= start_ticks)
                .map(|(_, text)| text.clone())
        })
    })
    .ok()
    .flatten()
}
