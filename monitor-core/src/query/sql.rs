//! SQL as the plan analysis reads it: the tables, aliases and columns a statement uses, from the
//! tokens of `crate::redact`. The facade's `monitor::sql` shows both: the redaction every
//! failing call uses (re-exported here) and this parsing.

pub use crate::redact::{
    dollar_param_count, error_message, fingerprint, is_read_only, normalize, redact_literals,
    truncate, MAX_SQL_CHARS,
};
pub(crate) use crate::redact::{is_reserved, tokenize, Tok};

/// A table named in `FROM` or `JOIN`, with its alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub(crate) name: String,
    pub(crate) alias: Option<String>,
}

/// How a column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnRole {
    /// `col = ...`, `col IN (...)`, `col IS NULL`.
    Equality,
    /// `col < ...`, `BETWEEN`, `LIKE`.
    Range,
    /// `a.col = b.col` in `ON` or `WHERE`.
    Join,
    /// `ORDER BY col` / `GROUP BY col`.
    Order,
}

/// A column reference found in a predicate or an `ORDER BY`/`GROUP BY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnUse {
    pub(crate) qualifier: Option<String>,
    pub(crate) column: String,
    pub(crate) role: ColumnRole,
}

const NOT_ALIAS: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "on",
    "using",
    "group",
    "order",
    "limit",
    "offset",
    "having",
    "union",
    "except",
    "intersect",
    "window",
    "returning",
    "set",
    "for",
    "fetch",
    "values",
    "lateral",
    "as",
    "straight_join",
    "indexed",
    "not",
];

/// Tables in `FROM` / `JOIN` clauses (subqueries skipped), with aliases.
pub(crate) fn tables(sql: &str) -> Vec<TableRef> {
    let toks = tokenize(sql);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let starts_list = toks[i].is_kw("from") || toks[i].is_kw("join") || toks[i].is_kw("update");
        let into = toks[i].is_kw("into");
        i += 1;
        if !(starts_list || into) {
            continue;
        }
        while let Some((name, next)) = qualified_name(&toks, i) {
            i = next;
            let mut alias = None;
            if toks.get(i).is_some_and(|t| t.is_kw("as")) {
                i += 1;
            }
            if let Some(a) = toks.get(i).and_then(Tok::ident) {
                if !NOT_ALIAS.iter().any(|k| a.eq_ignore_ascii_case(k)) {
                    alias = Some(a.to_owned());
                    i += 1;
                }
            }
            out.push(TableRef { name, alias });
            // `FROM a, b` continues the list.
            if starts_list && toks.get(i).is_some_and(|t| t.is_punct(",")) {
                i += 1;
                continue;
            }
            break;
        }
    }
    out
}

