//! Property tests of the parsers that read captured query plans and SQL text (outside input):
//! arbitrary SQL, arbitrary SQLite `EXPLAIN QUERY PLAN` rows and arbitrary PostgreSQL plan JSON
//! never panic, and a literal in the SQL never survives normalisation or redaction, wherever a
//! generated statement puts it (joins, subqueries, `IN` lists, casts, comments, dollar quotes,
//! inserts and updates). 5 properties × 2,000 cases (see the config below).
use monitor_core::plan::{Plan, SqlitePlanRow, TableInfos};
use monitor_core::sql;
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sqlish() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,80}",
        "(SELECT|select) [a-z_.*, ]{0,20} FROM [a-z_]{1,8}( [a-z]{1,3})?( WHERE [a-z_.]{1,10} ?(=|>|<|IN|LIKE) ?('[^']{0,8}'|[0-9]{1,4}|\\$[0-9]|\\?))?( ORDER BY [a-z_]{1,6})?( GROUP BY [a-z_]{1,6})?;?",
        "[()'\"$?;,.=<> a-zA-Z0-9_-]{0,60}",
    ]
}

fn detail() -> impl Strategy<Value = String> {
    prop_oneof![
        "(SCAN|SEARCH) [a-z_]{1,8}( USING (COVERING )?INDEX [a-z_]{1,8} \\([a-z_=?<>]{0,20}\\))?",
        "USE TEMP B-TREE FOR (ORDER BY|GROUP BY|DISTINCT)",
        "\\PC{0,40}",
    ]
}

fn pg_node(depth: u32) -> BoxedStrategy<Value> {
    let leaf = (
        prop_oneof![
            Just("Seq Scan"),
            Just("Index Scan"),
            Just("Nested Loop"),
            Just("Sort"),
            Just("Hash Join"),
            Just("Aggregate"),
            Just("??")
        ],
        proptest::option::of("[a-z_]{1,8}"),
        proptest::option::of(-10.0f64..1e9),
        proptest::option::of("\\PC{0,30}"),
    )
        .prop_map(|(kind, rel, rows, filter)| {
            let mut node = json!({ "Node Type": kind });
            if let Some(r) = rel {
                node["Relation Name"] = json!(r);
            }
            if let Some(r) = rows {
                node["Plan Rows"] = json!(r);
            }
            if let Some(f) = filter {
                node["Filter"] = json!(f);
            }
            node
        });
    if depth == 0 {
        return leaf.boxed();
    }
    (leaf, proptest::collection::vec(pg_node(depth - 1), 0..3))
        .prop_map(|(mut node, children)| {
            if !children.is_empty() {
                node["Plans"] = Value::Array(children);
            }
            node
        })
        .boxed()
}

/// A literal carrying `secret`, in one of the forms SQL writes literals.
fn literal(secret: String) -> impl Strategy<Value = String> {
    let s = secret;
    prop_oneof![
        Just(format!("'{s}'")),
        Just(format!("'it''s {s}'")),
        Just(format!("E'{s}\\n'")),
        Just(format!("$${s}$$")),
        Just(format!("$tag${s} 'quoted'$tag$")),
        Just(format!("CAST('{s}' AS text)")),
        Just(format!("'{s}'::varchar(40)")),
        Just(format!("'%{s}%'")),
    ]
}

