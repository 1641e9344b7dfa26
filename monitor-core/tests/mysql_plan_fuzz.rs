//! Property tests of `Plan::from_mysql_json` (MySQL's and MariaDB's `EXPLAIN FORMAT=JSON`,
//! outside input): generated plans in both dialects (tables with every access type, nested loops,
//! join buffers, filesorts, temporary tables, ordering operations, subqueries) and arbitrary JSON
//! never panic, and a string or numeric literal in a condition or sort key never survives into
//! the plan's text, JSON or findings. 2 properties × 2,000 cases.
use monitor_core::plan::{Plan, PlanSource, TableInfo, TableInfos};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A table node holding the secrets in its condition.
fn table(secret: String, number: u64) -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("o"), Just("orders"), Just("c"), Just("<derived2>")],
        prop_oneof![
            Just("ALL"),
            Just("ref"),
            Just("eq_ref"),
            Just("range"),
            Just("index"),
            Just("const"),
            Just("hash_ALL"),
            Just("??")
        ],
        proptest::option::of(0u32..200_000),
        any::<bool>(),
        proptest::option::of("[a-z_]{1,8}"),
    )
        .prop_map(move |(name, access, rows, mysql, key)| {
            let mut t = json!({
                "table_name": name,
                "access_type": access,
                "attached_condition":
                    format!("`db`.`{name}`.`email` = '{secret}' and {name}.n > {number}"),
            });
            if let Some(r) = rows {
                if mysql {
                    t["rows_examined_per_scan"] = json!(r);
                    t["filtered"] = json!("10.00");
                    t["using_join_buffer"] = json!("hash join");
                } else {
                    t["rows"] = json!(r);
                    t["r_rows"] = json!(r);
                }
            }
            if let Some(k) = key {
                t["key"] = json!(k);
                t["used_key_parts"] = json!([k]);
                t["ref"] = json!(["const"]);
            }
            json!({ "table": t })
        })
}

fn node(depth: u32, secret: String, number: u64) -> BoxedStrategy<Value> {
    let leaf = table(secret.clone(), number).boxed();
    if depth == 0 {
        return leaf;
    }
    let s = secret.clone();
    (
        0u8..7,
        proptest::collection::vec(node(depth - 1, secret, number), 1..3),
    )
        .prop_map(move |(kind, children)| {
            let first = children[0].clone();
            match kind {
                0 => json!({ "nested_loop": children }),
                1 => json!({ "filesort": {
                    "sort_key": format!("o.email = '{s}'"),
                    "temporary_table": { "nested_loop": children } } }),
                2 => json!({ "block-nl-join": {
                    "table": first["table"].clone(),
                    "join_type": "BNL",
                    "attached_condition": format!("o.x = '{s}' + {number}") } }),
                3 => json!({ "ordering_operation": {
                    "using_filesort": true, "using_temporary_table": true,
                    "nested_loop": children } }),
                4 => json!({ "temporary_table": first }),
                5 => json!({ "subqueries": [{ "query_block": { "select_id": 2,
                    "having_condition": format!("x = '{s}'"), "nested_loop": children } }] }),
                _ => first,
            }
        })
        .boxed()
}

fn infos() -> TableInfos {
    let mut infos = TableInfos::new();
    infos.insert(
        "orders".into(),
        TableInfo {
            columns: vec!["email".into(), "n".into(), "x".into()],
            estimated_rows: Some(5000.0),
        },
    );
    infos
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn literals_never_survive_in_generated_plans(
        (secret, number, body, mariadb) in ("[A-Za-z0-9]{12,20}", 900_000_000u64..999_999_999)
            .prop_flat_map(|(secret, number)| (
                Just(secret.clone()),
                Just(number),
                node(3, secret, number),
                any::<bool>(),
            ))
    ) {
        let mut block = body;
        block["select_id"] = json!(1);
        let doc = json!({ "query_block": block });
        let source = if mariadb { PlanSource::Mariadb } else { PlanSource::Mysql };
        let sql = format!("SELECT * FROM orders o WHERE o.email = '{secret}' AND o.n > {number} ORDER BY o.x");
        let plan = Plan::from_mysql_json(source, &sql, &doc, &infos());
        let all = serde_json::to_string(&plan).unwrap();
        prop_assert!(!all.contains(&secret), "{all}");
        prop_assert!(!all.contains(&number.to_string()), "{all}");
        let _ = plan.findings_summary();
    }

    #[test]
    fn arbitrary_json_never_panics(junk in "\\PC{0,60}", sql in "\\PC{0,40}") {
        let odd = serde_json::from_str::<Value>(&junk).unwrap_or(Value::String(junk));
        let _ = Plan::from_mysql_json(PlanSource::Mysql, &sql, &odd, &TableInfos::new());
        let wrapped = json!({ "query_block": odd });
        let _ = Plan::from_mysql_json(PlanSource::Mariadb, &sql, &wrapped, &TableInfos::new());
    }
}
