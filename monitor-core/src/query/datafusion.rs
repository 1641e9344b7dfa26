//! DataFusion (feature `datafusion`): a `DataFrame` run as a monitored query, with its plans.
//!
//! [`query!`]`("name")` is a query site (a `static` at that place in the source, like every
//! monitored call site); its [`Query::collect`] (a `DataFrame`) and [`Query::sql`] (a statement
//! on a `SessionContext`) run the query there: timed, its rows counted, its memory tracked, and, after it ran, its
//! plan kept like every other query's (`explain(..)`'s store, at most 5 per site, in
//! [`crate::snapshot()`] and under the query in each run's report). The plan is taken from the
//! execution itself, with no second execution: the query is planned (`create_physical_plan`),
//! run through the physical plan (`datafusion::physical_plan::collect`), and then each operator's
//! metrics are read from the very plan that ran (`ExecutionPlan::metrics`): `output_rows`,
//! `elapsed_compute`, spills (count, bytes, rows), and the Parquet scans' pruning figures. That is
//! `EXPLAIN ANALYZE`, client-side.
//!
//! [`Plan::text`] holds the optimized logical plan and the physical plan with each operator's
//! figures; [`Plan::json`] one object per operator. Findings ([`FindingKind`]):
//! - `full_scan`: a Parquet scan under a filter that pruned nothing: no predicate reached the
//!   scan (the filter stays above it), or one did and no row group was skipped (the file is not
//!   ordered by the filter's columns, so every row group's min/max overlaps it);
//! - `spill`: an operator spilled to disk (how much, and what to change);
//! - `repartition`: a `RepartitionExec` that moved at least [`MANY_ROWS`] rows between threads;
//! - `temp_sort`: a `SortExec` of at least [`MANY_ROWS`] rows.
//!
//! Literals in the plans' expressions are replaced by `?`, as for every database.
//!
//! ```no_run
//! # async fn doc() -> datafusion::error::Result<()> {
//! use datafusion::prelude::{ParquetReadOptions, SessionContext};
//!
//! let ctx = SessionContext::new();
//! ctx.register_parquet("orders", "orders.parquet", ParquetReadOptions::default()).await?;
//! let top = monitor_core::datafusion::query!("top_customers")
//!     .sql(
//!         &ctx,
//!         "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id ORDER BY total DESC LIMIT 10",
//!     )
//!     .await?;
//! let df = ctx.table("orders").await?.limit(0, Some(5))?;
//! let first = monitor_core::datafusion::query!("first_orders").collect(df).await?;
//! # Ok(()) }
//! ```

use crate::call::callsite::Callsite;
use crate::call::future::{ExplainedFuture, MonitoredFuture};
use crate::call::guard::Tracked;
use crate::call::stats::{ErrorText, Outcome};
use crate::query::explain::{ExplainError, ExplainFuture, ExplainOptions, ExplainPlanAsync};
use crate::query::explain_site::{ExplainMode, ExplainSite};
use crate::query::plan::{finding, Finding, FindingKind, Plan, PlanSource};
use crate::query::sql as sqltext;
use crate::site::Metadata;
use arrow_array::RecordBatch;
use datafusion::dataframe::DataFrame;
use datafusion::error::Result;
use datafusion::execution::context::SessionContext;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// A repartition or sort of at least this many rows is flagged.
pub const MANY_ROWS: usize = 1_000_000;

/// The query site `name` at this place in the source, made once: `query!("name")` expands to a
/// `static` [`Query`] (the call site's figures and its plan store) and returns a reference to it,
/// so running the query does no lookup by name and takes no lock.
///
/// ```no_run
/// # async fn doc(ctx: &datafusion::prelude::SessionContext) -> datafusion::error::Result<()> {
/// let rows = monitor_core::datafusion::query!("daily_totals")
///     .sql(ctx, "SELECT day, sum(amount) FROM orders GROUP BY day")
///     .await?;
/// # Ok(()) }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __datafusion_query {
    ($name:literal) => {{
        static QUERY: $crate::datafusion::Query = $crate::datafusion::Query::new(
            $crate::Metadata::new($name, $crate::Kind::Query, module_path!(), file!(), line!()),
        );
        &QUERY
    }};
}

#[doc(inline)]
pub use crate::__datafusion_query as query;

/// One DataFusion query site: made by [`query!`] (one `static` per place in the source), run with
/// [`Query::collect`] or [`Query::sql`].
#[derive(Debug)]
pub struct Query {
    callsite: Callsite,
    /// Made on the first run: it needs the call site's `'static` address, which exists only
    /// once the `Query` sits in its static.
    explain: OnceLock<ExplainSite>,
}

