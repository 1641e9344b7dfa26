//! The plan-capturing side of one `#[monitor_query(.., explain(..))]` site: when to capture,
//! the bounded store of the slowest plans, and the `warn` that carries the plan.
//!
//! The macro emits a second `static` next to the call site:
//! `static __MONITOR_EXPLAIN: ExplainSite = ExplainSite::new(&__MONITOR_CALLSITE, mode, analyze)`.
//! After each call, the generated code hands the call's [`CallSummary`] and the named connection
//! and SQL to [`ExplainSite::capture`] (or [`ExplainSite::capture_async`]). A call that needs no
//! plan costs one relaxed load (and, in one-in-N mode, one relaxed increment); capturing is the
//! slow path and may lock and allocate.
//!
//! Plans are kept per site, at most [`MAX_PLANS_PER_SITE`]: the slowest calls' plans, with their
//! durations; the same plan seen again bumps its count (and its duration if slower) instead of
//! taking a slot.

use crate::base::registry::{Linked, Registry};
use crate::call::callsite::Callsite;
use crate::call::guard::CallSummary;
use crate::query::explain::{ExplainOptions, ExplainPlan, ExplainPlanAsync, ExplainPlanAsyncMut};
use crate::query::plan::Plan;
use serde::{Deserialize, Serialize};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// Plans kept per site.
pub const MAX_PLANS_PER_SITE: usize = 5;

/// When a site captures its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainMode {
    /// Only calls past the slow threshold (the default).
    Slow,
    /// Every call.
    Always,
    /// One call in N (the first, then every Nth), plus every slow call.
    Every(u64),
}

/// A plan captured from one call, with the call's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
    /// The call's wall time, milliseconds (the slowest call that produced this plan).
    pub duration_ms: f64,
    /// Whether that call passed the slow threshold.
    pub slow: bool,
    /// When that call was captured, Unix milliseconds.
    pub captured_at_unix_ms: u64,
    /// How many captured calls produced this same plan.
    pub times_seen: u64,
}

const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;

/// Plan capture state of one query site (a `static` emitted by the macro).
#[derive(Debug)]
pub struct ExplainSite {
    callsite: &'static Callsite,
    mode: ExplainMode,
    analyze: bool,
    calls: AtomicU64,
    state: AtomicU8,
    next: AtomicPtr<ExplainSite>,
    sql_seen: AtomicBool,
    sql: OnceLock<String>,
    plans: Mutex<Vec<CapturedPlan>>,
    failures: AtomicU64,
}

static SITES: Registry<ExplainSite> = Registry::new();

impl Linked for ExplainSite {
    fn next(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}

impl ExplainSite {
    /// The capture state for `callsite`.
    #[must_use]
    pub const fn new(callsite: &'static Callsite, mode: ExplainMode, analyze: bool) -> Self {
        ExplainSite {
            callsite,
            mode,
            analyze,
            calls: AtomicU64::new(0),
            state: AtomicU8::new(UNREGISTERED),
            next: AtomicPtr::new(ptr::null_mut()),
            sql_seen: AtomicBool::new(false),
            sql: OnceLock::new(),
            plans: Mutex::new(Vec::new()),
            failures: AtomicU64::new(0),
        }
    }

    /// The call site this state belongs to.
    #[must_use]
    pub fn callsite(&self) -> &'static Callsite {
        self.callsite
    }

    /// The site's SQL, normalized, as first seen.
    #[must_use]
    pub fn sql(&self) -> Option<&str> {
        self.sql.get().map(String::as_str)
    }

