//! DuckDB plans: `EXPLAIN (FORMAT JSON)` (and, under `analyze`, the JSON profile of
//! `EXPLAIN (ANALYZE, FORMAT JSON)`) read into a [`Plan`]: redacted, rendered as an indented tree
//! like the other databases' plans, and analysed. Always built (the JSON needs no DuckDB), so the
//! analysis is tested without compiling DuckDB; `query::duckdb` captures it (feature `duckdb`).
//!
//! The two documents describe operators differently, and both are read:
//!
//! | | `EXPLAIN (FORMAT JSON)` | profile (`ANALYZE`) |
//! |---|---|---|
//! | operator | `name` (`TABLE_SCAN`, `HASH_JOIN`, ...) | `operator_name`, `operator_type` |
//! | details | `extra_info` (`Table`, `Type`, `Filters`, `Conditions`, `Estimated Cardinality`) | the same `extra_info` |
//! | rows | `Estimated Cardinality` | `operator_cardinality`, `operator_rows_scanned` (actual) |
//! | time | — | `operator_timing` (seconds) |
//! | out of core | — | `system_peak_temp_dir_size` of the query (bytes) |
//!
//! DuckDB decides on an index scan when the query starts, not when it is planned: a plain
//! `EXPLAIN` shows every table scan as `Sequential Scan`, and only the profile shows
//! `Index Scan` where one was used. So a filtered scan is flagged only when no index (nor primary
//! key or unique constraint) leads with a filtered column.
//!
//! Findings ([`FindingKind`]):
//! - `full_scan`: a sequential scan with a filter over a table of at least [`DUCKDB_BIG_TABLE_ROWS`]
//!   rows (one row group: a smaller table has a single zone map, nothing to skip). DuckDB's
//!   indexes (ART) serve point lookups, and its zone maps (per-row-group min/max) skip row groups
//!   only when the table is ordered by the filter column, so the finding suggests
//!   `CREATE INDEX` on the equality columns and says which columns to sort the table by;
//! - `hash_join_build_side`: a hash join whose build side (its right child, the one DuckDB loads
//!   into the hash table) has more rows than its probe side, at least twice as many and at
//!   least [`DUCKDB_BIG_TABLE_ROWS`] (actual rows under `analyze`, else the estimates);
//! - `spill`: the query went out of core (`system_peak_temp_dir_size` above zero, `analyze` only),
//!   naming the operators that can spill (hash joins and aggregates, sorts, windows).

use crate::query::plan::{
    finding, push_col, tree_indents, Finding, FindingKind, Plan, PlanSource, Statement, TableInfos,
};
use crate::query::sql::{self, ColumnRole};
use serde_json::Value;
use std::fmt::Write as _;

/// A table with at least this many rows (one DuckDB row group, 122,880 rows) makes a filtered
/// sequential scan worth flagging; a hash join's build side too.
pub const DUCKDB_BIG_TABLE_ROWS: f64 = 122_880.0;

/// Keys of `extra_info` (and the profile) whose values are names, kinds or figures, never
/// expressions that could hold a value.
const STRUCTURAL_KEYS: &[&str] = &[
    "name",
    "operator_name",
    "operator_type",
    "Table",
    "Type",
    "Function",
    "Join Type",
    "Estimated Cardinality",
    "Projections",
    "query_name",
];

/// Operators that may go out of core (spill to the temporary directory).
const SPILLING: &[&str] = &[
    "HASH_JOIN",
    "HASH_GROUP_BY",
    "PERFECT_HASH_GROUP_BY",
    "ORDER_BY",
    "TOP_N",
    "WINDOW",
    "UNGROUPED_AGGREGATE",
];

/// DuckDB's index columns per table (from `duckdb_indexes()`), lowercased.
pub type DuckdbIndexes = std::collections::BTreeMap<String, Vec<String>>;

