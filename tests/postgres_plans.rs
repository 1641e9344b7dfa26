//! A real PostgreSQL server: a `pg_sleep` query over its threshold has its JSON plan captured,
//! its `Seq Scan` flagged with an index suggestion, and the warning carries the plan; capturing
//! leaves the connection as it was; a failed `EXPLAIN` is logged and changes nothing.
use monitor::monitor_query;
use monitor::testing::capture;
use monitor::FindingKind;
use monitor_test_support::postgres::PostgresServer;
use postgres::{Client, NoTls};

const SLOW_SQL: &str =
    "SELECT (SELECT pg_sleep(0.3)) IS NULL AS paused, count(*) FROM events WHERE customer_id = $1";

#[monitor_query("events_of_customer", slow = "200ms", explain(conn = client, sql = sql))]
fn events_of_customer(
    client: &mut Client,
    sql: &str,
    customer: i32,
) -> Result<i64, postgres::Error> {
    let row = client.query_one(sql, &[&customer])?;
    Ok(row.get(1))
}

#[monitor_query("maintenance", explain(conn = client, sql = sql, mode = "always"))]
fn maintenance(client: &mut Client, sql: &str) -> Result<(), postgres::Error> {
    client.batch_execute(sql)
}

fn load(client: &mut Client) {
    client
        .batch_execute(
            "CREATE TABLE events (id bigint PRIMARY KEY, customer_id int NOT NULL, kind text);
             INSERT INTO events SELECT g, g % 1000, 'kind-' || (g % 7) FROM generate_series(1, 100000) g;
             ANALYZE events;",
        )
        .expect("load events");
}

#[test]
#[serial_test::serial]
fn slow_query_gets_its_plan_captured_flagged_and_logged() {
    let pg = PostgresServer::start();
    let mut client = Client::connect(&pg.connection_string(), NoTls).expect("connect");
    load(&mut client);

    let (count, events) = capture(|| events_of_customer(&mut client, SLOW_SQL, 42));
    assert_eq!(count.expect("the call's own result"), 100);

    let warn = events
        .iter()
        .find(|e| e.message == "slow query" && e.str("name") == Some("events_of_customer"))
        .unwrap_or_else(|| panic!("no slow warning: {events:#?}"));
    assert_eq!(warn.level, tracing::Level::WARN);
    assert_eq!(warn.f64("threshold_ms"), Some(200.0));
    assert!(warn.f64("duration_ms").unwrap() >= 300.0);
    assert_eq!(warn.str("sql"), Some(SLOW_SQL.replace("0.3", "?").as_str()));
    let plan_text = warn.str("plan").expect("plan in the warning");
    assert!(plan_text.contains("Seq Scan on events"), "{plan_text}");
    assert!(
        plan_text.contains("Filter: (customer_id = $1)"),
        "{plan_text}"
    );
    assert!(
        warn.str("findings")
            .unwrap()
            .contains("CREATE INDEX idx_events_customer_id ON events (customer_id);"),
        "{warn:#?}"
    );

    let site = monitor::snapshot()
        .site("events_of_customer")
        .cloned()
        .unwrap();
    assert_eq!((site.calls, site.slow, site.errors), (1, 1, 0));
    let captured = &site.plans[0];
    assert!(captured.slow && captured.duration_ms >= 300.0);
    let json = captured
        .plan
        .json
        .as_ref()
        .expect("PostgreSQL JSON plan kept");
    let root = &json[0]["Plan"];
    assert_eq!(root["Node Type"], "Aggregate", "{json:#}");
    assert!(serde_json::to_string(json)
        .unwrap()
        .contains("\"Seq Scan\""));
    let scan = captured
        .plan
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::FullScan)
        .expect("Seq Scan flagged");
    assert_eq!(scan.table.as_deref(), Some("events"));
    assert!(scan.message.contains("~100000 rows"), "{}", scan.message);
    assert_eq!(scan.index_columns, ["customer_id"]);

    // Nothing left behind on the connection: no prepared statement, no setting, no transaction.
    let leftovers: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '__monitor%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
    let mode: String = client
        .query_one("SHOW plan_cache_mode", &[])
        .unwrap()
        .get(0);
    assert_eq!(mode, "auto");
    client
        .batch_execute("CREATE TABLE after_capture (x int)")
        .expect("not in a read-only transaction");
}

#[test]
#[serial_test::serial]
fn a_failed_explain_is_logged_and_the_call_is_unchanged() {
    let pg = PostgresServer::start();
    let mut client = Client::connect(&pg.connection_string(), NoTls).expect("connect");
    load(&mut client);
    // VACUUM cannot be explained: the capture fails, the call does not.
    let (result, events) = capture(|| maintenance(&mut client, "VACUUM events"));
    assert!(result.is_ok());
    let failed = events
        .iter()
        .find(|e| e.message == "query plan capture failed")
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(failed.level, tracing::Level::WARN);
    assert_eq!(failed.str("name"), Some("maintenance"));
    assert!(
        failed.str("error").unwrap().contains("syntax error"),
        "{failed:#?}"
    );
    let site = monitor::snapshot().site("maintenance").cloned().unwrap();
    assert_eq!((site.calls, site.errors), (1, 0));
    assert!(site.plans.is_empty());
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1, "the connection still works");
}
