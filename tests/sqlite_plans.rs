//! The same SQLite query before and after `CREATE INDEX`: the plan goes from `SCAN` to
//! `SEARCH .. USING INDEX`, and the index suggestion appears only while the scan does.
use monitor::monitor_query;
use monitor::testing::capture;
use monitor::FindingKind;
use rusqlite::Connection;

const SQL: &str = "SELECT id, amount FROM orders WHERE customer_id = ?1 AND status = 'shipped'";

#[monitor_query("orders_of_customer", explain(conn = conn, sql = sql, mode = "always"))]
fn orders_of_customer(
    conn: &Connection,
    sql: &str,
    customer: i64,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([customer], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn database() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT, amount REAL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
         INSERT INTO orders (customer_id, status, amount) SELECT i % 100, 'shipped', i * 1.5 FROM n;",
    )
    .unwrap();
    conn
}

#[test]
fn scan_then_search_and_the_suggestion_only_for_the_scan() {
    let conn = database();
    let (rows, events) = capture(|| orders_of_customer(&conn, SQL, 7));
    assert_eq!(rows.unwrap().len(), 50);

    let site = monitor::snapshot()
        .site("orders_of_customer")
        .cloned()
        .unwrap();
    assert_eq!(site.plans.len(), 1, "{:#?}", site.plans);
    let before = &site.plans[0];
    assert!(
        before.plan.text.contains("SCAN orders"),
        "{}",
        before.plan.text
    );
    assert_eq!(
        before.plan.sql,
        "SELECT id, amount FROM orders WHERE customer_id = ?1 AND status = ?"
    );
    let scan = before
        .plan
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::FullScan)
        .expect("full scan flagged");
    assert_eq!(scan.table.as_deref(), Some("orders"));
    assert_eq!(
        scan.suggestion.as_deref(),
        Some("CREATE INDEX idx_orders_customer_id_status ON orders (customer_id, status);")
    );
    // The capture was logged (debug: not a slow call), with the suggestion.
    let logged = events
        .iter()
        .find(|e| e.message == "query plan captured")
        .expect("capture logged");
    assert!(logged
        .str("findings")
        .unwrap()
        .contains("CREATE INDEX idx_orders_customer_id_status"));

    // Apply the suggestion: the same query now searches the index and nothing is flagged.
    conn.execute_batch(scan.suggestion.as_deref().unwrap())
        .unwrap();
    assert_eq!(orders_of_customer(&conn, SQL, 7).unwrap().len(), 50);
    let site = monitor::snapshot()
        .site("orders_of_customer")
        .cloned()
        .unwrap();
    let after = site
        .plans
        .iter()
        .find(|p| {
            p.plan
                .text
                .contains("SEARCH orders USING INDEX idx_orders_customer_id_status")
        })
        .unwrap_or_else(|| panic!("{:#?}", site.plans));
    assert!(after.plan.findings.is_empty(), "{:#?}", after.plan.findings);
    assert!(
        after.plan.findings.iter().all(|f| f.suggestion.is_none()),
        "no suggestion once the index exists"
    );
    // The JSON form carries both plans.
    let json = serde_json::to_value(monitor::snapshot()).unwrap();
    let plans = json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "orders_of_customer")
        .unwrap()["plans"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(plans.len(), 2);
    assert!(plans
        .iter()
        .all(|p| p["source"] == "sqlite" && p["duration_ms"].as_f64().is_some()));
}
