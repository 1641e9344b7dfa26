//! Query plans: what `EXPLAIN` said, redacted, rendered, and read for the usual problems.
//!
//! A [`Plan`] is built from SQLite's `EXPLAIN QUERY PLAN` rows ([`Plan::from_sqlite`]),
//! PostgreSQL's `EXPLAIN (FORMAT JSON)` document ([`Plan::from_postgres_json`]) or MySQL's and
//! MariaDB's `EXPLAIN FORMAT=JSON` document ([`Plan::from_mysql_json`], in
//! `crate::query::mysql_plan`). The constructors are public so an
//! [`ExplainPlan`](crate::query::explain::ExplainPlan) implementation for another connection type reuses
//! the same analysis.
//!
//! The analysis flags ([`FindingKind`]):
//! - a full scan of a table: SQLite `SCAN t` without an index; PostgreSQL `Seq Scan` on a table of
//!   at least [`BIG_TABLE_ROWS`] estimated rows;
//! - a temporary B-tree (SQLite `USE TEMP B-TREE FOR ORDER BY/GROUP BY/DISTINCT`) or a PostgreSQL
//!   `Sort` of at least [`BIG_TABLE_ROWS`] rows;
//! - a nested loop over full scans (the inner table re-read for every outer row);
//! - an automatic index SQLite builds for one statement and throws away.
//!
//! Where the columns are knowable (from the statement's `WHERE`, `JOIN ... ON`, `ORDER BY` and
//! `GROUP BY`, or PostgreSQL's `Filter`, resolved through the table's real columns) a finding
//! carries a `CREATE INDEX` statement: equality columns first, then join columns, then one range
//! column, then the sort columns.
//!
//! Every text that could hold a value passes through [`crate::query::sql`]: the statement is normalized
//! and PostgreSQL's filter expressions have their literals replaced by `?`.

use crate::query::sql::{self, ColumnRole, ColumnUse, TableRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Tables with at least this many (estimated) rows make a full scan worth flagging.
pub const BIG_TABLE_ROWS: f64 = 1000.0;

/// Which database produced a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// SQLite `EXPLAIN QUERY PLAN`.
    Sqlite,
    /// PostgreSQL `EXPLAIN (FORMAT JSON)`.
    Postgres,
    /// MySQL `EXPLAIN FORMAT=JSON` (see `crate::query::mysql_plan`).
    Mysql,
    /// MariaDB `EXPLAIN FORMAT=JSON` or `ANALYZE FORMAT=JSON` (see `crate::query::mysql_plan`).
    Mariadb,
    /// DuckDB `EXPLAIN (FORMAT JSON)`, or its JSON profile under `analyze` (see
    /// `crate::query::duckdb_plan`).
    Duckdb,
    /// A DataFusion `DataFrame`'s logical and physical plans with the physical plan's metrics
    /// after execution (see `crate::query::datafusion`).
    Datafusion,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Every row of a table is read.
    FullScan,
    /// A temporary B-tree or a large sort for `ORDER BY`, `GROUP BY` or `DISTINCT`.
    TempSort,
    /// A nested loop whose inner side is a full scan.
    NestedLoopScan,
    /// SQLite builds an index for this one statement and discards it.
    AutomaticIndex,
    /// A hash join builds its hash table on the larger of its two sides (DuckDB).
    HashJoinBuildSide,
    /// An operator spilled to disk: ran out of core (DuckDB's temporary directory, DataFusion's
    /// spill files).
    Spill,
    /// A repartition (a shuffle between threads) of many rows (DataFusion).
    Repartition,
}

/// One problem found in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The table concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// A sentence for people.
    pub message: String,
    /// The columns an index should cover, in order, when knowable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub index_columns: Vec<String>,
    /// `CREATE INDEX ...` for those columns, when knowable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl std::fmt::Display for Finding {
    /// `message`, then ` -> CREATE INDEX ...` when there is a suggestion.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " -> {s}")?;
        }
        Ok(())
    }
}

/// A captured plan, redacted and analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Which database produced it.
    pub source: PlanSource,
    /// The statement, normalized (literals as `?`, cut when long).
    pub sql: String,
    /// The plan as an indented tree, as `sqlite3` or `psql` print it.
    pub text: String,
    /// PostgreSQL's JSON plan with literals in expressions replaced by `?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Whether the plan carries actual figures (`EXPLAIN ANALYZE`).
    pub analyzed: bool,
    /// Problems found, with index suggestions where knowable.
    pub findings: Vec<Finding>,
}

