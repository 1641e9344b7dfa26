//! One `static` per annotated function: its metadata, its stats, and its place in the registry.
//!
//! The macros emit `static __MONITOR_CALLSITE: Callsite = Callsite::new(Metadata::new(..))` inside
//! the function, so finding a function's stats on the hot path is a pointer, never a lookup by
//! name. The first call registers the site in a lock-free intrusive list (a CAS on the list head,
//! as `tracing-core` does) so that [`crate::report::snapshot()`] and the exporters can walk every site.

use crate::call::stats::SiteStats;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, Ordering};

/// What an annotated function is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `#[monitor_step]`: a pipeline step.
    Step,
    /// `#[monitor_query("name")]`: a database call.
    Query,
}

impl Kind {
    /// `"step"` or `"query"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Step => "step",
            Kind::Query => "query",
        }
    }
}

/// A dataset named in `#[monitor_step(inputs = "..", outputs = "..")]`: its OpenLineage
/// namespace and name, split by the macro at compile time (see [`crate::lineage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasetName {
    /// Where the dataset lives: `file`, `postgres://db:5432`, `sqlite://shop.sqlite`, ...
    pub namespace: &'static str,
    /// The dataset within its namespace: a path, `db.schema.table`, ...
    pub name: &'static str,
}

impl DatasetName {
    /// A dataset name.
    #[must_use]
    pub const fn new(namespace: &'static str, name: &'static str) -> Self {
        DatasetName { namespace, name }
    }
}

/// Static description of a call site, written by the macros with `const fn` setters so that new
/// options never break previously generated code.
#[derive(Debug, Clone, Copy)]
pub struct Metadata {
    /// The step or query name.
    pub name: &'static str,
    /// Step or query.
    pub kind: Kind,
    /// `module_path!()` of the annotated function.
    pub module_path: &'static str,
    /// `file!()` of the annotated function.
    pub file: &'static str,
    /// `line!()` of the annotated function.
    pub line: u32,
    /// Per-site slow threshold in nanoseconds; 0 means "use the global threshold".
    pub slow_ns: u64,
    /// Whether to read RSS at entry and exit and track the call's peak.
    pub memory: bool,
    /// Per-site memory warning threshold in bytes; 0 means "use the global threshold".
    pub memory_warn: u64,
    /// Peak-memory budget in bytes; 0 means none.
    pub max_peak: u64,
    /// Duration budget in nanoseconds; 0 means none.
    pub max_duration_ns: u64,
    /// Whether the return value carries a row count (`#[monitor_step(rows)]`).
    pub rows: bool,
    /// Whether the site captures plans (`explain(..)`): its slow warning waits for the plan.
    pub explain: bool,
    /// Datasets the site reads (`inputs = ".."`), for OpenLineage.
    pub inputs: &'static [DatasetName],
    /// Datasets the site writes (`outputs = ".."`), for OpenLineage.
    pub outputs: &'static [DatasetName],
}

impl Metadata {
    /// Metadata with every option at its default: steps track memory, queries time only.
    #[must_use]
    pub const fn new(
        name: &'static str,
        kind: Kind,
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        Metadata {
            name,
            kind,
            module_path,
            file,
            line,
            slow_ns: 0,
            memory: matches!(kind, Kind::Step),
            memory_warn: 0,
            max_peak: 0,
            max_duration_ns: 0,
            rows: false,
            explain: false,
            inputs: &[],
            outputs: &[],
        }
    }

    /// Sets the slow threshold (nanoseconds).
    #[must_use]
    pub const fn slow_ns(mut self, ns: u64) -> Self {
        self.slow_ns = ns;
        self
    }

    /// Turns RSS tracking on or off.
    #[must_use]
    pub const fn memory(mut self, on: bool) -> Self {
        self.memory = on;
        self
    }

    /// Sets the memory warning threshold (bytes).
    #[must_use]
    pub const fn memory_warn(mut self, bytes: u64) -> Self {
        self.memory_warn = bytes;
        self
    }