/// A statement with the literal somewhere a real pipeline would put one, and the digits `number`
/// as a numeric literal elsewhere.
fn statement(secret: String, number: u64) -> impl Strategy<Value = String> {
    let column = "[a-z]{1,6}(\\.[a-z]{1,6})?";
    (
        literal(secret),
        column,
        0usize..9,
        prop_oneof![
            Just(""),
            Just(" -- by the nightly job"),
            Just(" /* hint: use idx */")
        ],
    )
        .prop_map(move |(lit, col, shape, comment)| {
            let n = number;
            let body = match shape {
                0 => format!("SELECT * FROM users WHERE {col} = {lit} AND id = {n}"),
                1 => format!(
                    "SELECT a.id, b.total FROM orders a JOIN customers b ON a.customer_id = b.id \
                     WHERE b.{col} = {lit} AND a.amount > {n}"
                ),
                2 => format!("SELECT id FROM t WHERE {col} IN ({lit}, 'other', {n})"),
                3 => format!(
                    "SELECT id FROM t WHERE id IN (SELECT o.id FROM o WHERE o.{col} = {lit}) \
                     LIMIT {n}"
                ),
                4 => format!(
                    "SELECT 1 WHERE EXISTS (SELECT 1 FROM t WHERE {col} LIKE {lit} AND n = {n})"
                ),
                5 => format!("INSERT INTO audit (who, what, n) VALUES ({lit}, 'x', {n})"),
                6 => format!("UPDATE accounts SET {col} = {lit} WHERE id = {n}"),
                7 => format!("DELETE FROM sessions WHERE {col} = {lit} OR id = {n}"),
                _ => format!(
                    "WITH r AS (SELECT {col} FROM t WHERE k = {lit}) SELECT count(*) FROM r \
                     WHERE v > {n}"
                ),
            };
            format!("{body}{comment}")
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sql_text_helpers_never_panic(s in sqlish()) {
        let _ = sql::normalize(&s);
        let _ = sql::redact_literals(&s);
        let _ = sql::fingerprint(&s);
        let _ = sql::is_read_only(&s);
        let _ = sql::dollar_param_count(&s);
        let _ = sql::truncate(&s, 16);
    }

    #[test]
    fn sqlite_plans_never_panic(s in sqlish(), rows in proptest::collection::vec((0i64..20, 0i64..20, detail()), 0..8)) {
        let rows: Vec<SqlitePlanRow> = rows
            .into_iter()
            .map(|(id, parent, detail)| SqlitePlanRow { id, parent, detail })
            .collect();
        let plan = Plan::from_sqlite(&s, &rows, &TableInfos::new());
        let _ = plan.findings_summary();
        // Repeated ids and cyclic parents draw each row once at most: a walk that followed
        // every path of such a plan once ran this test out of memory (24 GiB).
        let details: usize = rows.iter().map(|r| r.detail.lines().count().max(1)).sum();
        prop_assert!(plan.text.lines().count() <= 1 + details, "{}", plan.text);
    }

    #[test]
    fn postgres_plans_never_panic(s in sqlish(), root in pg_node(3), junk in "\\PC{0,40}") {
        let doc = json!([{ "Plan": root }]);
        let _ = Plan::from_postgres_json(&s, &doc, &TableInfos::new()).findings_summary();
        // Whatever JSON arrives, including none of the expected shape.
        let odd = serde_json::from_str::<Value>(&junk).unwrap_or(Value::String(junk));
        let _ = Plan::from_postgres_json(&s, &odd, &TableInfos::new()).findings_summary();
    }

    #[test]
    fn string_literals_never_survive_normalisation(secret in "[A-Za-z0-9]{12,20}") {
        let text = format!("SELECT * FROM users WHERE email = '{secret}@example.com' AND id = 42");
        let normal = sql::normalize(&text);
        prop_assert!(!normal.contains(&secret), "{normal}");
        let redacted = sql::redact_literals(&text);
        prop_assert!(!redacted.contains(&secret), "{redacted}");
    }

    #[test]
    fn literals_never_survive_in_generated_statements(
        (text, secret, number) in ("[A-Za-z][A-Za-z0-9]{11,19}", 100_000_000u64..999_999_999)
            .prop_flat_map(|(secret, number)| {
                statement(secret.clone(), number).prop_map(move |t| (t, secret.clone(), number))
            })
    ) {
        let number = number.to_string();
        for (what, out) in [("normalize", sql::normalize(&text)), ("redact_literals", sql::redact_literals(&text))] {
            prop_assert!(!out.contains(&secret), "{what} kept the string literal: {text} -> {out}");
            prop_assert!(!out.contains(&number), "{what} kept the number: {text} -> {out}");
        }
    }
}