impl Query {
    /// The site described by `meta` (`query!` fills it in: the name and the source location);
    /// the query's memory, rows and plan are always recorded.
    #[must_use]
    pub const fn new(meta: Metadata) -> Self {
        Query {
            callsite: Callsite::new(meta.memory(true).rows(true).explain(true)),
            explain: OnceLock::new(),
        }
    }

    /// Runs `df` as this query and returns its batches (see the module's documentation).
    ///
    /// # Errors
    /// DataFusion's own, unchanged: planning or executing the query failed. The call still
    /// counts (as an error), and the plan of a query that failed while running is kept.
    pub async fn collect(&'static self, df: DataFrame) -> Result<Vec<RecordBatch>> {
        self.run(None, async move { Ok(df) }).await
    }

    /// Plans `sql` on `ctx` and runs it as this query (see [`Query::collect`]); the statement
    /// is the plan's SQL, normalized like every query's.
    ///
    /// # Errors
    /// As [`Query::collect`]; also a statement DataFusion cannot parse or plan.
    pub async fn sql(&'static self, ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
        self.run(Some(sql), ctx.sql(sql)).await
    }

    async fn run(
        &'static self,
        sql: Option<&str>,
        df: impl std::future::Future<Output = Result<DataFrame>>,
    ) -> Result<Vec<RecordBatch>> {
        // Monitoring off at run time: what `DataFrame::collect` does, nothing more.
        if crate::config::disabled() {
            return df.await?.collect().await;
        }
        let callsite = &self.callsite;
        let explain = self
            .explain
            .get_or_init(|| ExplainSite::new(callsite, ExplainMode::Always, true));
        let ran = Ran(OnceLock::new());
        let inner = async {
            // As `DataFrame::collect`, with the optimizer's output kept: the report shows that
            // plan, and the optimizer runs once, as it would without monitor.
            let (state, logical) = df.await?.into_parts();
            let task_ctx = Arc::new(TaskContext::from(&state));
            let optimized = state.optimize(&logical)?;
            let physical = state
                .query_planner()
                .create_physical_plan(&optimized, &state)
                .await?;
            let result = datafusion::physical_plan::collect(Arc::clone(&physical), task_ctx).await;
            // The plan's text and findings are monitor's own work.
            let began = crate::base::clock::now_ticks();
            let statement = sql.map_or_else(|| dataframe_statement(&logical), str::to_owned);
            let plan = plan_of(&statement, &optimized, physical.as_ref());
            let _ = ran.0.set((statement, plan));
            crate::base::own_cost::add_time(
                crate::base::own_cost::Part::PlanCapture,
                crate::base::clock::nanos_between(began, crate::base::clock::now_ticks()),
            );
            result
        };
        let (out, summary) = ExplainedFuture::new(MonitoredFuture::<_, _, Tracked>::new(
            callsite, inner, probe,
        ))
        .await;
        let statement = ran
            .0
            .get()
            .map_or_else(|| sql.unwrap_or("DataFrame").to_owned(), |(s, _)| s.clone());
        explain.capture_async(summary, &ran, &statement).await;
        out
    }
}

/// How a `DataFrame` built in code reads where a statement would: its plan's top line.
fn dataframe_statement(logical: &LogicalPlan) -> String {
    format!(
        "DataFrame: {}",
        logical
            .display_indent()
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
    )
}

/// The statement and plan of the query that just ran, handed to the site's plan store (no
/// second execution).
struct Ran(OnceLock<(String, Plan)>);

impl ExplainPlanAsync for Ran {
    fn explain_plan_async<'a>(&'a self, _: &'a str, _: ExplainOptions) -> ExplainFuture<'a> {
        let plan = self.0.get().map(|(_, plan)| plan.clone());
        Box::pin(std::future::ready(plan.ok_or_else(|| {
            ExplainError::skipped("the query failed before DataFusion planned it")
        })))
    }
}

fn probe(out: &Result<Vec<RecordBatch>>) -> (Outcome<'_>, Option<u64>) {
    match out {
        Ok(batches) => (
            Outcome::Ok,
            Some(batches.iter().map(|b| b.num_rows() as u64).sum()),
        ),
        Err(e) => (Outcome::Err(ErrorText::display(e)), None),
    }
}

/// One operator of the executed plan, with its figures.
struct Operator {
    depth: usize,
    /// Rows its first child produced (what a repartition moved).
    input_rows: Option<usize>,
    name: String,
    /// The operator's own line (`FilterExec: amount@2 >= ?`), literals redacted.
    line: String,
    metrics: Option<MetricsSet>,
    parent_filters: bool,
}

