#![deny(warnings)]
// `explain(..)` on the supported connection shapes: shared and exclusive references, sync and
// async, every mode; the body still uses the arguments as before.
use rusqlite::Connection;

#[monitor::monitor_query("shared", explain(conn = conn, sql = sql))]
fn shared(conn: &Connection, sql: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [], |r| r.get(0))
}

#[monitor::monitor_query("exclusive", slow = "1ms", explain(conn = conn, sql = sql, every = 10))]
fn exclusive(conn: &mut Connection, sql: &String) -> rusqlite::Result<i64> {
    let tx = conn.transaction()?;
    let n = tx.query_row(sql, [], |r| r.get(0))?;
    tx.commit()?;
    Ok(n)
}

#[monitor::monitor_query("pg", explain(conn = client, sql = sql, mode = "always", analyze))]
fn pg(client: &mut postgres::Client, sql: &str) -> Result<u64, postgres::Error> {
    client.execute(sql, &[])
}

#[monitor::monitor_query("tokio_pg", explain(conn = client, sql = sql))]
async fn tokio_pg(client: &tokio_postgres::Client, sql: &str) -> Result<u64, tokio_postgres::Error> {
    client.execute(sql, &[]).await
}

#[monitor::monitor_query("sqlite_in_async", explain(conn = conn, sql = sql))]
async fn sqlite_in_async(conn: &Connection, sql: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [], |r| r.get(0))
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let mut conn = Connection::open_in_memory().unwrap();
    assert_eq!(shared(&conn, "select 1").unwrap(), 1);
    assert_eq!(exclusive(&mut conn, &"select 2".to_owned()).unwrap(), 2);
    let _ = pg;
    let _ = sqlite_in_async;
}

// The async capture keeps a `Send` future `Send`.
#[allow(dead_code)]
fn tokio_future_is_send(client: &tokio_postgres::Client) {
    assert_send(&tokio_pg(client, "select 1"));
}
