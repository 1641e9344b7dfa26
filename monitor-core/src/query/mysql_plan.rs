//! MySQL and MariaDB plans: `EXPLAIN FORMAT=JSON` (and MariaDB's `ANALYZE FORMAT=JSON`) read
//! into a [`Plan`]: redacted, rendered as an indented tree like the other databases' plans, and
//! analysed for the same findings.
//!
//! The two servers describe the same plan in different JSON, and both are read here:
//!
//! | | MySQL 8 | MariaDB 10.x, 11.x |
//! |---|---|---|
//! | rows read per scan | `rows_examined_per_scan` | `rows` (`r_rows` under `ANALYZE`) |
//! | a join without an index | `using_join_buffer` (`"hash join"`, `"Block Nested Loop"`) on the table | a `block-nl-join` node around the table |
//! | a sort | `using_filesort` on `ordering_operation`/`grouping_operation`/`duplicates_removal` | a `filesort` node (`sort_key`) |
//! | a temporary table | `using_temporary_table` on the same operations | a `temporary_table` node |
//! | costs | `cost_info` (numbers as strings) | `cost` (11.x) |
//!
//! Findings ([`FindingKind`]), each with a `CREATE INDEX` suggestion from the statement's columns
//! checked against the table's real columns where they are knowable:
//! - `full_scan`: `access_type` `ALL` on a table of at least [`BIG_TABLE_ROWS`] rows (the larger
//!   of the plan's estimate and `information_schema.TABLES.TABLE_ROWS`);
//! - `temp_sort`: a filesort or a temporary table over at least [`BIG_TABLE_ROWS`] rows;
//! - `nested_loop_scan`: a join whose table is read in full through a join buffer (no index for
//!   the join), whatever its size.
//!
//! Every string of the JSON that could hold a value (conditions, sort keys) has its literals
//! replaced by `?` before anything is kept, as for PostgreSQL.

use crate::query::plan::{
    condition_columns, finding, redact_json, single_table_sort, Finding, FindingKind, Plan,
    PlanSource, Statement, TableInfos, BIG_TABLE_ROWS, FILTER_ROLES, JOIN_ROLES, WHERE_ROLES,
};
use crate::query::sql;
use serde_json::Value;
use std::fmt::Write as _;

/// Keys whose string values are names, kinds or figures, never expressions holding values.
const STRUCTURAL_KEYS: &[&str] = &[
    "table_name",
    "access_type",
    "possible_keys",
    "key",
    "key_length",
    "used_key_parts",
    "ref",
    "used_columns",
    "select_type",
    "join_type",
    "buffer_type",
    "buffer_size",
    "using_join_buffer",
    "message",
    "filtered",
    "query_cost",
    "read_cost",
    "eval_cost",
    "prefix_cost",
    "sort_cost",
    "data_read_per_join",
    "rows_examined_per_scan",
    "rows_produced_per_join",
    "index_condition_pushdown",
    "r_icp_filtered",
];

/// Keys of objects or arrays that hold figures or names only, not plan nodes.
const NOT_NODES: &[&str] = &[
    "cost_info",
    "used_columns",
    "possible_keys",
    "used_key_parts",
    "ref",
    "r_engine_stats",
    "query_optimization",
    "r_sort_mode",
    "r_used_priority_queue",
];

impl Plan {
    /// Builds a plan from MySQL's or MariaDB's `EXPLAIN FORMAT=JSON` (or MariaDB's
    /// `ANALYZE FORMAT=JSON`) document for `raw_sql`. `source` is [`PlanSource::Mariadb`] for
    /// MariaDB; anything else is labelled MySQL (both JSON dialects are read either way). Literals
    /// in the plan's expressions are replaced by `?` before anything is kept.
    #[must_use]
    pub fn from_mysql_json(
        source: PlanSource,
        raw_sql: &str,
        json: &Value,
        infos: &TableInfos,
    ) -> Plan {
        let source = if source == PlanSource::Mariadb {
            PlanSource::Mariadb
        } else {
            PlanSource::Mysql
        };
        let mut json = json.clone();
        redact_json(&mut json, None, STRUCTURAL_KEYS);
        let stmt = Statement::parse(raw_sql);
        let mut walk = Walk {
            stmt: &stmt,
            infos,
            text: String::new(),
            findings: Vec::new(),
            analyzed: false,
        };
        if json.get("query_block").is_some() {
            walk.node(None, &json, 0, false, 0);
        } else {
            walk.text.push_str("(no query_block in EXPLAIN output)");
        }
        let Walk {
            mut text,
            findings,
            analyzed,
            ..
        } = walk;
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        Plan {
            source,
            sql: sql::normalize(raw_sql),
            text,
            json: Some(json),
            analyzed,
            findings: dedupe(findings),
        }
    }
}