/// `schema.table` or `table` at `i`: the last part and the index after it.
fn qualified_name(toks: &[Tok<'_>], mut i: usize) -> Option<(String, usize)> {
    let mut name = toks.get(i)?.ident()?;
    if NOT_ALIAS.iter().any(|k| name.eq_ignore_ascii_case(k)) || name.eq_ignore_ascii_case("select")
    {
        return None;
    }
    i += 1;
    while toks.get(i).is_some_and(|t| t.is_punct(".")) {
        name = toks.get(i + 1)?.ident()?;
        i += 2;
    }
    // A function call in FROM (`generate_series(..)`) is not a table.
    if toks.get(i).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    Some((name.to_owned(), i))
}

/// A column reference ending at index `end` (inclusive): `col` or `q.col`.
fn column_ref_ending(toks: &[Tok<'_>], end: usize) -> Option<(Option<String>, String)> {
    let col = toks.get(end)?.ident()?;
    if is_reserved(col) {
        return None;
    }
    if end >= 2 && toks[end - 1].is_punct(".") {
        let q = toks[end - 2].ident()?;
        return Some((Some(q.to_owned()), col.to_owned()));
    }
    Some((None, col.to_owned()))
}

/// A column reference starting at `start`: `col` or `q.col`, not a function call.
fn column_ref_starting(toks: &[Tok<'_>], start: usize) -> Option<(Option<String>, String, usize)> {
    let a = toks.get(start)?.ident()?;
    if is_reserved(a) {
        return None;
    }
    if toks.get(start + 1).is_some_and(|t| t.is_punct(".")) {
        let b = toks.get(start + 2)?.ident()?;
        if toks.get(start + 3).is_some_and(|t| t.is_punct("(")) {
            return None;
        }
        return Some((Some(a.to_owned()), b.to_owned(), start + 3));
    }
    if toks.get(start + 1).is_some_and(|t| t.is_punct("(")) {
        return None;
    }
    Some((None, a.to_owned(), start + 1))
}

/// Columns used in `WHERE`/`ON` predicates and in `ORDER BY`/`GROUP BY`, in order of appearance.
pub(crate) fn column_uses(sql: &str) -> Vec<ColumnUse> {
    column_uses_in(&tokenize(sql), false)
}

/// Columns used in a bare expression (a PostgreSQL plan's `Filter` or `Join Filter`).
pub(crate) fn expression_columns(expr: &str) -> Vec<ColumnUse> {
    column_uses_in(&tokenize(expr), true)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Other,
    Predicate,
    OrderBy,
}

fn column_uses_in(toks: &[Tok<'_>], bare_expression: bool) -> Vec<ColumnUse> {
    let mut out: Vec<ColumnUse> = Vec::new();
    let mut clause = if bare_expression {
        Clause::Predicate
    } else {
        Clause::Other
    };
    let push = |q: Option<String>, c: String, role: ColumnRole, out: &mut Vec<ColumnUse>| {
        if !out
            .iter()
            .any(|u| u.qualifier == q && u.column.eq_ignore_ascii_case(&c) && u.role == role)
        {
            out.push(ColumnUse {
                qualifier: q,
                column: c,
                role,
            });
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if !bare_expression {
            if t.is_kw("where") || t.is_kw("on") || t.is_kw("having") {
                clause = Clause::Predicate;
            } else if (t.is_kw("order") || t.is_kw("group"))
                && toks.get(i + 1).is_some_and(|n| n.is_kw("by"))
            {
                clause = Clause::OrderBy;
                i += 2;
                // The list: `a, b.c DESC, d`.
                while let Some((q, c, next)) = column_ref_starting(toks, i) {
                    push(q, c, ColumnRole::Order, &mut out);
                    i = next;
                    while toks.get(i).is_some_and(|t| {
                        ["asc", "desc", "nulls", "first", "last"]
                            .iter()
                            .any(|k| t.is_kw(k))
                    }) {
                        i += 1;
                    }
                    if toks.get(i).is_some_and(|t| t.is_punct(",")) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                continue;
            } else if [
                "select",
                "limit",
                "offset",
                "returning",
                "set",
                "values",
                "union",
                "window",
            ]
            .iter()
            .any(|k| t.is_kw(k))
                || t.is_kw("from")
            {
                clause = Clause::Other;
            }
        }
        if clause == Clause::Predicate {
            let op = match t {
                Tok::Punct("=" | "==") => Some(ColumnRole::Equality),
                Tok::Punct("<" | ">" | "<=" | ">=" | "<>" | "!=") => Some(ColumnRole::Range),
                Tok::Ident(w) if w.eq_ignore_ascii_case("in") || w.eq_ignore_ascii_case("is") => {
                    Some(ColumnRole::Equality)
                }
                Tok::Ident(w)
                    if ["like", "ilike", "between", "glob"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k)) =>
                {
                    Some(ColumnRole::Range)
                }
                _ => None,
            };
            if let Some(role) = op {
                // Left side: a column, possibly wrapped in one parenthesis (plan filters).
                let mut left_end = i.checked_sub(1);
                if let Some(le) = left_end {
                    if toks[le].is_kw("not") {
                        left_end = le.checked_sub(1);
                    }
                }
                let left = left_end.and_then(|le| column_ref_ending(toks, le));
                let right = column_ref_starting(toks, i + 1);
                match (left, right) {
                    (Some((lq, lc)), Some((rq, rc, _))) if role == ColumnRole::Equality => {
                        push(lq, lc, ColumnRole::Join, &mut out);
                        push(rq, rc, ColumnRole::Join, &mut out);
                    }
                    (Some((lq, lc)), _) => push(lq, lc, role, &mut out),
                    (None, Some((rq, rc, _)))
                        if left_end
                            .is_some_and(|le| matches!(toks[le], Tok::Literal | Tok::Param(_))) =>
                    {
                        // `$1 = col` or `5 < col`.
                        push(rq, rc, role, &mut out);
                    }
                    _ => {}
                }
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            normalize(
                "SELECT  *\n FROM t WHERE name = 'O''Brien' AND n IN (1, 2.5, -3e10) /* x */"
            ),
            "SELECT * FROM t WHERE name = ? AND n IN (?, ?, ?)"
        );
        assert_eq!(
            normalize("select $$secret$$, $tag$a $$ b$tag$, E'\\'x', x'ff', 0x1F"),
            "select ?, ?, ?, ?, ?"
        );
        assert_eq!(
            normalize("select a::text from t1"),
            "select a::text from t1"
        );
        assert_eq!(
            normalize("select count(*) from \"My Table\""),
            "select count(*) from \"My Table\""
        );
        assert_eq!(
            normalize("where a = :name and b = @p and c = ?"),
            "where a = :name and b = @p and c = ?"
        );
    }

    #[test]
    fn unterminated_input_is_redacted_whole() {
        assert_eq!(normalize("select 'secret"), "select ?");
        assert_eq!(normalize("select 1 /* never closed 'x'"), "select ?");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let sql = format!("select {}", "a, ".repeat(2000));
        let n = normalize(&sql);
        assert!(n.ends_with("chars]"), "{n}");
        assert!(n.contains("…[truncated, "));
        assert!(n.chars().count() < MAX_SQL_CHARS + 40);
    }

    #[test]
    fn redacts_plan_expressions() {
        assert_eq!(
            redact_literals("((email)::text = 'ann@x.org'::text) AND (id > 42)"),
            "((email)::text = ?::text) AND (id > ?)"
        );
        assert_eq!(redact_literals("(customer_id = $1)"), "(customer_id = $1)");
        assert_eq!(redact_literals("t1.a = t2.b"), "t1.a = t2.b");
    }

    #[test]
    fn query_errors_lose_row_values() {
        let e = "db error: ERROR: duplicate key value violates unique constraint \"users_email_key\"\nDETAIL: Key (email)=(ann@example.com) already exists.";
        let shown = error_message(crate::Kind::Query, &e);
        assert!(!shown.contains("ann@"), "{shown}");
        assert!(shown.contains("users_email_key"), "{shown}");
        assert_eq!(error_message(crate::Kind::Step, &"id 42 'x'"), "id 42 'x'");
        assert_eq!(
            error_message(crate::Kind::Query, &"no row 'x' after 30s"),
            "no row ? after 30s"
        );
    }

    #[test]
    fn fingerprints_match_across_placeholder_styles() {
        assert_eq!(
            fingerprint("SELECT * FROM t WHERE a = $1 AND b = 'x';"),
            fingerprint("select *  from t where a = 5 and b = $2")
        );
    }

    #[test]
    fn read_only_detection() {
        assert!(is_read_only("SELECT * FROM t WHERE a = $1"));
        assert!(is_read_only("with x as (select 1) select * from x"));
        assert!(!is_read_only(
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
        ));
        assert!(!is_read_only("select * from t for update"));
        assert!(!is_read_only("select nextval('s')"));
        assert!(!is_read_only("insert into t values (1)"));
        assert!(!is_read_only("select 1; delete from t"));
        assert!(!is_read_only("select * into t2 from t"));
    }

    #[test]
    fn finds_tables_and_aliases() {
        let t = tables(
            "SELECT * FROM fact_orders o JOIN dim_customers AS c ON o.customer_id = c.id WHERE 1",
        );
        let names: Vec<_> = t
            .iter()
            .map(|t| (t.name.as_str(), t.alias.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("fact_orders", Some("o")), ("dim_customers", Some("c"))]
        );
        assert_eq!(
            tables("select * from public.events where a = 1")[0].name,
            "events"
        );
        assert_eq!(tables("select * from a, b bb where a.x = bb.y").len(), 2);
        assert_eq!(
            normalize("select a - 1, a-1, x[1]"),
            "select a - ?, a - ?, x[?]"
        );
        assert!(tables("select * from generate_series(1, 3)").is_empty());
    }

    #[test]
    fn finds_predicate_and_order_columns() {
        let u = column_uses(
            "SELECT c.name FROM fact_orders o JOIN dim_customers c ON o.customer_id = c.id \
             WHERE o.order_date >= ? AND c.customer_status = 'active' GROUP BY c.customer_id ORDER BY c.name DESC",
        );
        let got: Vec<_> = u
            .iter()
            .map(|u| (u.qualifier.as_deref(), u.column.as_str(), u.role))
            .collect();
        assert_eq!(
            got,
            [
                (Some("o"), "customer_id", ColumnRole::Join),
                (Some("c"), "id", ColumnRole::Join),
                (Some("o"), "order_date", ColumnRole::Range),
                (Some("c"), "customer_status", ColumnRole::Equality),
                (Some("c"), "customer_id", ColumnRole::Order),
                (Some("c"), "name", ColumnRole::Order),
            ]
        );
        let f = expression_columns("((customer_id = $1) AND (kind <> 'x'::text))");
        assert_eq!(f[0].column, "customer_id");
        assert_eq!(f[0].role, ColumnRole::Equality);
        assert_eq!(f[1].column, "kind");
    }

    #[test]
    fn tokenizer_survives_arbitrary_bytes() {
        for s in [
            "'", "\"", "$", "$a", "$a$", "[", "/*", "--", "é'ü", "0x", "1e", "::", "?1?", "`x",
        ] {
            let _ = normalize(s);
            let _ = tables(s);
            let _ = column_uses(s);
            let _ = redact_literals(s);
        }
    }
}
