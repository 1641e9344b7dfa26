//! DuckDB plans (feature `duckdb`): on a real table of a million rows, a look-up filtering an
//! unindexed column is flagged with the index to create; once it exists the plan is an index
//! scan and nothing is flagged. `analyze` reads DuckDB's JSON profile (actual rows), only for
//! statements that read: a write is explained, never run again.
use monitor::{monitor_query, FindingKind, Pipeline, PlanSource};
use serial_test::serial;

const LOOKUP: &str = "SELECT id, amount FROM orders WHERE customer_id = ?";
/// The same look-up with its value in the text, so `analyze` may run it: DuckDB's profile says
/// whether the scan used an index (a plain `EXPLAIN` calls every table scan sequential).
const LOOKUP_4242: &str = "SELECT id, amount FROM orders WHERE customer_id = 4242";
const TOTALS: &str =
    "SELECT customer_id, sum(amount) AS total FROM orders WHERE amount >= 990 GROUP BY customer_id";

/// A million orders; customer ids spread over the whole table, so no row group can be skipped.
fn orders() -> duckdb::Connection {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE orders AS SELECT range AS id, (range * 7919) % 50000 AS customer_id, \
         (range % 1000)::DOUBLE AS amount FROM range(1000000)",
    )
    .unwrap();
    conn
}

#[monitor_query("orders_of_customer", rows, explain(conn = conn, sql = LOOKUP, mode = "always"))]
fn orders_of_customer(conn: &duckdb::Connection, customer: i64) -> duckdb::Result<Vec<(i64, f64)>> {
    let mut stmt = conn.prepare(LOOKUP)?;
    let rows = stmt.query_map([customer], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[monitor_query("customer_4242", rows, explain(conn = conn, sql = LOOKUP_4242, mode = "always", analyze))]
fn customer_4242(conn: &duckdb::Connection) -> duckdb::Result<Vec<(i64, f64)>> {
    let mut stmt = conn.prepare(LOOKUP_4242)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[monitor_query("customer_totals", rows, explain(conn = conn, sql = TOTALS, mode = "always", analyze))]
fn customer_totals(conn: &duckdb::Connection) -> duckdb::Result<Vec<(i64, f64)>> {
    let mut stmt = conn.prepare(TOTALS)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[test]
#[serial]
fn an_unindexed_filter_is_flagged_and_the_suggested_index_changes_the_plan() {
    monitor::testing::without_history();
    let conn = orders();
    let run = Pipeline::start("duckdb_plans");
    assert_eq!(orders_of_customer(&conn, 4242).unwrap().len(), 20);
    assert_eq!(customer_4242(&conn).unwrap().len(), 20);
    let before = run.finish();
    for name in ["orders_of_customer", "customer_4242"] {
        let q = before.query(name).unwrap();
        let plan = &q.plans[0].plan;
        assert_eq!(plan.source, PlanSource::Duckdb);
        println!("{name}:\n{}\n{:?}", plan.text, plan.findings);
        assert!(plan.text.contains("(Sequential Scan)"), "{}", plan.text);
        let scan = plan
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::FullScan)
            .expect("the unindexed filter is flagged");
        assert_eq!(scan.table.as_deref(), Some("orders"));
        assert_eq!(
            scan.suggestion.as_deref(),
            Some("CREATE INDEX idx_orders_customer_id ON orders (customer_id);")
        );
        assert!(
            scan.message.contains("sort it by customer_id"),
            "{}",
            scan.message
        );
        // No literal, no bound value in the plan.
        let all = serde_json::to_string(&q.plans).unwrap();
        assert!(!all.contains("4242"), "{all}");
    }
    assert!(
        before.query("customer_4242").unwrap().plans[0]
            .plan
            .analyzed
    );
    // The report shows the plans and the suggestion under the queries.
    let text = before.to_text_width(200);
    assert!(
        text.contains("CREATE INDEX idx_orders_customer_id"),
        "{text}"
    );

    // The suggested change, applied: the plan changes. DuckDB's profile shows the index scan;
    // the plain plan of the parameterized look-up is no longer flagged.
    let create = before.query("orders_of_customer").unwrap().plans[0]
        .plan
        .findings[0]
        .suggestion
        .clone()
        .unwrap();
    conn.execute_batch(&create).unwrap();
    monitor::reset();
    let run = Pipeline::start("duckdb_plans_indexed");
    assert_eq!(orders_of_customer(&conn, 4242).unwrap().len(), 20);
    assert_eq!(customer_4242(&conn).unwrap().len(), 20);
    let after = run.finish();
    let analyzed = &after.query("customer_4242").unwrap().plans[0].plan;
    println!("after:\n{}", analyzed.text);
    assert!(analyzed.text.contains("(Index Scan)"), "{}", analyzed.text);
    assert!(
        analyzed.text.contains("actual rows=20"),
        "{}",
        analyzed.text
    );
    assert!(analyzed.findings.is_empty(), "{:?}", analyzed.findings);
    let plain = &after.query("orders_of_customer").unwrap().plans[0].plan;
    assert!(plain.findings.is_empty(), "{:?}", plain.findings);
}

const LOG: &str = "INSERT INTO log SELECT 1";

#[monitor_query("log_one", explain(conn = conn, sql = LOG, mode = "always", analyze))]
fn log_one(conn: &duckdb::Connection) -> duckdb::Result<usize> {
    conn.execute(LOG, [])
}

#[test]
#[serial]
fn analyze_never_runs_a_write_again() {
    monitor::testing::without_history();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE log (n INTEGER)").unwrap();
    monitor::reset();
    assert_eq!(log_one(&conn).unwrap(), 1);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "the INSERT ran once: the capture only explained it");
    let snap = monitor::snapshot();
    let plan = &snap.site("log_one").unwrap().plans[0].plan;
    assert!(!plan.analyzed, "{}", plan.text);
}

#[test]
#[serial]
fn analyze_reads_the_profile_with_actual_rows() {
    monitor::testing::without_history();
    let conn = orders();
    let run = Pipeline::start("duckdb_analyze");
    let totals = customer_totals(&conn).unwrap();
    let report = run.finish();
    let q = report.query("customer_totals").unwrap();
    assert_eq!(q.site.rows, Some(totals.len() as u64));
    let plan = &q.plans[0].plan;
    println!("{}", plan.text);
    assert!(plan.analyzed, "{}", plan.text);
    assert!(plan.text.contains("actual rows="), "{}", plan.text);
    // The range filter over the unsorted million rows: flagged, sort advised, no index.
    let scan = plan
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::FullScan)
        .expect("flagged");
    assert!(scan.suggestion.is_none(), "{scan:?}");
    assert!(
        scan.message.contains("sort it by amount"),
        "{}",
        scan.message
    );
    // The report shows the plan under the query.
    let text = report.to_text_width(200);
    assert!(text.contains("Slow queries and plans"), "{text}");
    assert!(text.contains("sequential scan of table `orders`"), "{text}");
}
