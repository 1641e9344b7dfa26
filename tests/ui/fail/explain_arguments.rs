// `explain(..)` names arguments that must still be usable after the body: references only.
use rusqlite::Connection;

#[monitor::monitor_query("owned_conn", explain(conn = conn, sql = sql))]
fn owned_conn(conn: Connection, sql: &str) -> usize {
    drop(conn);
    sql.len()
}

#[monitor::monitor_query("owned_sql", explain(conn = conn, sql = sql))]
fn owned_sql(conn: &Connection, sql: String) -> usize {
    let _ = conn;
    sql.len()
}

#[monitor::monitor_query("not_an_argument", explain(conn = connection, sql = sql))]
fn not_an_argument(conn: &Connection, sql: &str) -> usize {
    let _ = conn;
    sql.len()
}

fn main() {}