/// One row of SQLite's `EXPLAIN QUERY PLAN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlitePlanRow {
    /// Node id.
    pub id: i64,
    /// Parent node id (0 at the top).
    pub parent: i64,
    /// The text, e.g. `SCAN orders` or `SEARCH o USING INDEX i (customer_id=?)`.
    pub detail: String,
}

/// What is known about a table the plan reads: its columns (to resolve unqualified column names
/// and keep suggestions to real columns) and its estimated row count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableInfo {
    /// Column names, in table order.
    pub columns: Vec<String>,
    /// The planner's row estimate for the whole table, when the database keeps one.
    pub estimated_rows: Option<f64>,
}

/// Table name -> what is known about it.
pub type TableInfos = BTreeMap<String, TableInfo>;

/// The statement's tables and column uses, for resolving names in plan nodes.
pub(crate) struct Statement {
    tables: Vec<TableRef>,
    uses: Vec<ColumnUse>,
    ctes: Vec<String>,
}

impl Statement {
    pub(crate) fn parse(raw_sql: &str) -> Statement {
        Statement {
            tables: sql::tables(raw_sql),
            uses: sql::column_uses(raw_sql),
            ctes: cte_names(raw_sql),
        }
    }

    /// The table a plan node names (by alias or by name), or `None` for CTEs and subqueries.
    pub(crate) fn resolve(&self, name: &str, infos: &TableInfos) -> Option<String> {
        if name.starts_with('(') || self.ctes.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return None;
        }
        for t in &self.tables {
            if t.alias
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(name))
                || (t.alias.is_none() && t.name.eq_ignore_ascii_case(name))
            {
                return Some(t.name.clone());
            }
        }
        if let Some(k) = infos.keys().find(|k| k.eq_ignore_ascii_case(name)) {
            return Some(k.clone());
        }
        let plain = name.chars().all(|c| c.is_alphanumeric() || c == '_');
        plain.then(|| name.to_owned())
    }

    /// Whether a column use refers to `table` (seen in the plan as `seen_as`).
    fn belongs(&self, u: &ColumnUse, table: &str, seen_as: &str, infos: &TableInfos) -> bool {
        let has_column = |t: &str| {
            infos
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(t))
                .map(|(_, i)| i.columns.iter().any(|c| c.eq_ignore_ascii_case(&u.column)))
        };
        match &u.qualifier {
            Some(q) => {
                q.eq_ignore_ascii_case(seen_as)
                    || q.eq_ignore_ascii_case(table)
                    || self.tables.iter().any(|t| {
                        t.name.eq_ignore_ascii_case(table)
                            && t.alias
                                .as_deref()
                                .is_some_and(|a| a.eq_ignore_ascii_case(q))
                    })
            }
            None => match has_column(table) {
                // Known columns: the column must exist here and in no other table of the query.
                Some(true) => !self.tables.iter().any(|t| {
                    !t.name.eq_ignore_ascii_case(table) && has_column(&t.name) == Some(true)
                }),
                Some(false) => false,
                None => self.distinct_tables() == 1,
            },
        }
    }

    fn distinct_tables(&self) -> usize {
        let mut names: Vec<String> = self.tables.iter().map(|t| t.name.to_lowercase()).collect();
        names.sort();
        names.dedup();
        names.len()
    }

    /// Index columns for `table` from the statement, in the order an index wants them.
    pub(crate) fn index_columns(
        &self,
        table: &str,
        seen_as: &str,
        infos: &TableInfos,
        roles: &[ColumnRole],
    ) -> Vec<String> {
        let mut cols: Vec<String> = Vec::new();
        for role in roles {
            for u in self.uses.iter().filter(|u| u.role == *role) {
                if self.belongs(u, table, seen_as, infos) {
                    push_col(&mut cols, &u.column, infos.get(table));
                    if *role == ColumnRole::Range {
                        break;
                    }
                }
            }
        }
        cols
    }
}

pub(crate) fn push_col(cols: &mut Vec<String>, col: &str, info: Option<&TableInfo>) {
    if let Some(info) = info {
        if !info.columns.is_empty() && !info.columns.iter().any(|c| c.eq_ignore_ascii_case(col)) {
            return;
        }
    }
    if !cols.iter().any(|c| c.eq_ignore_ascii_case(col)) {
        cols.push(col.to_owned());
    }
}