    /// Sets the peak-memory budget (bytes).
    #[must_use]
    pub const fn max_peak(mut self, bytes: u64) -> Self {
        self.max_peak = bytes;
        self
    }

    /// Sets the duration budget (nanoseconds).
    #[must_use]
    pub const fn max_duration_ns(mut self, ns: u64) -> Self {
        self.max_duration_ns = ns;
        self
    }

    /// Marks the site as capturing plans (`explain(..)`).
    #[must_use]
    pub const fn explain(mut self, on: bool) -> Self {
        self.explain = on;
        self
    }

    /// Sets the datasets the site reads (`inputs = ".."`).
    #[must_use]
    pub const fn inputs(mut self, datasets: &'static [DatasetName]) -> Self {
        self.inputs = datasets;
        self
    }

    /// Sets the datasets the site writes (`outputs = ".."`).
    #[must_use]
    pub const fn outputs(mut self, datasets: &'static [DatasetName]) -> Self {
        self.outputs = datasets;
        self
    }

    /// Marks the return value as carrying a row count.
    #[must_use]
    pub const fn rows(mut self, on: bool) -> Self {
        self.rows = on;
        self
    }
}

const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;

/// Upper bound on distinct call sites that get a dense id (used by per-run tables). Sites past it
/// are still measured globally; they are just not attached to runs.
pub const MAX_SITE_IDS: u32 = 1 << 16;

/// One annotated function: metadata, registration state and lock-free stats.
#[derive(Debug)]
pub struct Callsite {
    meta: Metadata,
    state: AtomicU8,
    id: AtomicU32,
    next: AtomicPtr<Callsite>,
    stats: SiteStats,
}

static HEAD: AtomicPtr<Callsite> = AtomicPtr::new(ptr::null_mut());
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

impl Callsite {
    /// A call site, unregistered until its first call.
    #[must_use]
    pub const fn new(meta: Metadata) -> Self {
        Callsite {
            meta,
            state: AtomicU8::new(UNREGISTERED),
            id: AtomicU32::new(u32::MAX),
            next: AtomicPtr::new(ptr::null_mut()),
            stats: SiteStats::new(),
        }
    }

    /// The site's metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The site's cumulative stats since the process started (or the last [`crate::reset`]).
    #[must_use]
    pub fn stats(&self) -> &SiteStats {
        &self.stats
    }

    /// Dense id assigned at registration (`None` before the first call).
    #[must_use]
    pub fn id(&self) -> Option<u32> {
        match self.id.load(Ordering::Acquire) {
            u32::MAX => None,
            id => Some(id),
        }
    }

    /// Registers the site on its first call. After that this is one acquire load.
    #[inline]
    pub fn ensure_registered(&'static self) {
        if self.state.load(Ordering::Acquire) != REGISTERED {
            self.register_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn register_slow(&'static self) {
        match self.state.compare_exchange(
            UNREGISTERED,
            REGISTERING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                crate::config::ensure_init();
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                self.id.store(id, Ordering::Release);
                let me = ptr::from_ref(self).cast_mut();
                let mut head = HEAD.load(Ordering::Acquire);
                loop {
                    self.next.store(head, Ordering::Relaxed);
                    match HEAD.compare_exchange_weak(head, me, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => break,
                        Err(h) => head = h,
                    }
                }
                self.state.store(REGISTERED, Ordering::Release);
            }
            Err(_) => {
                // Another thread is registering this very site: it takes a few nanoseconds.
                while self.state.load(Ordering::Acquire) != REGISTERED {
                    std::hint::spin_loop();
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// Calls `f` for every registered site, newest first.
pub fn for_each_site(mut f: impl FnMut(&'static Callsite)) {
    let mut cur = HEAD.load(Ordering::Acquire);
    while !cur.is_null() {
        // SAFETY: only `&'static Callsite`s are ever pushed, and they are never removed.
        let site: &'static Callsite = unsafe { &*cur };
        f(site);
        cur = site.next.load(Ordering::Acquire);
    }
}

/// Number of registered sites.
#[must_use]
pub fn site_count() -> usize {
    let mut n = 0;
    for_each_site(|_| n += 1);
    n
}
