// Steps and queries that name the datasets they read and write: the names sit in the call
// site's static metadata, and the functions behave as before.
#[monitor::monitor_step(rows, inputs = "file:/data/orders.csv", outputs = "sqlite://shop.sqlite/fact_orders")]
fn load(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

#[monitor::monitor_query(
    "top_customers",
    inputs = "postgres://db:5432/shop.public.orders, postgres://db:5432/shop.public.customers",
    outputs = "s3://reports/top.csv"
)]
async fn top(n: u32) -> Result<u32, String> {
    Ok(n)
}

fn main() {
    assert_eq!(load(3).len(), 3);
    let _ = top(1);
}