fn cte_names(raw_sql: &str) -> Vec<String> {
    let toks = sql::tokenize(raw_sql);
    let mut out = Vec::new();
    for w in toks.windows(3) {
        // `name AS (` after WITH or a comma.
        if w[1].is_kw("as") && w[2].is_punct("(") {
            if let Some(n) = w[0].ident() {
                out.push(n.to_owned());
            }
        }
    }
    out
}

/// `CREATE INDEX idx_<table>_<cols> ON <table> (<cols>);`
fn create_index(table: &str, cols: &[String]) -> Option<String> {
    if cols.is_empty() {
        return None;
    }
    let name: String = format!("idx_{table}_{}", cols.join("_"))
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(format!(
        "CREATE INDEX {name} ON {} ({});",
        quote_ident(table),
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn quote_ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

pub(crate) fn finding(
    kind: FindingKind,
    table: Option<String>,
    message: String,
    index_columns: Vec<String>,
) -> Finding {
    let suggestion = table
        .as_deref()
        .and_then(|t| create_index(t, &index_columns));
    Finding {
        kind,
        table,
        message,
        index_columns,
        suggestion,
    }
}

pub(crate) const WHERE_ROLES: &[ColumnRole] =
    &[ColumnRole::Equality, ColumnRole::Join, ColumnRole::Range];
/// A table's own filters: equality columns, then one range column.
pub(crate) const FILTER_ROLES: &[ColumnRole] = &[ColumnRole::Equality, ColumnRole::Range];
pub(crate) const JOIN_ROLES: &[ColumnRole] = &[ColumnRole::Join, ColumnRole::Equality];
const SORT_ROLES: &[ColumnRole] = &[ColumnRole::Equality, ColumnRole::Order];

impl Plan {
    /// Builds a plan from SQLite's `EXPLAIN QUERY PLAN` rows for `raw_sql`.
    #[must_use]
    pub fn from_sqlite(raw_sql: &str, rows: &[SqlitePlanRow], infos: &TableInfos) -> Plan {
        let stmt = Statement::parse(raw_sql);
        let mut findings = Vec::new();
        // Full scans, grouped by parent so siblings (the loops of one join) can be compared.
        let mut scans_by_parent: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
        for r in rows {
            let d = r.detail.trim();
            if let Some(rest) = d.strip_prefix("SCAN ") {
                if rest.contains(" USING ") || rest.starts_with("CONSTANT ROW") {
                    continue;
                }
                let seen_as = rest.split_whitespace().next().unwrap_or(rest);
                let Some(table) = stmt.resolve(seen_as, infos) else {
                    continue;
                };
                // A scanned table is read as the outer loop: an index on its own filters (as
                // PostgreSQL's `Filter` gives them below) lets it be searched instead; the join
                // column only helps when it has no filter (the planner can then make it inner).
                let mut cols = stmt.index_columns(&table, seen_as, infos, FILTER_ROLES);
                if cols.is_empty() {
                    cols = stmt.index_columns(&table, seen_as, infos, WHERE_ROLES);
                }
                findings.push(finding(
                    FindingKind::FullScan,
                    Some(table.clone()),
                    format!("full scan of table `{table}` (`{d}`)"),
                    cols,
                ));
                scans_by_parent
                    .entry(r.parent)
                    .or_default()
                    .push((table, seen_as.to_owned()));
            } else if let Some(what) = d.strip_prefix("USE TEMP B-TREE FOR ") {
                let (table, cols) = single_table_sort(&stmt, infos);
                findings.push(finding(
                    FindingKind::TempSort,
                    table,
                    format!("temporary B-tree built for {what}"),
                    cols,
                ));
            } else if d.contains("AUTOMATIC") && d.contains("INDEX") {
                let seen_as = d.split_whitespace().nth(1).unwrap_or("");
                let table = stmt.resolve(seen_as, infos);
                let cols: Vec<String> = d
                    .rsplit_once('(')
                    .map(|(_, inner)| {
                        inner
                            .trim_end_matches(')')
                            .split(" AND ")
                            .filter_map(|c| {
                                c.split(|ch: char| "=<>".contains(ch)).next().map(str::trim)
                            })
                            .filter(|c| !c.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                findings.push(finding(
                    FindingKind::AutomaticIndex,
                    table,
                    format!("SQLite builds an automatic index for this statement (`{d}`)"),
                    cols,
                ));
            }
        }
        for scans in scans_by_parent.values().filter(|s| s.len() > 1) {
            let (outer, _) = &scans[0];
            for (inner, seen_as) in &scans[1..] {
                let cols = stmt.index_columns(inner, seen_as, infos, JOIN_ROLES);
                findings.push(finding(
                    FindingKind::NestedLoopScan,
                    Some(inner.clone()),
                    format!(
                        "nested loop: table `{inner}` is scanned in full for every row of `{outer}`"
                    ),
                    cols,
                ));
            }
        }
        Plan {
            source: PlanSource::Sqlite,
            sql: sql::normalize(raw_sql),
            text: render_sqlite(rows),
            json: None,
            analyzed: false,
            findings,
        }
    }

    /// Builds a plan from PostgreSQL's `EXPLAIN (FORMAT JSON)` output for `raw_sql`. Literals in
    /// the plan's expressions are replaced by `?` before anything is kept.
    #[must_use]
    pub fn from_postgres_json(raw_sql: &str, json: &Value, infos: &TableInfos) -> Plan {
        let mut json = json.clone();
        redact_json(&mut json, None, STRUCTURAL_KEYS);
        let stmt = Statement::parse(raw_sql);
        let root = json
            .as_array()
            .and_then(|a| a.first())
            .and_then(|o| o.get("Plan"))
            .or_else(|| json.get("Plan"));
        let mut findings = Vec::new();
        let mut text = String::new();
        let mut analyzed = false;
        if let Some(root) = root {
            analyzed = root.get("Actual Rows").is_some();
            pg_walk(root, &stmt, infos, &mut findings);
            render_pg(root, 0, &mut text);
        } else {
            text.push_str("(no plan in EXPLAIN output)");
        }
        Plan {
            source: PlanSource::Postgres,
            sql: sql::normalize(raw_sql),
            text,
            json: Some(json),
            analyzed,
            findings,
        }
    }

    /// One line per finding, for logs: `full scan of table `orders` ...; CREATE INDEX ...`.
    #[must_use]
    pub fn findings_summary(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            if !s.is_empty() {
                s.push_str(" | ");
            }
            let _ = write!(s, "{f}");
        }
        s
    }
}

/// The sort columns, when they all belong to one table.
pub(crate) fn single_table_sort(
    stmt: &Statement,
    infos: &TableInfos,
) -> (Option<String>, Vec<String>) {
    let order: Vec<&ColumnUse> = stmt
        .uses
        .iter()
        .filter(|u| u.role == ColumnRole::Order)
        .collect();
    if order.is_empty() {
        return (None, Vec::new());
    }
    for t in &stmt.tables {
        let seen_as = t.alias.as_deref().unwrap_or(&t.name);
        if order
            .iter()
            .all(|u| stmt.belongs(u, &t.name, seen_as, infos))
        {
            let cols = stmt.index_columns(&t.name, seen_as, infos, SORT_ROLES);
            return (Some(t.name.clone()), cols);
        }
    }
    (None, Vec::new())
}

fn render_sqlite(rows: &[SqlitePlanRow]) -> String {
    /// Each row is drawn at most once (`drawn`), under the first parent that claims it, so a
    /// malformed plan (ids repeated, parents in a cycle) still gives at most one line per row: a
    /// walk that followed every path of such a plan grows exponentially with its depth.
    fn walk(
        rows: &[SqlitePlanRow],
        parent: i64,
        prefix: &str,
        out: &mut String,
        depth: usize,
        drawn: &mut [bool],
    ) {
        if depth > 64 {
            return;
        }
        let kids: Vec<usize> = (0..rows.len())
            .filter(|&i| !drawn[i] && rows[i].parent == parent && rows[i].id != parent)
            .collect();
        for &i in &kids {
            drawn[i] = true;
        }
        for (k, &i) in kids.iter().enumerate() {
            let last = k + 1 == kids.len();
            let _ = writeln!(
                out,
                "{prefix}{}{}",
                if last { "`--" } else { "|--" },
                rows[i].detail
            );
            let deeper = format!("{prefix}{}", if last { "   " } else { "|  " });
            walk(rows, rows[i].id, &deeper, out, depth + 1, drawn);
        }
    }
    let mut out = String::from("QUERY PLAN\n");
    let mut drawn = vec![false; rows.len()];
    walk(rows, 0, "", &mut out, 0, &mut drawn);
    out.trim_end().to_owned()
}

/// Keys whose string values are structure (names, kinds), not expressions that could hold values.
const STRUCTURAL_KEYS: &[&str] = &[
    "Node Type",
    "Relation Name",
    "Alias",
    "Schema",
    "Index Name",
    "Strategy",
    "Join Type",
    "Parent Relationship",
    "Scan Direction",
    "Sort Method",
    "Sort Space Type",
    "Partial Mode",
    "Operation",
    "CTE Name",
    "Function Name",
    "Subplan Name",
];

/// Redacts every string of a JSON plan, except the values of `structural` keys (node types,
/// join types and the like, which hold no data): PostgreSQL's and MySQL/MariaDB's plans alike.
pub(crate) fn redact_json(v: &mut Value, key: Option<&str>, structural: &[&str]) {
    match v {
        Value::String(s) if !key.is_some_and(|k| structural.contains(&k)) => {
            *s = sql::truncate(&sql::redact_literals(s), sql::MAX_SQL_CHARS);
        }
        Value::Array(a) => {
            for x in a {
                redact_json(x, key, structural);
            }
        }
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                redact_json(x, Some(k), structural);
            }
        }
        _ => {}
    }
}

fn node_str<'a>(n: &'a Value, k: &str) -> Option<&'a str> {
    n.get(k).and_then(Value::as_str)
}

fn node_f64(n: &Value, k: &str) -> Option<f64> {
    n.get(k).and_then(Value::as_f64)
}

fn children(n: &Value) -> impl Iterator<Item = &Value> {
    n.get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The Seq Scans in a subtree (looking through Materialize, Hash and similar single-child nodes).
fn seq_scans_under(n: &Value, out: &mut Vec<Value>, depth: usize) {
    if depth > 64 {
        return;
    }
    if node_str(n, "Node Type") == Some("Seq Scan") {
        out.push(n.clone());
    }
    for c in children(n) {
        seq_scans_under(c, out, depth + 1);
    }
}

/// Estimated rows read by a Seq Scan: the table's estimate, else actual rows plus rows removed,
/// else the planner's output estimate.
fn scanned_rows(n: &Value, infos: &TableInfos) -> f64 {
    let rel = node_str(n, "Relation Name").unwrap_or("");
    if let Some(r) = infos.get(rel).and_then(|i| i.estimated_rows) {
        if r >= 0.0 {
            return r;
        }
    }
    if let Some(actual) = node_f64(n, "Actual Rows") {
        return actual + node_f64(n, "Rows Removed by Filter").unwrap_or(0.0);
    }
    node_f64(n, "Plan Rows").unwrap_or(0.0)
}

fn filter_columns(n: &Value, table: &str, seen_as: &str, infos: &TableInfos) -> Vec<String> {
    let mut uses = Vec::new();
    for key in ["Filter", "Join Filter", "Hash Cond", "Merge Cond"] {
        if let Some(f) = node_str(n, key) {
            uses.extend(sql::expression_columns(f));
        }
    }
    condition_columns(&uses, table, seen_as, infos)
}

/// The columns of `table` (seen as `seen_as`) that a plan node's conditions use, in the order an
/// index wants them: equalities, then join keys, then ranges; each a real column of the table.
/// PostgreSQL's filters and MySQL's attached conditions alike.
pub(crate) fn condition_columns(
    uses: &[ColumnUse],
    table: &str,
    seen_as: &str,
    infos: &TableInfos,
) -> Vec<String> {
    let mut cols = Vec::new();
    for role in [ColumnRole::Equality, ColumnRole::Join, ColumnRole::Range] {
        for u in uses.iter().filter(|u| u.role == role) {
            let mine = u
                .qualifier
                .as_deref()
                .is_none_or(|q| q.eq_ignore_ascii_case(seen_as) || q.eq_ignore_ascii_case(table));
            if mine {
                push_col(&mut cols, &u.column, infos.get(table));
            }
        }
    }
    cols
}

fn pg_walk(n: &Value, stmt: &Statement, infos: &TableInfos, out: &mut Vec<Finding>) {
    pg_walk_depth(n, stmt, infos, out, 0);
}

fn pg_walk_depth(
    n: &Value,
    stmt: &Statement,
    infos: &TableInfos,
    out: &mut Vec<Finding>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match node_str(n, "Node Type").unwrap_or("") {
        "Seq Scan" => {
            let table = node_str(n, "Relation Name").unwrap_or("?").to_owned();
            let seen_as = node_str(n, "Alias").unwrap_or(&table).to_owned();
            let rows = scanned_rows(n, infos);
            if rows >= BIG_TABLE_ROWS {
                let mut cols = filter_columns(n, &table, &seen_as, infos);
                if cols.is_empty() {
                    cols = stmt.index_columns(&table, &seen_as, infos, WHERE_ROLES);
                }
                let filter = node_str(n, "Filter")
                    .map(|f| format!(", filter {f}"))
                    .unwrap_or_default();
                out.push(finding(
                    FindingKind::FullScan,
                    Some(table.clone()),
                    format!("Seq Scan on `{table}` (~{rows:.0} rows{filter})"),
                    cols,
                ));
            }
        }
        "Sort" => {
            let rows = node_f64(n, "Actual Rows")
                .or_else(|| node_f64(n, "Plan Rows"))
                .unwrap_or(0.0);
            let disk = node_str(n, "Sort Space Type") == Some("Disk");
            if rows >= BIG_TABLE_ROWS || disk {
                let keys: Vec<String> = n
                    .get("Sort Key")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                let mut scans = Vec::new();
                for c in children(n) {
                    scans_and_indexes(c, &mut scans, 0);
                }
                let (table, cols) = match scans.as_slice() {
                    [(table, seen_as)] => {
                        let mut cols = Vec::new();
                        for k in &keys {
                            let k = k.trim_end_matches(" DESC").trim();
                            let (q, c) =
                                k.rsplit_once('.').map_or((None, k), |(q, c)| (Some(q), c));
                            let plain = c.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
                            if plain && q.is_none_or(|q| q == seen_as || q == table) {
                                push_col(&mut cols, c, infos.get(table));
                            }
                        }
                        (Some(table.clone()), cols)
                    }
                    _ => (None, Vec::new()),
                };
                out.push(finding(
                    FindingKind::TempSort,
                    table,
                    format!(
                        "Sort of ~{rows:.0} rows on {}{}",
                        keys.join(", "),
                        if disk { " (spilled to disk)" } else { "" }
                    ),
                    cols,
                ));
            }
        }
        "Nested Loop" => {
            let kids: Vec<&Value> = children(n).collect();
            if let [outer, inner] = kids.as_slice() {
                let mut scans = Vec::new();
                seq_scans_under(inner, &mut scans, 0);
                let outer_name = first_relation(outer).unwrap_or_else(|| "the outer side".into());
                for s in scans {
                    let table = node_str(&s, "Relation Name").unwrap_or("?").to_owned();
                    let seen_as = node_str(&s, "Alias").unwrap_or(&table).to_owned();
                    let mut cols = filter_columns(n, &table, &seen_as, infos);
                    for c in filter_columns(&s, &table, &seen_as, infos) {
                        push_col(&mut cols, &c, infos.get(&table));
                    }
                    if cols.is_empty() {
                        cols = stmt.index_columns(&table, &seen_as, infos, JOIN_ROLES);
                    }
                    out.push(finding(
                        FindingKind::NestedLoopScan,
                        Some(table.clone()),
                        format!(
                            "Nested Loop re-reads `{table}` with a Seq Scan for every row of `{outer_name}`"
                        ),
                        cols,
                    ));
                }
            }
        }
        _ => {}
    }
    for c in children(n) {
        pg_walk_depth(c, stmt, infos, out, depth + 1);
    }
}

/// Relations read in a subtree, as (name, alias).
fn scans_and_indexes(n: &Value, out: &mut Vec<(String, String)>, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(rel) = node_str(n, "Relation Name") {
        let alias = node_str(n, "Alias").unwrap_or(rel);
        out.push((rel.to_owned(), alias.to_owned()));
    }
    for c in children(n) {
        scans_and_indexes(c, out, depth + 1);
    }
}

fn first_relation(n: &Value) -> Option<String> {
    let mut v = Vec::new();
    scans_and_indexes(n, &mut v, 0);
    v.into_iter().next().map(|(r, _)| r)
}

/// How a plan tree node at `depth` is indented, the way PostgreSQL's text plans are: the node's
/// own line (`->  ` under its parent) and its detail lines. Shared by the JSON plan renderers.
pub(crate) fn tree_indents(depth: usize) -> (String, String) {
    let node = if depth == 0 {
        String::new()
    } else {
        format!("{}->  ", "      ".repeat(depth - 1))
    };
    (node, format!("{}  ", "      ".repeat(depth)))
}

fn render_pg(n: &Value, depth: usize, out: &mut String) {
    if depth > 64 {
        return;
    }
    let (indent, detail_indent) = tree_indents(depth);
    let mut head = node_str(n, "Node Type").unwrap_or("?").to_owned();
    if let Some(j) = node_str(n, "Join Type") {
        if head != "Hash" {
            head = format!("{j} {head}").replacen("Inner ", "", 1);
        }
    }
    if let Some(idx) = node_str(n, "Index Name") {
        let _ = write!(head, " using {idx}");
    }
    if let Some(rel) = node_str(n, "Relation Name") {
        let _ = write!(head, " on {rel}");
        if let Some(a) = node_str(n, "Alias").filter(|a| *a != rel) {
            let _ = write!(head, " {a}");
        }
    }
    let _ = write!(
        out,
        "{indent}{head}  (cost={:.2}..{:.2} rows={:.0} width={:.0})",
        node_f64(n, "Startup Cost").unwrap_or(0.0),
        node_f64(n, "Total Cost").unwrap_or(0.0),
        node_f64(n, "Plan Rows").unwrap_or(0.0),
        node_f64(n, "Plan Width").unwrap_or(0.0),
    );
    if let Some(rows) = node_f64(n, "Actual Rows") {
        let _ = write!(
            out,
            " (actual time={:.3}..{:.3} rows={rows:.0} loops={:.0})",
            node_f64(n, "Actual Startup Time").unwrap_or(0.0),
            node_f64(n, "Actual Total Time").unwrap_or(0.0),
            node_f64(n, "Actual Loops").unwrap_or(1.0),
        );
    }
    out.push('\n');
    for key in [
        "Index Cond",
        "Recheck Cond",
        "Hash Cond",
        "Merge Cond",
        "Join Filter",
        "Filter",
        "One-Time Filter",
    ] {
        if let Some(v) = node_str(n, key) {
            let _ = writeln!(out, "{detail_indent}{key}: {v}");
        }
    }
    if let Some(keys) = n.get("Sort Key").and_then(Value::as_array) {
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        let _ = writeln!(out, "{detail_indent}Sort Key: {}", keys.join(", "));
    }
    if let Some(r) = node_f64(n, "Rows Removed by Filter") {
        let _ = writeln!(out, "{detail_indent}Rows Removed by Filter: {r:.0}");
    }
    for c in children(n) {
        render_pg(c, depth + 1, out);
    }
    if depth == 0 {
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(v: &[(i64, i64, &str)]) -> Vec<SqlitePlanRow> {
        v.iter()
            .map(|(id, parent, d)| SqlitePlanRow {
                id: *id,
                parent: *parent,
                detail: (*d).to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_malformed_sqlite_plan_draws_each_row_once() {
        // Ids repeated and parents in a cycle (1 -> 2 -> 1, twice over): following every path
        // to the depth limit would draw about 2^32 lines; each row is drawn once instead.
        let mut v = vec![(1, 0, "SCAN a")];
        for _ in 0..4 {
            v.extend([(2, 1, "SCAN b"), (1, 2, "SCAN c")]);
        }
        let text = render_sqlite(&rows(&v));
        assert_eq!(text.lines().count(), 1 + v.len(), "{text}");
        assert!(text.starts_with("QUERY PLAN\n`--SCAN a"), "{text}");
    }

    fn infos(v: &[(&str, &[&str])]) -> TableInfos {
        v.iter()
            .map(|(t, cols)| {
                (
                    (*t).to_owned(),
                    TableInfo {
                        columns: cols.iter().map(|c| (*c).to_owned()).collect(),
                        estimated_rows: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn sqlite_scan_with_where_suggests_index() {
        let p = Plan::from_sqlite(
            "select * from orders o where o.customer_id = ?1 and created > ?2 order by created",
            &rows(&[(3, 0, "SCAN o"), (15, 0, "USE TEMP B-TREE FOR ORDER BY")]),
            &infos(&[("orders", &["id", "customer_id", "created"])]),
        );
        assert_eq!(p.findings[0].kind, FindingKind::FullScan);
        assert_eq!(p.findings[0].table.as_deref(), Some("orders"));
        assert_eq!(
            p.findings[0].suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_customer_id_created ON orders (customer_id, created);")
        );
        assert_eq!(p.findings[1].kind, FindingKind::TempSort);
        assert_eq!(p.findings[1].index_columns, ["customer_id", "created"]);
        assert_eq!(
            p.text,
            "QUERY PLAN\n|--SCAN o\n`--USE TEMP B-TREE FOR ORDER BY"
        );
    }

    #[test]
    fn sqlite_index_search_is_not_flagged() {
        let p = Plan::from_sqlite(
            "select * from orders where customer_id = ?",
            &rows(&[(4, 0, "SEARCH orders USING INDEX i (customer_id=?)")]),
            &TableInfos::new(),
        );
        assert!(p.findings.is_empty(), "{:?}", p.findings);
    }

    #[test]
    fn sqlite_outer_scan_of_a_join_is_indexed_on_its_own_filter() {
        // The scanned table drives the join: an index on its filter lets it be searched; one
        // leading with the join column would only make it the inner loop.
        let p = Plan::from_sqlite(
            "SELECT c.name, SUM(o.total) FROM orders o JOIN customers c ON o.customer_id = c.id \
             WHERE o.order_date >= ?1 GROUP BY c.name",
            &rows(&[
                (3, 0, "SCAN o"),
                (5, 0, "SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"),
            ]),
            &infos(&[
                ("orders", &["id", "customer_id", "order_date", "total"]),
                ("customers", &["id", "name"]),
            ]),
        );
        let scan = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::FullScan)
            .expect("full scan flagged");
        assert_eq!(
            scan.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_order_date ON orders (order_date);")
        );
    }

    #[test]
    fn sqlite_nested_scans_and_automatic_index() {
        let p = Plan::from_sqlite(
            "select * from a, b where a.x = b.y",
            &rows(&[(3, 0, "SCAN a"), (5, 0, "SCAN b")]),
            &infos(&[("a", &["x"]), ("b", &["y"])]),
        );
        let nl = p
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::NestedLoopScan)
            .expect("nested loop flagged");
        assert_eq!(nl.table.as_deref(), Some("b"));
        assert_eq!(
            nl.suggestion.as_deref(),
            Some("CREATE INDEX idx_b_y ON b (y);")
        );

        let p = Plan::from_sqlite(
            "select * from orders o, customers c where o.amount = c.status",
            &rows(&[
                (3, 0, "SCAN c"),
                (18, 0, "SEARCH o USING AUTOMATIC COVERING INDEX (amount=?)"),
            ]),
            &TableInfos::new(),
        );
        let auto = &p.findings[1];
        assert_eq!(auto.kind, FindingKind::AutomaticIndex);
        assert_eq!(
            auto.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_amount ON orders (amount);")
        );
    }

    #[test]
    fn postgres_seq_scan_flagged_with_redacted_filter() {
        let json: Value = serde_json::json!([{"Plan": {
            "Node Type": "Sort", "Total Cost": 900.0, "Plan Rows": 50.0, "Sort Key": ["kind"],
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "ev", "Alias": "ev",
                       "Total Cost": 896.0, "Plan Rows": 50.0,
                       "Filter": "((customer_id = $1) AND (kind <> 'secret'::text))"}]}}]);
        let mut infos = infos(&[("ev", &["id", "customer_id", "kind"])]);
        infos.get_mut("ev").unwrap().estimated_rows = Some(50_000.0);
        let p = Plan::from_postgres_json(
            "select * from ev where customer_id = $1 and kind <> 'secret'",
            &json,
            &infos,
        );
        assert_eq!(p.findings.len(), 1, "{:?}", p.findings);
        let f = &p.findings[0];
        assert_eq!(f.kind, FindingKind::FullScan);
        assert_eq!(f.index_columns, ["customer_id", "kind"]);
        let all = serde_json::to_string(&p).unwrap();
        assert!(!all.contains("secret"), "{all}");
        assert!(p.text.contains("->  Seq Scan on ev"), "{}", p.text);
        assert!(
            p.text
                .contains("Filter: ((customer_id = $1) AND (kind <> ?::text))"),
            "{}",
            p.text
        );
    }

    #[test]
    fn postgres_small_table_not_flagged_and_garbage_is_safe() {
        let json = serde_json::json!([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Plan Rows": 10.0}}]);
        assert!(
            Plan::from_postgres_json("select * from t", &json, &TableInfos::new())
                .findings
                .is_empty()
        );
        for v in [
            serde_json::json!(null),
            serde_json::json!({"Plan": 3}),
            serde_json::json!([[]]),
        ] {
            let _ = Plan::from_postgres_json("x", &v, &TableInfos::new());
        }
    }
}
