//! Test support: a `tracing` subscriber that captures events, so tests can assert on what
//! `monitor` logged (the level, the target, every structured field) instead of on "it ran".
//!
//! ```
//! use monitor_core::testing::capture;
//! let ((), events) = capture(|| tracing::warn!(target: "monitor", name = "q", "slow query"));
//! assert_eq!(events[0].message, "slow query");
//! assert_eq!(events[0].str("name"), Some("q"));
//! ```
//!
//! [`capture`] sees events of the current thread only, [`capture_async`] those emitted while its
//! future is polled. For code that logs from other threads use [`GlobalCapture::install`], which
//! installs one process-wide capturing subscriber.
//!
//! Tests that finish pipeline runs call [`without_history`] first, so their runs are neither
//! written into the project's history nor compared with it.
//!
//! May import: `history`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One field's value as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A string, or anything recorded with `%`/`?` (formatted).
    Str(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::U64(v) => write!(f, "{v}"),
            FieldValue::I64(v) => write!(f, "{v}"),
            FieldValue::F64(v) => write!(f, "{v}"),
            FieldValue::Bool(v) => write!(f, "{v}"),
            FieldValue::Str(v) => f.write_str(v),
        }
    }
}

/// One captured event.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    /// The event's level.
    pub level: Level,
    /// The event's target (`monitor` for everything this crate emits).
    pub target: String,
    /// The `message` field.
    pub message: String,
    /// Every other field, by name.
    pub fields: BTreeMap<String, FieldValue>,
}

impl CapturedEvent {
    /// A field as a string, if it was recorded as one.
    #[must_use]
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)? {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A numeric field as `f64` (integers converted).
    #[must_use]
    pub fn f64(&self, name: &str) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        match self.fields.get(name)? {
            FieldValue::U64(v) => Some(*v as f64),
            FieldValue::I64(v) => Some(*v as f64),
            FieldValue::F64(v) => Some(*v),
            _ => None,
        }
    }

    /// An unsigned field.
    #[must_use]
    pub fn u64(&self, name: &str) -> Option<u64> {
        match self.fields.get(name)? {
            FieldValue::U64(v) => Some(*v),
            FieldValue::I64(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }
}

struct FieldVisitor<'a>(&'a mut CapturedEvent);

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0
            .fields
            .insert(field.name().to_owned(), FieldValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0
            .fields
            .insert(field.name().to_owned(), FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0
            .fields
            .insert(field.name().to_owned(), FieldValue::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0
            .fields
            .insert(field.name().to_owned(), FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0.message);
        } else {
            self.0
                .fields
                .insert(field.name().to_owned(), FieldValue::Str(value.to_owned()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.0.message = text;
        } else {
            self.0
                .fields
                .insert(field.name().to_owned(), FieldValue::Str(text));
        }
    }
}

/// A subscriber that stores every event in a shared buffer.
#[derive(Debug, Clone, Default)]
pub struct CapturingSubscriber {
    events: Arc<Mutex<Vec<CapturedEvent>>>,
    next_span: Arc<AtomicU64>,
}

impl CapturingSubscriber {
    /// A subscriber with an empty buffer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every event captured so far, leaving the buffer empty.
    #[must_use]
    pub fn take(&self) -> Vec<CapturedEvent> {
        match self.events.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl Subscriber for CapturingSubscriber {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut captured = CapturedEvent {
            level: *meta.level(),
            target: meta.target().to_owned(),
            message: String::new(),
            fields: BTreeMap::new(),
        };
        event.record(&mut FieldVisitor(&mut captured));
        match self.events.lock() {
            Ok(mut v) => v.push(captured),
            Err(poisoned) => poisoned.into_inner().push(captured),
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs `f` with a capturing subscriber as this thread's default; returns its value and the
/// events it emitted on this thread.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<CapturedEvent>) {
    let sub = CapturingSubscriber::new();
    let r = tracing::subscriber::with_default(sub.clone(), || {
        // A callsite first hit on another thread while this dispatcher was being created can keep
        // a stale "never" interest; recompute them all now that this subscriber exists.
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    (r, sub.take())
}

/// [`capture`] for a future: a capturing subscriber is the default while the future is polled
/// (wherever it is polled); returns its output and the events it emitted during its polls.
pub async fn capture_async<F: std::future::Future>(fut: F) -> (F::Output, Vec<CapturedEvent>) {
    use tracing::instrument::WithSubscriber;
    let sub = CapturingSubscriber::new();
    let out = async move {
        // As in `capture`: interests cached before this subscriber existed are recomputed.
        tracing::callsite::rebuild_interest_cache();
        fut.await
    }
    .with_subscriber(sub.clone())
    .await;
    (out, sub.take())
}

/// A process-wide capturing subscriber, for code that logs from several threads.
#[derive(Debug, Clone)]
pub struct GlobalCapture {
    sub: CapturingSubscriber,
}

static GLOBAL: OnceLock<Option<CapturingSubscriber>> = OnceLock::new();

impl GlobalCapture {
    /// Installs the capturing subscriber as the global default (once per process) and returns a
    /// handle to its buffer. `None` if another global subscriber was installed first.
    #[must_use]
    pub fn install() -> Option<GlobalCapture> {
        GLOBAL
            .get_or_init(|| {
                let sub = CapturingSubscriber::new();
                tracing::subscriber::set_global_default(sub.clone())
                    .ok()
                    .map(|()| sub)
            })
            .clone()
            .map(|sub| GlobalCapture { sub })
    }

    /// Takes every event captured so far (from all threads).
    #[must_use]
    pub fn take(&self) -> Vec<CapturedEvent> {
        self.sub.take()
    }
}

/// Keeps this process's finished runs out of the history from now on: they are neither recorded
/// (so a test run never writes into the project's `.monitor/history.jsonl`) nor compared with
/// earlier runs (so ordinary noise never adds a regression warning to the events a test counts).
/// Call it first in every test that finishes a run; a test of the history installs its own
/// [`HistorySettings`](crate::history::HistorySettings) with a temporary path instead.
pub fn without_history() {
    crate::history::HistorySettings::builder()
        .record(false)
        .install();
}