/// A figure that MySQL writes as a string (`"filtered": "10.00"`) and MariaDB as a number.
fn figure(n: &Value, k: &str) -> Option<f64> {
    match n.get(k)? {
        Value::Number(x) => x.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'a>(n: &'a Value, k: &str) -> Option<&'a str> {
    n.get(k).and_then(Value::as_str)
}

fn flag(n: &Value, k: &str) -> bool {
    n.get(k).and_then(Value::as_bool) == Some(true)
}

fn strings(n: &Value, k: &str) -> Vec<String> {
    n.get(k)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Rows a table node reads per scan: actual (`r_rows`) when analysed, else the estimate.
fn plan_rows(t: &Value) -> Option<f64> {
    figure(t, "r_rows")
        .or_else(|| figure(t, "rows"))
        .or_else(|| figure(t, "rows_examined_per_scan"))
}

/// The most rows any table below `n` reads per scan.
fn rows_below(n: &Value, depth: usize) -> f64 {
    if depth > 64 {
        return 0.0;
    }
    let mut most: f64 = 0.0;
    match n {
        Value::Object(o) => {
            if let Some(t) = o.get("table") {
                most = most.max(plan_rows(t).unwrap_or(0.0));
            }
            for (k, v) in o {
                if !NOT_NODES.contains(&k.as_str()) {
                    most = most.max(rows_below(v, depth + 1));
                }
            }
        }
        Value::Array(a) => {
            for v in a {
                most = most.max(rows_below(v, depth + 1));
            }
        }
        _ => {}
    }
    most
}

fn fmt_rows(r: f64) -> String {
    if r.fract() == 0.0 || r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}

struct Walk<'a> {
    stmt: &'a Statement,
    infos: &'a TableInfos,
    text: String,
    findings: Vec<Finding>,
    analyzed: bool,
}