fn operators(plan: &dyn ExecutionPlan, depth: usize, under_filter: bool, out: &mut Vec<Operator>) {
    if depth > 64 {
        return;
    }
    let line = sqltext::truncate(
        &redact(&DisplayableExecutionPlan::new(plan).one_line().to_string()),
        sqltext::MAX_SQL_CHARS,
    );
    let name = plan.name().to_owned();
    let filters = under_filter || name == "FilterExec";
    let input_rows = plan
        .children()
        .first()
        .and_then(|c| c.metrics())
        .and_then(|m| m.output_rows());
    out.push(Operator {
        depth,
        input_rows,
        name,
        line: line.trim_end().to_owned(),
        metrics: plan.metrics().map(|m| m.aggregate_by_name()),
        parent_filters: under_filter,
    });
    for c in plan.children() {
        operators(c.as_ref(), depth + 1, filters, out);
    }
}

/// Literals as `?`; DataFusion's column indexes (`amount@2`) dropped rather than shown as `@?`.
/// DataFusion prints date and time literals unquoted (`2024-10-01`, `2024-10-01T08:30:00.5`),
/// which the scanner turns into one `?` per number: those runs become one `?`.
fn redact(line: &str) -> String {
    let redacted = sqltext::redact_literals(line).replace("@?", "");
    // The scanner reads `01T08` (a date's day, then the time's hour) as a number and a name:
    // after a `?`, a `T` and its digits are the same literal.
    let mut out = String::with_capacity(redacted.len());
    let mut chars = redacted.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '?' && chars.peek() == Some(&'T') {
            let mut ahead = chars.clone();
            ahead.next();
            if ahead.peek().is_some_and(char::is_ascii_digit) {
                chars = ahead;
                while chars.next_if(char::is_ascii_digit).is_some() {}
            }
        }
    }
    for joined in ["?-?", "?:?", "?.?"] {
        while out.contains(joined) {
            out = out.replace(joined, "?");
        }
    }
    out
}

fn count(m: Option<&MetricsSet>, name: &str) -> Option<usize> {
    m?.sum_by_name(name).map(|v| v.as_usize())
}

/// Builds the plan: text, one JSON object per operator, findings.
fn plan_of(statement: &str, logical: &LogicalPlan, physical: &dyn ExecutionPlan) -> Plan {
    let mut ops = Vec::new();
    operators(physical, 0, false, &mut ops);
    let mut text = String::from("Logical plan:\n");
    for line in logical.display_indent().to_string().lines() {
        let _ = writeln!(
            text,
            "  {}",
            sqltext::truncate(&redact(line), sqltext::MAX_SQL_CHARS)
        );
    }
    text.push_str("Physical plan, after execution:\n");
    let mut json_ops = Vec::new();
    let mut findings = Vec::new();
    for op in &ops {
        let m = op.metrics.as_ref();
        let rows = m.and_then(MetricsSet::output_rows);
        let compute = m.and_then(MetricsSet::elapsed_compute);
        let spills = m.and_then(MetricsSet::spill_count);
        let spilled_bytes = m.and_then(MetricsSet::spilled_bytes);
        let spilled_rows = m.and_then(MetricsSet::spilled_rows);
        let _ = write!(text, "  {}{}", "  ".repeat(op.depth), op.line);
        let mut figures = Vec::new();
        if let Some(r) = rows {
            figures.push(format!("output_rows={r}"));
        }
        if let Some(ns) = compute {
            #[allow(clippy::cast_precision_loss)]
            figures.push(format!("elapsed_compute={:.3} ms", ns as f64 / 1e6));
        }
        if let Some(n) = spills.filter(|n| *n > 0) {
            figures.push(format!(
                "spill_count={n}, spilled_bytes={}, spilled_rows={}",
                spilled_bytes.unwrap_or(0),
                spilled_rows.unwrap_or(0)
            ));
        }
        let parquet = op.line.contains("file_type=parquet");
        let pruned = count(m, "row_groups_pruned_statistics");
        let matched = count(m, "row_groups_matched_statistics");
        if parquet {
            if let (Some(p), Some(k)) = (pruned, matched) {
                if p + k > 0 {
                    figures.push(format!("row_groups_pruned={p} of {}", p + k));
                }
            }
            if let Some(b) = count(m, "bytes_scanned") {
                figures.push(format!("bytes_scanned={b}"));
            }
        }
        if !figures.is_empty() {
            let _ = write!(text, ", metrics=[{}]", figures.join(", "));
        }
        text.push('\n');
        json_ops.push(json!({
            "depth": op.depth,
            "operator": op.name,
            "detail": op.line,
            "output_rows": rows,
            "elapsed_compute_ns": compute,
            "spill_count": spills,
            "spilled_bytes": spilled_bytes,
            "spilled_rows": spilled_rows,
            "row_groups_pruned_statistics": pruned,
            "row_groups_matched_statistics": matched,
        }));
        findings.extend(operator_findings(
            op,
            rows,
            pruned,
            matched,
            spills,
            spilled_bytes,
        ));
    }
    Plan {
        source: PlanSource::Datafusion,
        sql: sqltext::normalize(statement),
        text: text.trim_end().to_owned(),
        json: Some(Value::Array(json_ops)),
        analyzed: true,
        findings,
    }
}