    /// The kept plans, slowest first.
    #[must_use]
    pub fn plans(&self) -> Vec<CapturedPlan> {
        match self.plans.lock() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// How many captures failed (the database refused the `EXPLAIN`).
    #[must_use]
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Forgets the kept plans (with [`crate::reset`]).
    pub fn reset(&self) {
        match self.plans.lock() {
            Ok(mut p) => p.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
        self.failures.store(0, Ordering::Relaxed);
    }

    /// The call's summary when this call is explained (a call that returned and was slow, or
    /// chosen by the mode); records the SQL on the first call.
    #[inline]
    fn wanted(&'static self, summary: Option<CallSummary>, sql: &str) -> Option<CallSummary> {
        let summary = summary?;
        self.wants(&summary, sql).then_some(summary)
    }

    #[inline]
    fn wants(&'static self, summary: &CallSummary, sql: &str) -> bool {
        if !self.sql_seen.load(Ordering::Relaxed) {
            self.first_call(sql);
        }
        let by_mode = match self.mode {
            ExplainMode::Slow => false,
            ExplainMode::Always => true,
            ExplainMode::Every(n) => self
                .calls
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(n.max(1)),
        };
        by_mode || summary.slow
    }

    #[cold]
    fn first_call(&'static self, sql: &str) {
        let _ = self.sql.set(crate::query::sql::normalize(sql));
        self.sql_seen.store(true, Ordering::Relaxed);
        self.register();
    }

    fn register(&'static self) {
        if self
            .state
            .compare_exchange(
                UNREGISTERED,
                REGISTERING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            return;
        }
        SITES.push(self);
        self.state.store(REGISTERED, Ordering::Release);
    }

    fn options(&self) -> ExplainOptions {
        ExplainOptions {
            analyze: self.analyze,
        }
    }

    /// After a synchronous call: captures the plan if this call is to be explained, stores it,
    /// and emits the slow-query warning (with the plan) that the call deferred.
    pub fn capture<C, S>(&'static self, summary: Option<CallSummary>, conn: &mut C, sql: &S)
    where
        C: ExplainPlan + ?Sized,
        S: AsRef<str> + ?Sized,
    {
        let sql = sql.as_ref();
        let Some(mut summary) = self.wanted(summary, sql) else {
            return;
        };
        let began = crate::base::clock::now_ticks();
        let result = conn.explain_plan(sql, self.options());
        self.finish(&mut summary, result, began);
    }

    /// After an `async` call: as [`ExplainSite::capture`], through [`ExplainPlanAsync`].
    pub async fn capture_async<C, S>(&'static self, summary: Option<CallSummary>, conn: &C, sql: &S)
    where
        C: ExplainPlanAsync + ?Sized,
        S: AsRef<str> + ?Sized,
    {
        let sql = sql.as_ref();
        let Some(mut summary) = self.wanted(summary, sql) else {
            return;
        };
        let began = crate::base::clock::now_ticks();
        let result = conn.explain_plan_async(sql, self.options()).await;
        self.finish(&mut summary, result, began);
    }

    /// After an `async` call whose connection is a `&mut` reference: as
    /// [`ExplainSite::capture_async`], through [`ExplainPlanAsyncMut`] (sqlx connections and
    /// transactions).
    pub async fn capture_async_mut<C, S>(
        &'static self,
        summary: Option<CallSummary>,
        conn: &mut C,
        sql: &S,
    ) where
        C: ExplainPlanAsyncMut + ?Sized,
        S: AsRef<str> + ?Sized,
    {
        let sql = sql.as_ref();
        let Some(mut summary) = self.wanted(summary, sql) else {
            return;
        };
        let began = crate::base::clock::now_ticks();
        let result = conn.explain_plan_async_mut(sql, self.options()).await;
        self.finish(&mut summary, result, began);
    }

    #[cold]
    fn finish(
        &'static self,
        summary: &mut CallSummary,
        result: Result<Plan, crate::query::explain::ExplainError>,
        began: u64,
    ) {
        let meta = self.callsite.metadata();
        let plan = match result {
            Ok(plan) => Some(plan),
            Err(e) if e.is_skipped() => {
                crate::query::events::plan_capture_skipped(meta, &e);
                None
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                crate::query::events::plan_capture_failed(meta, &e);
                None
            }
        };
        if summary.take_slow_event() {
            crate::query::events::slow_query_with_plan(
                meta,
                summary.duration_ns,
                summary.threshold_ns,
                plan.as_ref(),
            );
        } else if let Some(p) = &plan {
            crate::query::events::plan_captured(meta, summary.duration_ns, p);
        }
        if let Some(plan) = plan {
            self.store(plan, summary);
        }
        crate::base::own_cost::add(
            crate::base::own_cost::Part::PlanCapture,
            crate::base::clock::nanos_between(began, crate::base::clock::now_ticks()),
        );
    }

    fn store(&self, plan: Plan, summary: &CallSummary) {
        let duration_ms = crate::call::events::ms(summary.duration_ns);
        let now = crate::base::clock::unix_millis();
        let mut plans = match self.plans.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(same) = plans
            .iter_mut()
            .find(|p| p.plan.text == plan.text && p.plan.sql == plan.sql)
        {
            same.times_seen += 1;
            if duration_ms > same.duration_ms {
                same.duration_ms = duration_ms;
                same.slow = summary.slow;
                same.captured_at_unix_ms = now;
                same.plan = plan;
            }
        } else {
            plans.push(CapturedPlan {
                plan,
                duration_ms,
                slow: summary.slow,
                captured_at_unix_ms: now,
                times_seen: 1,
            });
        }
        plans.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
        plans.truncate(MAX_PLANS_PER_SITE);
    }
}

/// Calls `f` for every explain site that has run at least once.
pub fn for_each_explain_site(f: impl FnMut(&'static ExplainSite)) {
    SITES.for_each(f);
}

/// The explain state of a call site, if it has one and it has run.
#[must_use]
pub fn explain_site_of(callsite: &Callsite) -> Option<&'static ExplainSite> {
    let mut found = None;
    for_each_explain_site(|s| {
        if found.is_none() && ptr::eq(s.callsite, callsite) {
            found = Some(s);
        }
    });
    found
}

/// The kept plans of a call site, slowest first (empty for sites without `explain(..)`).
#[must_use]
pub fn plans_of(callsite: &Callsite) -> Vec<CapturedPlan> {
    explain_site_of(callsite)
        .map(ExplainSite::plans)
        .unwrap_or_default()
}
