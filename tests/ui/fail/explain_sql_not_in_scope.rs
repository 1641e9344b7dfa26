// `explain(sql = NAME)` where NAME is neither an argument nor a `const`/`static` in scope: the
// compiler's own error, at the name.
use sqlx::PgPool;

#[monitor::monitor_query("unknown_sql", explain(conn = pool, sql = MISSING_SQL))]
async fn unknown_sql(pool: &PgPool) -> u64 {
    let _ = pool;
    0
}

fn main() {}