impl Plan {
    /// Builds a plan from DuckDB's `EXPLAIN (FORMAT JSON)` output, or the JSON profile of
    /// `EXPLAIN (ANALYZE, FORMAT JSON)`, for `raw_sql`. `indexes` names the columns that already
    /// lead an index, so no finding suggests one twice. Literals in filters and conditions are
    /// replaced by `?` before anything is kept.
    #[must_use]
    pub fn from_duckdb_json(
        raw_sql: &str,
        json: &Value,
        infos: &TableInfos,
        indexes: &DuckdbIndexes,
    ) -> Plan {
        let mut json = json.clone();
        redact(&mut json, None);
        let stmt = Statement::parse(raw_sql);
        // EXPLAIN: `[ {root} ]`; the profile: `{ "children": [ {root} ], latency, .. }`.
        let (profile, roots): (Option<&Value>, Vec<&Value>) = match &json {
            Value::Array(a) => (None, a.iter().collect()),
            Value::Object(o) if o.contains_key("latency") || o.contains_key("query_name") => {
                // `EXPLAIN ANALYZE`'s own operator wraps the query's.
                let roots = children(&json)
                    .flat_map(|c| {
                        if op_name(c) == "EXPLAIN_ANALYZE" {
                            children(c).collect::<Vec<_>>()
                        } else {
                            vec![c]
                        }
                    })
                    .collect();
                (Some(&json), roots)
            }
            Value::Object(_) => (None, vec![&json]),
            _ => (None, Vec::new()),
        };
        let analyzed = profile.is_some();
        let mut findings = Vec::new();
        let mut text = String::new();
        for root in &roots {
            walk(root, &stmt, infos, indexes, &mut findings, 0);
            render(root, 0, &mut text);
        }
        if let Some(p) = profile {
            spill_finding(p, &roots, &mut findings);
            if let Some(latency) = p
                .get("latency")
                .and_then(Value::as_f64)
                .filter(|l| *l > 0.0)
            {
                let _ = write!(text, "\nlatency {:.3} ms", latency * 1e3);
            }
        }
        if roots.is_empty() {
            text.push_str("(no plan in EXPLAIN output)");
        }
        Plan {
            source: PlanSource::Duckdb,
            sql: sql::normalize(raw_sql),
            text: text.trim_end().to_owned(),
            json: Some(json),
            analyzed,
            findings,
        }
    }
}

fn redact(v: &mut Value, key: Option<&str>) {
    match v {
        Value::String(s) if !key.is_some_and(|k| STRUCTURAL_KEYS.contains(&k)) => {
            *s = sql::truncate(&sql::redact_literals(s), sql::MAX_SQL_CHARS);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, key)),
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                redact(x, Some(k));
            }
        }
        _ => {}
    }
}

fn children(n: &Value) -> impl Iterator<Item = &Value> {
    n.get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The operator's name: `TABLE_SCAN`, `HASH_JOIN`, ...
fn op_name(n: &Value) -> String {
    n.get("name")
        .or_else(|| n.get("operator_name"))
        .or_else(|| n.get("operator_type"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .trim()
        .to_owned()
}

fn extra<'a>(n: &'a Value, key: &str) -> Option<&'a Value> {
    n.get("extra_info").and_then(|e| e.get(key))
}

fn extra_str<'a>(n: &'a Value, key: &str) -> Option<&'a str> {
    extra(n, key).and_then(Value::as_str)
}

/// A value that is one string or a list of lines (multi-line values become lists).
fn extra_lines(n: &Value, key: &str) -> Vec<String> {
    match extra(n, key) {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            s.lines().map(|l| l.trim().to_owned()).collect()
        }
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_start_matches('~').parse().ok(),
        _ => None,
    }
}

fn estimated(n: &Value) -> Option<f64> {
    number(extra(n, "Estimated Cardinality"))
}

/// Actual rows (profile), else the estimate.
fn rows_of(n: &Value) -> Option<f64> {
    number(n.get("operator_cardinality")).or_else(|| estimated(n))
}

fn is_scan(n: &Value) -> bool {
    let name = op_name(n);
    name == "TABLE_SCAN" || name == "SEQ_SCAN"
}