/// The file a scan reads, for messages: the last path-looking word of its line.
fn scanned_file(line: &str) -> String {
    line.split(['[', ']', ',', ' ', ':'])
        .find(|w| w.ends_with(".parquet"))
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .map_or_else(|| "the Parquet files".to_owned(), str::to_owned)
}

/// `predicate=..` of a scan line, up to the next `, key=`.
fn predicate(line: &str) -> Option<&str> {
    let rest = line.split_once("predicate=")?.1;
    Some(
        rest.split(", pruning_predicate=")
            .next()
            .unwrap_or(rest)
            .trim(),
    )
}

fn operator_findings(
    op: &Operator,
    rows: Option<usize>,
    pruned: Option<usize>,
    matched: Option<usize>,
    spills: Option<usize>,
    spilled_bytes: Option<usize>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let rows = rows.unwrap_or(0);
    if op.line.contains("file_type=parquet")
        && (op.parent_filters || op.line.contains("predicate="))
    {
        let file = scanned_file(&op.line);
        match predicate(&op.line) {
            None => out.push(finding(
                FindingKind::FullScan,
                Some(file.clone()),
                format!(
                    "full scan of {file}: the filter above the scan did not reach it (no predicate pushed down), so every row group was read and decoded; filter on plain columns of the file (not on an expression of them) so DataFusion can push it into the scan"
                ),
                Vec::new(),
            )),
            Some(pred) => {
                let total = pruned.unwrap_or(0) + matched.unwrap_or(0);
                if pruned == Some(0) && total > 1 {
                    out.push(finding(
                        FindingKind::FullScan,
                        Some(file.clone()),
                        format!(
                            "full scan of {file}: the predicate {pred} pruned none of its {total} row groups (every row group's min/max overlaps it); write the file sorted by the filtered columns (smaller row groups help too) so whole row groups are skipped, and set `datafusion.execution.parquet.pushdown_filters = true` to filter rows while decoding"
                        ),
                        Vec::new(),
                    ));
                }
            }
        }
    }
    if let Some(n) = spills.filter(|n| *n > 0) {
        #[allow(clippy::cast_precision_loss)]
        let mib = spilled_bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0);
        out.push(finding(
            FindingKind::Spill,
            None,
            format!(
                "{} spilled to disk {n} time(s), {mib:.1} MiB: its input did not fit the session's memory pool; give the pool more memory (`RuntimeEnvBuilder::with_memory_limit`), or shrink the input (project fewer columns, filter or aggregate earlier)",
                op.name
            ),
            Vec::new(),
        ));
    }
    let moved = op.input_rows.unwrap_or(0);
    if op.name == "RepartitionExec" && moved >= MANY_ROWS {
        out.push(finding(
            FindingKind::Repartition,
            None,
            format!(
                "{} moved {moved} rows between threads ({}); a repartition this large pays off only with many cores: lower `datafusion.execution.target_partitions`, or filter and aggregate before it",
                op.name, op.line
            ),
            Vec::new(),
        ));
    }
    if op.name == "SortExec" && rows >= MANY_ROWS {
        out.push(finding(
            FindingKind::TempSort,
            None,
            format!(
                "{} sorted {rows} rows ({}); if the input file is already in that order, declare it (`WITH ORDER` on `CREATE EXTERNAL TABLE`, `file_sort_order` in the read options) so the sort is skipped, or add a `LIMIT` so only the top rows are kept",
                op.name, op.line
            ),
            Vec::new(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_lines_are_read() {
        let line = redact("DataSourceExec: file_groups={1 group: [[tmp/orders.parquet:0..100]]}, projection=[a], file_type=parquet, predicate=amount@2 >= 10, pruning_predicate=amount_null_count@1 != row_count@2");
        assert_eq!(scanned_file(&line), "orders.parquet");
        assert_eq!(predicate(&line), Some("amount >= ?"));
    }

    #[test]
    fn date_and_time_literals_are_one_placeholder() {
        assert_eq!(
            redact("FilterExec: order_date@0 >= 2024-10-01 AND at@1 < 2024-10-01T08:30:00.5"),
            "FilterExec: order_date >= ? AND at < ?"
        );
    }
}