impl Walk<'_> {
    fn line(&mut self, depth: usize, s: &str) {
        let indent = if depth == 0 {
            String::new()
        } else {
            format!("{}->  ", "    ".repeat(depth - 1))
        };
        let _ = writeln!(self.text, "{indent}{s}");
    }

    fn detail(&mut self, depth: usize, s: &str) {
        let _ = writeln!(self.text, "{}{s}", "    ".repeat(depth + 1));
    }

    /// One JSON value found under `key`. `in_join_buffer`: inside a MariaDB `block-nl-join`.
    fn node(
        &mut self,
        key: Option<&str>,
        v: &Value,
        depth: usize,
        in_join_buffer: bool,
        guard: usize,
    ) {
        if guard > 64 {
            return;
        }
        match v {
            Value::Array(items) => {
                let label = match key {
                    Some("nested_loop") if items.len() > 1 => Some("Nested loop".to_owned()),
                    Some("subqueries" | "attached_subqueries" | "optimized_away_subqueries") => {
                        Some("Subqueries".to_owned())
                    }
                    Some("query_specifications") | Some("nested_loop") | None => None,
                    Some(other) => Some(humanize(other)),
                };
                let d = match label {
                    Some(l) => {
                        self.line(depth, &l);
                        depth + 1
                    }
                    None => depth,
                };
                for item in items {
                    self.node(None, item, d, in_join_buffer, guard + 1);
                }
            }
            Value::Object(o) => {
                if key == Some("table") {
                    self.table(v, depth, in_join_buffer, guard);
                    return;
                }
                let mut d = depth;
                let mut in_join_buffer = in_join_buffer;
                match key {
                    None => {}
                    Some("query_block") => {
                        let mut head = format!(
                            "Query block #{}",
                            figure(v, "select_id").map_or_else(|| "?".to_owned(), fmt_rows)
                        );
                        if let Some(c) = v
                            .get("cost_info")
                            .and_then(|c| figure(c, "query_cost"))
                            .or_else(|| figure(v, "cost"))
                        {
                            let _ = write!(head, "  (cost={c:.2})");
                        }
                        if let Some(t) = figure(v, "r_total_time_ms") {
                            self.analyzed = true;
                            let _ = write!(head, " (actual time={t:.3} ms)");
                        }
                        self.line(depth, &head);
                        if let Some(m) = text(v, "message") {
                            self.detail(depth, m);
                        }
                        for k in ["having_condition", "attached_condition"] {
                            if let Some(c) = text(v, k) {
                                self.detail(depth, &format!("Condition: {c}"));
                            }
                        }
                        d = depth + 1;
                    }
                    Some("block-nl-join") => {
                        let mut head = format!(
                            "Join buffer ({}",
                            text(v, "join_type").unwrap_or("block nested loop")
                        );
                        if let Some(b) = text(v, "buffer_size") {
                            let _ = write!(head, ", {b}");
                        }
                        head.push(')');
                        self.line(depth, &head);
                        if let Some(c) = text(v, "attached_condition") {
                            self.detail(depth, &format!("Condition: {c}"));
                        }
                        d = depth + 1;
                        in_join_buffer = true;
                    }
                    Some("filesort") => {
                        let mut head = "Filesort".to_owned();
                        if let Some(k) = text(v, "sort_key") {
                            let _ = write!(head, " (sort key: {k})");
                        }
                        self.line(depth, &head);
                        self.sort_finding(v, true, flag_temp_child(v), guard);
                        d = depth + 1;
                    }
                    Some("temporary_table") => {
                        self.line(depth, "Temporary table");
                        d = depth + 1;
                    }
                    Some(
                        k @ ("ordering_operation" | "grouping_operation" | "duplicates_removal"
                        | "windowing"),
                    ) => {
                        let what = match k {
                            "ordering_operation" => "ORDER BY",
                            "grouping_operation" => "GROUP BY",
                            "duplicates_removal" => "DISTINCT",
                            _ => "window",
                        };
                        let sort = flag(v, "using_filesort");
                        let temp = flag(v, "using_temporary_table");
                        let mut head = what.to_owned();
                        match (temp, sort) {
                            (true, true) => head.push_str(" (using temporary table, filesort)"),
                            (true, false) => head.push_str(" (using temporary table)"),
                            (false, true) => head.push_str(" (using filesort)"),
                            (false, false) => {}
                        }
                        self.line(depth, &head);
                        if sort || temp {
                            self.sort_finding(v, sort, temp, guard);
                        }
                        d = depth + 1;
                    }
                    Some("read_sorted_file") => {}
                    Some(other) if NOT_NODES.contains(&other) => return,
                    Some(other) => {
                        if !contains_node(v, 0) {
                            return;
                        }
                        self.line(depth, &humanize(other));
                        d = depth + 1;
                    }
                }
                // A MariaDB temporary table directly under a filesort is that sort's own.
                let temp_is_sorts = key == Some("filesort");
                for (k, child) in o {
                    if !(child.is_object() || child.is_array()) || NOT_NODES.contains(&k.as_str()) {
                        continue;
                    }
                    if k == "temporary_table" && !temp_is_sorts {
                        self.sort_finding(child, false, true, guard);
                    }
                    self.node(Some(k), child, d, in_join_buffer, guard + 1);
                }
            }
            _ => {}
        }
    }

    fn table(&mut self, t: &Value, depth: usize, in_join_buffer: bool, guard: usize) {
        if let (None, Some(m)) = (text(t, "table_name"), text(t, "message")) {
            // `Impossible WHERE noticed after reading const tables`, `No tables used`.
            self.line(depth, m);
            return;
        }
        let seen_as = text(t, "table_name").unwrap_or("?").to_owned();
        let access = text(t, "access_type").unwrap_or("");
        let key = text(t, "key");
        let mut head = match (access, key) {
            ("ALL" | "hash_ALL", _) => format!("Full scan of {seen_as} ({access})"),
            ("index", Some(k)) => format!("Full index scan of {seen_as} using {k} (index)"),
            ("range" | "hash_range", Some(k)) => format!("Range of {seen_as} using {k} ({access})"),
            (_, Some(k)) => {
                let parts = strings(t, "used_key_parts");
                let refs = strings(t, "ref");
                let mut s = format!("Lookup on {seen_as} using {k} ({access}");
                if parts.len() == refs.len() && !parts.is_empty() {
                    let pairs: Vec<String> = parts
                        .iter()
                        .zip(&refs)
                        .map(|(p, r)| format!("{p} = {r}"))
                        .collect();
                    let _ = write!(s, ": {}", pairs.join(", "));
                } else if !parts.is_empty() {
                    let _ = write!(s, ": {}", parts.join(", "));
                }
                s.push(')');
                s
            }
            ("", None) => format!("Table {seen_as}"),
            (a, None) => format!("{seen_as} ({a})"),
        };
        let mut figures = Vec::new();
        if let Some(r) = figure(t, "rows").or_else(|| figure(t, "rows_examined_per_scan")) {
            figures.push(format!("rows={}", fmt_rows(r)));
        }
        if let Some(f) = figure(t, "filtered") {
            figures.push(format!("filtered={f:.0}%"));
        }
        if let Some(c) = t
            .get("cost_info")
            .and_then(|c| figure(c, "prefix_cost"))
            .or_else(|| figure(t, "cost"))
        {
            figures.push(format!("cost={c:.2}"));
        }
        if !figures.is_empty() {
            let _ = write!(head, "  ({})", figures.join(" "));
        }
        if let Some(r) = figure(t, "r_rows") {
            self.analyzed = true;
            let _ = write!(
                head,
                " (actual rows={} loops={}",
                fmt_rows(r),
                figure(t, "r_loops").map_or_else(|| "1".to_owned(), fmt_rows)
            );
            if let Some(ms) = figure(t, "r_table_time_ms").or_else(|| figure(t, "r_total_time_ms"))
            {
                let _ = write!(head, " time={ms:.3} ms");
            }
            head.push(')');
        }
        self.line(depth, &head);
        if let Some(m) = text(t, "message") {
            self.detail(depth, m);
        }
        if let Some(j) = text(t, "using_join_buffer") {
            self.detail(depth, &format!("Join buffer: {j}"));
        }
        if let Some(c) = text(t, "index_condition") {
            self.detail(depth, &format!("Index condition: {c}"));
        }
        if let Some(c) = text(t, "attached_condition") {
            self.detail(depth, &format!("Condition: {c}"));
        }
        if flag(t, "using_index") {
            self.detail(depth, "Using index (covering)");
        }
        self.table_finding(t, &seen_as, in_join_buffer);
        // Derived tables and subqueries hang below a table.
        if let Value::Object(o) = t {
            for (k, child) in o {
                if (child.is_object() || child.is_array()) && !NOT_NODES.contains(&k.as_str()) {
                    self.node(Some(k), child, depth + 1, false, guard + 1);
                }
            }
        }
    }

    fn table_finding(&mut self, t: &Value, seen_as: &str, in_join_buffer: bool) {
        let access = text(t, "access_type").unwrap_or("");
        if !matches!(access, "ALL" | "hash_ALL") {
            return;
        }
        let Some(table) = self.stmt.resolve(seen_as, self.infos) else {
            return;
        };
        let joined = in_join_buffer || t.get("using_join_buffer").is_some();
        if joined {
            let mut cols = self
                .stmt
                .index_columns(&table, seen_as, self.infos, JOIN_ROLES);
            if cols.is_empty() {
                cols = attached_condition_columns(t, &table, seen_as, self.infos);
            }
            let how = text(t, "using_join_buffer").unwrap_or("block nested loop");
            self.findings.push(finding(
                FindingKind::NestedLoopScan,
                Some(table.clone()),
                format!(
                    "join without an index: table `{table}` is read in full through a join buffer ({how})"
                ),
                cols,
            ));
            return;
        }
        let estimate = self
            .infos
            .get(&table)
            .and_then(|i| i.estimated_rows)
            .unwrap_or(0.0);
        let rows = plan_rows(t).unwrap_or(0.0).max(estimate);
        if rows < BIG_TABLE_ROWS {
            return;
        }
        // A scanned table is the outer loop: an index on its own filters lets it be searched.
        let mut cols = self
            .stmt
            .index_columns(&table, seen_as, self.infos, FILTER_ROLES);
        if cols.is_empty() {
            cols = attached_condition_columns(t, &table, seen_as, self.infos);
        }
        if cols.is_empty() {
            cols = self
                .stmt
                .index_columns(&table, seen_as, self.infos, WHERE_ROLES);
        }
        let condition = text(t, "attached_condition")
            .map(|c| format!(", condition {c}"))
            .unwrap_or_default();
        self.findings.push(finding(
            FindingKind::FullScan,
            Some(table.clone()),
            format!(
                "full scan of table `{table}` (access_type ALL, ~{} rows{condition})",
                fmt_rows(rows)
            ),
            cols,
        ));
    }

    /// A filesort and/or temporary table over `n`'s rows.
    fn sort_finding(&mut self, n: &Value, sort: bool, temp: bool, guard: usize) {
        let rows = rows_below(n, guard);
        if rows < BIG_TABLE_ROWS {
            return;
        }
        let what = match (sort, temp) {
            (true, true) => "filesort over a temporary table",
            (true, false) => "filesort",
            _ => "temporary table",
        };
        let key = text(n, "sort_key")
            .map(|k| format!(" on {k}"))
            .unwrap_or_default();
        let (table, cols) = single_table_sort(self.stmt, self.infos);
        self.findings.push(finding(
            FindingKind::TempSort,
            table,
            format!("{what}{key}, ~{} rows", fmt_rows(rows)),
            cols,
        ));
    }
}

