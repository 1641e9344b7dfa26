//! The server's own figures for a run: a `pg_stat_statements` snapshot at the start and at the
//! end, the delta joined to each named query and attached to the run's report.
use monitor::pg_stat::{attach_to_report, join_sites, PgStatStatements};
use monitor::{monitor_query, Pipeline};
use monitor_test_support::postgres::PostgresServer;
use postgres::{Client, NoTls};

#[monitor_query("orders_by_customer", explain(conn = client, sql = sql))]
fn orders_by_customer(
    client: &mut Client,
    sql: &str,
    customer: i32,
) -> Result<usize, postgres::Error> {
    Ok(client.query(sql, &[&customer])?.len())
}

#[test]
fn delta_for_a_run_is_joined_to_named_queries() {
    monitor::testing::without_history();
    let pg = PostgresServer::start();
    let mut client = Client::connect(&pg.connection_string(), NoTls).unwrap();
    client
        .batch_execute(
            "CREATE EXTENSION pg_stat_statements;
             CREATE TABLE orders (id int, customer_id int, amount int);
             INSERT INTO orders SELECT g, g % 100, g FROM generate_series(1, 20000) g;",
        )
        .unwrap();
    // A statement that ran before the run and not in it must not show up in the delta.
    client.query("SELECT count(*) FROM orders", &[]).unwrap();

    let run = Pipeline::start("pg_stat_run");
    let before = PgStatStatements::snapshot(&mut client).expect("view readable");
    let sql = "SELECT id, amount FROM orders WHERE customer_id = $1 AND amount > 0";
    for customer in 0..5 {
        assert_eq!(orders_by_customer(&mut client, sql, customer).unwrap(), 200);
    }
    let after = PgStatStatements::snapshot(&mut client).unwrap();
    let mut report = run.finish();
    let delta = before.delta(&after);
    assert!(
        delta
            .iter()
            .all(|e| e.query != "SELECT count(*) FROM orders"),
        "{delta:#?}"
    );

    let joined = join_sites(&delta);
    let server = joined
        .iter()
        .find(|s| s.name == "orders_by_customer")
        .unwrap_or_else(|| panic!("not joined: {joined:#?}\n{delta:#?}"));
    assert_eq!(server.calls, 5);
    assert_eq!(server.rows, 1000);
    assert!(server.mean_exec_time_ms > 0.0);
    assert!(
        server.shared_blks_hit + server.shared_blks_read > 0,
        "{server:#?}"
    );
    assert_eq!(server.queryids.len(), 1);

    attach_to_report(&mut report, &delta);
    let q = report
        .queries
        .iter()
        .find(|q| q.site.name == "orders_by_customer")
        .unwrap();
    assert_eq!(q.site.calls, 5);
    assert_eq!(q.server.as_ref().map(|s| s.calls), Some(5));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let entry = json["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "orders_by_customer")
        .unwrap();
    assert_eq!(entry["server"]["calls"], 5);
    assert!(entry["server"]["shared_blks_hit"].as_i64().is_some());
}

#[test]
fn a_missing_extension_is_a_clear_error() {
    monitor::testing::without_history();
    let pg = PostgresServer::start();
    let mut client = Client::connect(&pg.connection_string(), NoTls).unwrap();
    let err = PgStatStatements::snapshot(&mut client)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pg_stat_statements"), "{err}");
    assert!(err.contains("CREATE EXTENSION"), "{err}");
}
