//! The `tracing` events of plan capture: the slow-query warning that carries the plan, a plan
//! captured on schedule, a capture that failed or was skipped. Same target and fields as the
//! call's own events ([`crate::call::events`]).

use crate::base::clock::ms;
use crate::config::stderr_events::surfaced;
use crate::query::explain::ExplainError;
use crate::query::plan::Plan;
use crate::site::Metadata;

/// Emits the slow-query warning of an `explain(..)` site, with its plan when one was captured.
/// The SQL and plan are normalized and redacted (see [`crate::query::sql`]).
#[cold]
pub(crate) fn slow_query_with_plan(
    meta: &Metadata,
    duration_ns: u64,
    threshold_ns: u64,
    plan: Option<&Plan>,
) {
    let Some(p) = plan else {
        return crate::call::events::slow_query(meta, duration_ns, threshold_ns);
    };
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            duration_ms = ms(duration_ns),
            threshold_ms = ms(threshold_ns),
            sql = %p.sql,
            plan = %p.text,
            findings = %p.findings_summary(),
            "slow query"
        );
    });
}

/// Emits a plan captured outside a slow call (`mode = "always"` or `every = N`).
#[cold]
pub(crate) fn plan_captured(meta: &Metadata, duration_ns: u64, p: &Plan) {
    tracing::debug!(
        target: "monitor",
        name = meta.name,
        kind = meta.kind.as_str(),
        duration_ms = ms(duration_ns),
        sql = %p.sql,
        plan = %p.text,
        findings = %p.findings_summary(),
        "query plan captured"
    );
}

/// Emits a failed plan capture (the call itself is unaffected).
#[cold]
pub(crate) fn plan_capture_failed(meta: &Metadata, error: &ExplainError) {
    surfaced(|| {
        tracing::warn!(
            target: "monitor",
            name = meta.name,
            kind = meta.kind.as_str(),
            error = %error,
            "query plan capture failed"
        );
    });
}

/// Emits the one `debug` event of a capture that was skipped (see `ExplainError::skipped`).
#[cold]
pub(crate) fn plan_capture_skipped(meta: &Metadata, reason: &ExplainError) {
    tracing::debug!(
        target: "monitor",
        name = meta.name,
        kind = meta.kind.as_str(),
        reason = %reason,
        "query plan capture skipped"
    );
}
