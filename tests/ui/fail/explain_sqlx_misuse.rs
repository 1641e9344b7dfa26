// `explain(..)` misuse in async code: a pool taken by value, and a `&mut` connection type that
// cannot explain (reported at `conn = ..`, naming what is supported).
use sqlx::PgPool;

const SQL: &str = "SELECT 1";

#[monitor::monitor_query("owned_pool", explain(conn = pool, sql = SQL))]
async fn owned_pool(pool: PgPool) -> u64 {
    drop(pool);
    0
}

#[monitor::monitor_query("not_a_connection", explain(conn = conn, sql = SQL))]
async fn not_a_connection(conn: &mut String) -> usize {
    conn.len()
}

fn main() {}
