//! One `static` per annotated function: its metadata, its stats, and its place in the registry.
//!
//! The macros emit `static __MONITOR_CALLSITE: Callsite = Callsite::new(Metadata::new(..))` inside
//! the function, so finding a function's stats on the hot path is a pointer, never a lookup by
//! name. The first call registers the site in a lock-free intrusive list (a CAS on the list head,
//! as `tracing-core` does) so that [`crate::snapshot()`] and the exporters can walk every site.

use crate::base::registry::{Linked, Registry};
use crate::call::stats::SiteStats;
pub use crate::site::{DatasetName, Kind, Metadata};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, Ordering};

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

static SITES: Registry<Callsite> = Registry::new();
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

impl Linked for Callsite {
    fn next(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}

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
                crate::start_up();
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                self.id.store(id, Ordering::Release);
                SITES.push(self);
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
pub fn for_each_site(f: impl FnMut(&'static Callsite)) {
    SITES.for_each(f);
}

/// Number of registered sites.
#[must_use]
pub fn site_count() -> usize {
    let mut n = 0;
    for_each_site(|_| n += 1);
    n
}