/// The table a subtree reads first (for naming a join's sides).
fn first_table(n: &Value, depth: usize) -> Option<String> {
    if depth > 64 {
        return None;
    }
    if is_scan(n) {
        if let Some(t) = extra_str(n, "Table") {
            return Some(t.to_owned());
        }
    }
    children(n).find_map(|c| first_table(c, depth + 1))
}

/// A filter line's column and whether it is an equality: `customer_id=?`, `amount>=?`,
/// `status IN (..)`, `optional: Dynamic Filter (x)` (not the user's: skipped).
fn filter_column(line: &str) -> Option<(String, ColumnRole)> {
    let line = line.trim();
    if line.starts_with("optional:") || line.contains("Dynamic Filter") {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"'))
        .unwrap_or(line.len());
    let column = line[..end].trim_matches('"');
    if column.is_empty() {
        return None;
    }
    let rest = line[end..].trim_start();
    let role = if rest.starts_with("=") || rest.starts_with("IN ") || rest.starts_with("IS NULL") {
        ColumnRole::Equality
    } else {
        ColumnRole::Range
    };
    Some((column.to_owned(), role))
}

fn walk(
    n: &Value,
    stmt: &Statement,
    infos: &TableInfos,
    indexes: &DuckdbIndexes,
    out: &mut Vec<Finding>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    if is_scan(n) && extra_str(n, "Type") != Some("Index Scan") {
        scan_finding(n, stmt, infos, indexes, out);
    } else if op_name(n) == "HASH_JOIN" {
        let kids: Vec<&Value> = children(n).collect();
        if let [probe, build] = kids.as_slice() {
            if let (Some(p), Some(b)) = (rows_of(probe), rows_of(build)) {
                if b >= DUCKDB_BIG_TABLE_ROWS && b > 2.0 * p {
                    let build_table = first_table(build, 0);
                    let probe_table =
                        first_table(probe, 0).unwrap_or_else(|| "the probe side".into());
                    let which = if n.get("operator_cardinality").is_some() {
                        "rows"
                    } else {
                        "estimated rows"
                    };
                    out.push(finding(
                        FindingKind::HashJoinBuildSide,
                        build_table.clone(),
                        format!(
                            "hash join builds its hash table on the larger side: {b:.0} {which} of `{}` against {p:.0} probing rows of `{probe_table}`; DuckDB picks the build side from its cardinality estimates, so check them (a filter it cannot estimate, a table never analysed) or join the smaller input on the right",
                            build_table.as_deref().unwrap_or("the build side")
                        ),
                        Vec::new(),
                    ));
                }
            }
        }
    }
    for c in children(n) {
        walk(c, stmt, infos, indexes, out, depth + 1);
    }
}

fn scan_finding(
    n: &Value,
    stmt: &Statement,
    infos: &TableInfos,
    indexes: &DuckdbIndexes,
    out: &mut Vec<Finding>,
) {
    let filters = extra_lines(n, "Filters");
    let Some(table) = extra_str(n, "Table").map(str::to_owned) else {
        return;
    };
    let mut eq = Vec::new();
    let mut range = Vec::new();
    for f in &filters {
        if let Some((col, role)) = filter_column(f) {
            let cols = if role == ColumnRole::Equality {
                &mut eq
            } else {
                &mut range
            };
            push_col(cols, &col, infos.get(&table));
        }
    }
    if eq.is_empty() && range.is_empty() {
        // A scan without a pushed-down filter reads everything because the query wants
        // everything (or filters above the scan, on expressions no index serves).
        return;
    }
    let table_rows = infos
        .get(&table)
        .and_then(|i| i.estimated_rows)
        .or_else(|| number(n.get("operator_rows_scanned")))
        .unwrap_or(0.0);
    if table_rows < DUCKDB_BIG_TABLE_ROWS {
        return;
    }
    let indexed = indexes.get(&table.to_lowercase());
    let has_index =
        |c: &String| indexed.is_some_and(|cols| cols.iter().any(|i| i.eq_ignore_ascii_case(c)));
    let index_cols: Vec<String> = eq.iter().filter(|c| !has_index(c)).cloned().collect();
    if index_cols.is_empty() && range.iter().all(has_index) {
        return;
    }
    let mut sort_cols = eq.clone();
    sort_cols.extend(range.iter().cloned());
    let _ = stmt; // the plan's own filters name the columns; the statement is not needed here
    let shown = filters.join(" AND ");
    let mut message = format!(
        "sequential scan of table `{table}` (~{table_rows:.0} rows) with filter {shown}: no index serves it"
    );
    let _ = write!(
        message,
        "; DuckDB's zone maps skip row groups only if the table is ordered by the filter: sort it by {} (CREATE TABLE .. AS SELECT * FROM {table} ORDER BY {}), or index the equality columns for point lookups",
        sort_cols.join(", "),
        sort_cols.join(", ")
    );
    out.push(finding(
        FindingKind::FullScan,
        Some(table),
        message,
        index_cols,
    ));
}

fn spill_finding(profile: &Value, roots: &[&Value], out: &mut Vec<Finding>) {
    let Some(bytes) = number(profile.get("system_peak_temp_dir_size")).filter(|b| *b > 0.0) else {
        return;
    };
    let mut ops = Vec::new();
    fn collect(n: &Value, ops: &mut Vec<String>, depth: usize) {
        if depth > 64 {
            return;
        }
        let name = op_name(n);
        if SPILLING.contains(&name.as_str()) && !ops.contains(&name) {
            ops.push(name);
        }
        for c in children(n) {
            collect(c, ops, depth + 1);
        }
    }
    for r in roots {
        collect(r, &mut ops, 0);
    }
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes / (1024.0 * 1024.0);
    out.push(finding(
        FindingKind::Spill,
        None,
        format!(
            "the query went out of core: {mib:.1} MiB written to DuckDB's temporary directory (operators that spill: {}); raise `memory_limit` or shrink what {} holds",
            if ops.is_empty() { "none named".to_owned() } else { ops.join(", ") },
            if ops.len() == 1 { "it" } else { "they" }
        ),
        Vec::new(),
    ));
}

fn render(n: &Value, depth: usize, out: &mut String) {
    if depth > 64 {
        return;
    }
    let (indent, detail) = tree_indents(depth);
    let mut head = op_name(n);
    if let Some(t) = extra_str(n, "Table") {
        let _ = write!(head, " {t}");
    }
    if let Some(t) = extra_str(n, "Type") {
        let _ = write!(head, " ({t})");
    }
    if let Some(j) = extra_str(n, "Join Type") {
        let _ = write!(head, " {j}");
    }
    let _ = write!(out, "{indent}{head}");
    if let Some(e) = estimated(n) {
        let _ = write!(out, "  (~{e:.0} rows)");
    }
    if let Some(rows) = number(n.get("operator_cardinality")) {
        let _ = write!(out, " (actual rows={rows:.0}");
        if let Some(t) = number(n.get("operator_timing")) {
            let _ = write!(out, " time={:.3} ms", t * 1e3);
        }
        out.push(')');
    }
    out.push('\n');
    for key in ["Conditions", "Filters", "File Filters"] {
        let lines = extra_lines(n, key);
        if !lines.is_empty() {
            let _ = writeln!(out, "{detail}{key}: {}", lines.join(" AND "));
        }
    }
    for c in children(n) {
        render(c, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::plan::TableInfo;

    fn infos(t: &str, rows: f64, cols: &[&str]) -> TableInfos {
        let mut m = TableInfos::new();
        m.insert(
            t.to_owned(),
            TableInfo {
                columns: cols.iter().map(|c| (*c).to_owned()).collect(),
                estimated_rows: Some(rows),
            },
        );
        m
    }

    #[test]
    fn a_filtered_sequential_scan_of_a_big_table_is_flagged_with_index_and_sort() {
        let json = serde_json::json!([{"name": "PROJECTION", "children": [{
            "name": "TABLE_SCAN", "children": [],
            "extra_info": {"Table": "orders", "Type": "Sequential Scan",
                "Projections": ["id", "amount"],
                "Filters": ["customer_id=4242", "amount>=100.5"],
                "Estimated Cardinality": "2000"}}],
            "extra_info": {"Projections": ["id"], "Estimated Cardinality": "2000"}}]);
        let p = Plan::from_duckdb_json(
            "SELECT id FROM orders WHERE customer_id = 4242 AND amount >= 100.5",
            &json,
            &infos("orders", 1_000_000.0, &["id", "customer_id", "amount"]),
            &DuckdbIndexes::new(),
        );
        assert_eq!(p.source, PlanSource::Duckdb);
        assert_eq!(p.findings.len(), 1, "{:?}", p.findings);
        let f = &p.findings[0];
        assert_eq!(f.kind, FindingKind::FullScan);
        assert_eq!(
            f.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_customer_id ON orders (customer_id);")
        );
        assert!(
            f.message.contains("sort it by customer_id, amount"),
            "{}",
            f.message
        );
        let all = serde_json::to_string(&p).unwrap();
        assert!(!all.contains("4242") && !all.contains("100.5"), "{all}");
        assert!(
            p.text
                .contains("->  TABLE_SCAN orders (Sequential Scan)  (~2000 rows)"),
            "{}",
            p.text
        );
        assert!(
            p.text.contains("Filters: customer_id=? AND amount>=?"),
            "{}",
            p.text
        );

        // The same column indexed, or a small table: nothing.
        let mut idx = DuckdbIndexes::new();
        idx.insert("orders".into(), vec!["customer_id".into(), "amount".into()]);
        let p = Plan::from_duckdb_json("x", &json, &infos("orders", 1e6, &[]), &idx);
        assert!(p.findings.is_empty(), "{:?}", p.findings);
        let p = Plan::from_duckdb_json(
            "x",
            &json,
            &infos("orders", 5e4, &[]),
            &DuckdbIndexes::new(),
        );
        assert!(p.findings.is_empty(), "{:?}", p.findings);
    }

    #[test]
    fn a_profile_shows_actual_rows_a_big_build_side_and_a_spill() {
        let json = serde_json::json!({
            "query_name": "SELECT ..", "latency": 0.25, "system_peak_temp_dir_size": 52428800,
            "children": [{"operator_name": "HASH_JOIN", "operator_type": "HASH_JOIN",
                "operator_cardinality": 10, "operator_timing": 0.1,
                "extra_info": {"Join Type": "INNER", "Conditions": "a = b"},
                "children": [
                    {"operator_name": "TABLE_SCAN", "operator_cardinality": 10, "operator_rows_scanned": 10,
                     "extra_info": {"Table": "small", "Type": "Sequential Scan"}, "children": []},
                    {"operator_name": "TABLE_SCAN", "operator_cardinality": 500000, "operator_rows_scanned": 500000,
                     "extra_info": {"Table": "big", "Type": "Sequential Scan"}, "children": []}]}]});
        let p = Plan::from_duckdb_json(
            "select ..",
            &json,
            &TableInfos::new(),
            &DuckdbIndexes::new(),
        );
        assert!(p.analyzed);
        let kinds: Vec<FindingKind> = p.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingKind::HashJoinBuildSide, FindingKind::Spill],
            "{:?}",
            p.findings
        );
        assert_eq!(p.findings[0].table.as_deref(), Some("big"));
        assert!(
            p.findings[1].message.contains("50.0 MiB")
                && p.findings[1].message.contains("HASH_JOIN")
        );
        assert!(
            p.text
                .contains("HASH_JOIN INNER (actual rows=10 time=100.000 ms)"),
            "{}",
            p.text
        );
    }

    #[test]
    fn garbage_is_safe() {
        for v in [
            serde_json::json!(null),
            serde_json::json!([1, "x"]),
            serde_json::json!({"children": 3}),
            serde_json::json!([{"name": "HASH_JOIN", "children": [{}, {}]}]),
        ] {
            let _ = Plan::from_duckdb_json("x", &v, &TableInfos::new(), &DuckdbIndexes::new());
        }
    }
}
