// A connection type without `ExplainPlan` is reported at `conn = ..`, saying what is supported.
#[monitor::monitor_query("q", explain(conn = conn, sql = sql))]
fn q(conn: &String, sql: &str) -> usize {
    conn.len() + sql.len()
}

fn main() {
    q(&String::new(), "select 1");
}