/// Whether a MariaDB `filesort` sorts its own temporary table.
fn flag_temp_child(v: &Value) -> bool {
    v.get("temporary_table").is_some()
}

/// Whether a subtree holds a table or a query block (worth a line of its own).
fn contains_node(v: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    match v {
        Value::Object(o) => o.iter().any(|(k, x)| {
            k == "table"
                || k == "query_block"
                || (!NOT_NODES.contains(&k.as_str()) && contains_node(x, depth + 1))
        }),
        Value::Array(a) => a.iter().any(|x| contains_node(x, depth + 1)),
        _ => false,
    }
}

fn humanize(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    let mut chars = s.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

/// Columns of `table` in the table's attached condition (MySQL qualifies them with the schema:
/// `` `db`.`t`.`c` ``; only the last two parts are read).
fn attached_condition_columns(
    t: &Value,
    table: &str,
    seen_as: &str,
    infos: &TableInfos,
) -> Vec<String> {
    text(t, "attached_condition").map_or_else(Vec::new, |c| {
        condition_columns(&sql::expression_columns(c), table, seen_as, infos)
    })
}

/// One finding per kind, table and suggestion (a sort and its temporary table are one problem).
fn dedupe(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        if !out
            .iter()
            .any(|o| o.kind == f.kind && o.table == f.table && o.suggestion == f.suggestion)
        {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::plan::TableInfo;

    fn infos(v: &[(&str, &[&str], f64)]) -> TableInfos {
        v.iter()
            .map(|(t, cols, rows)| {
                (
                    (*t).to_owned(),
                    TableInfo {
                        columns: cols.iter().map(|c| (*c).to_owned()).collect(),
                        estimated_rows: Some(*rows),
                    },
                )
            })
            .collect()
    }

    fn orders() -> TableInfos {
        infos(&[(
            "orders",
            &["id", "customer_id", "status", "amount", "created"],
            5000.0,
        )])
    }

    // Captured from MariaDB 10.11 (Debian 12's `mariadb-server`).
    #[test]
    fn mariadb_full_scan_is_flagged_with_a_suggestion_and_redacted() {
        let json = serde_json::json!({"query_block": {"select_id": 1, "nested_loop": [{"table": {
            "table_name": "orders", "access_type": "ALL", "rows": 5000, "filtered": 100,
            "attached_condition": "orders.customer_id = 7 and orders.`status` = 'shipped'"}}]}});
        let p = Plan::from_mysql_json(
            PlanSource::Mariadb,
            "SELECT id, amount FROM orders WHERE customer_id = ? AND status = 'shipped'",
            &json,
            &orders(),
        );
        assert_eq!(p.source, PlanSource::Mariadb);
        assert_eq!(p.findings.len(), 1, "{:#?}", p.findings);
        let f = &p.findings[0];
        assert_eq!(f.kind, FindingKind::FullScan);
        assert_eq!(
            f.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_customer_id_status ON orders (customer_id, status);")
        );
        assert_eq!(
            p.text,
            "Query block #1\n->  Full scan of orders (ALL)  (rows=5000 filtered=100%)\n        Condition: orders.customer_id = ? and orders.`status` = ?"
        );
        let all = serde_json::to_string(&p).unwrap();
        assert!(!all.contains("shipped") && !all.contains("= 7"), "{all}");
    }

    #[test]
    fn an_index_lookup_is_not_flagged() {
        let json = serde_json::json!({"query_block": {"select_id": 1, "nested_loop": [{"table": {
            "table_name": "orders", "access_type": "ref", "possible_keys": ["ic"], "key": "ic",
            "key_length": "5", "used_key_parts": ["customer_id"], "ref": ["const"], "rows": 10,
            "filtered": 100}}]}});
        let p = Plan::from_mysql_json(
            PlanSource::Mariadb,
            "SELECT id FROM orders WHERE customer_id = ?",
            &json,
            &orders(),
        );
        assert!(p.findings.is_empty(), "{:#?}", p.findings);
        assert!(
            p.text
                .contains("Lookup on orders using ic (ref: customer_id = const)  (rows=10"),
            "{}",
            p.text
        );
    }

    #[test]
    fn mariadb_join_buffer_sort_and_temporary_table() {
        let json = serde_json::json!({"query_block": {"select_id": 1, "filesort": {
        "sort_key": "sum(o.amount)", "temporary_table": {"nested_loop": [
            {"table": {"table_name": "c", "access_type": "ALL", "rows": 500, "filtered": 100}},
            {"block-nl-join": {"table": {"table_name": "o", "access_type": "ALL",
                "rows": 5000, "filtered": 100}, "buffer_type": "flat", "buffer_size": "93KiB",
                "join_type": "BNL", "attached_condition": "o.customer_id = c.id and o.amount > 5"}}
        ]}}}});
        let p = Plan::from_mysql_json(
            PlanSource::Mariadb,
            "SELECT c.name, sum(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id \
             WHERE o.amount > 5 GROUP BY c.name ORDER BY 2",
            &json,
            &infos(&[
                ("orders", &["id", "customer_id", "amount"], 5000.0),
                ("customers", &["id", "name"], 500.0),
            ]),
        );
        let kinds: Vec<FindingKind> = p.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingKind::TempSort, FindingKind::NestedLoopScan],
            "{:#?}",
            p.findings
        );
        assert!(p.findings[0]
            .message
            .starts_with("filesort over a temporary table on sum(o.amount)"));
        assert_eq!(
            p.findings[1].suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_customer_id ON orders (customer_id);")
        );
        assert!(
            p.text.contains("->  Join buffer (BNL, 93KiB)"),
            "{}",
            p.text
        );
        assert!(!p.text.contains("> 5"), "{}", p.text);
    }

    // MySQL 8's dialect: rows as `rows_examined_per_scan`, figures as strings, the schema in
    // conditions, a hash join through a join buffer, and a filesort flagged on the operation.
    #[test]
    fn mysql_dialect() {
        let json = serde_json::json!({"query_block": {"select_id": 1,
        "cost_info": {"query_cost": "1520.25"},
        "ordering_operation": {"using_temporary_table": true, "using_filesort": true,
            "cost_info": {"sort_cost": "5000.00"},
            "nested_loop": [
                {"table": {"table_name": "o", "access_type": "ALL",
                    "rows_examined_per_scan": 5000, "rows_produced_per_join": 500,
                    "filtered": "10.00",
                    "cost_info": {"read_cost": "450.00", "eval_cost": "50.00", "prefix_cost": "500.00"},
                    "used_columns": ["id", "customer_id", "amount"],
                    "attached_condition": "(`m`.`o`.`amount` > 42.5)"}},
                {"table": {"table_name": "c", "access_type": "ALL",
                    "rows_examined_per_scan": 500, "filtered": "10.00",
                    "using_join_buffer": "hash join",
                    "attached_condition": "(`m`.`c`.`id` = `m`.`o`.`customer_id`)"}}
            ]}}});
        let p = Plan::from_mysql_json(
            PlanSource::Mysql,
            "SELECT c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.amount > 42.5 ORDER BY o.amount",
            &json,
            &infos(&[
                ("orders", &["id", "customer_id", "amount"], 5000.0),
                ("customers", &["id", "name"], 500.0),
            ]),
        );
        assert_eq!(p.source, PlanSource::Mysql);
        let scan = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::FullScan)
            .expect("full scan of orders");
        assert_eq!(
            scan.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_amount ON orders (amount);")
        );
        let join = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::NestedLoopScan)
            .expect("join without an index");
        assert_eq!(join.table.as_deref(), Some("customers"));
        assert_eq!(
            join.suggestion.as_deref(),
            Some("CREATE INDEX idx_customers_id ON customers (id);")
        );
        let sort = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::TempSort)
            .expect("filesort");
        assert_eq!(sort.table.as_deref(), Some("orders"));
        assert!(
            p.text.starts_with(
                "Query block #1  (cost=1520.25)\n->  ORDER BY (using temporary table, filesort)"
            ),
            "{}",
            p.text
        );
        assert!(p.text.contains("Join buffer: hash join"), "{}", p.text);
        assert!(!serde_json::to_string(&p).unwrap().contains("42.5"));
    }

    #[test]
    fn mariadb_analyze_has_actual_figures_and_small_tables_are_quiet() {
        let json = serde_json::json!({"query_optimization": {"r_total_time_ms": 0.04},
            "query_block": {"select_id": 1, "r_loops": 1, "r_total_time_ms": 0.65,
            "nested_loop": [{"table": {"table_name": "t", "access_type": "ALL", "r_loops": 1,
                "rows": 50, "r_rows": 50, "r_table_time_ms": 0.4, "filtered": 100,
                "r_filtered": 2, "attached_condition": "t.a = 3"}}]}});
        let p = Plan::from_mysql_json(
            PlanSource::Mariadb,
            "SELECT count(*) FROM t WHERE a = 3",
            &json,
            &infos(&[("t", &["a"], 50.0)]),
        );
        assert!(p.analyzed);
        assert!(
            p.text.contains("actual rows=50 loops=1 time=0.400 ms"),
            "{}",
            p.text
        );
        assert!(p.findings.is_empty(), "{:#?}", p.findings);
    }

    #[test]
    fn messages_and_garbage_are_safe() {
        let json = serde_json::json!({"query_block": {"select_id": 1, "table": {
            "message": "Impossible WHERE noticed after reading const tables"}}});
        let p = Plan::from_mysql_json(
            PlanSource::Mariadb,
            "SELECT 1 FROM t WHERE id = ?",
            &json,
            &TableInfos::new(),
        );
        assert!(p.text.contains("Impossible WHERE"), "{}", p.text);
        assert!(p.findings.is_empty());
        for v in [
            serde_json::json!(null),
            serde_json::json!({"query_block": 3}),
            serde_json::json!({"query_block": {"nested_loop": [[{"table": []}]]}}),
        ] {
            let _ = Plan::from_mysql_json(PlanSource::Mysql, "x", &v, &TableInfos::new());
        }
    }
}
