//! `explain(..)` in an `async fn` on `tokio_postgres::Client`: every call's plan captured
//! (`mode = "always"`), with `analyze` giving actual figures for a read-only statement.
use monitor::monitor_query;
use monitor::FindingKind;
use monitor_test_support::postgres::PostgresServer;
use tokio_postgres::{Client, NoTls};

#[monitor_query("big_spenders", explain(conn = client, sql = sql, mode = "always", analyze))]
async fn big_spenders(client: &Client, sql: &str) -> Result<i64, tokio_postgres::Error> {
    Ok(client.query_one(sql, &[]).await?.get(0))
}

#[monitor_query("by_kind", explain(conn = client, sql = sql, every = 3))]
async fn by_kind(client: &Client, sql: &str, kind: &str) -> Result<i64, tokio_postgres::Error> {
    Ok(client.query_one(sql, &[&kind]).await?.get(0))
}

#[test]
fn async_client_plans() {
    let pg = PostgresServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg.connection_string(), NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(
                "CREATE TABLE orders (id bigint, customer_id int, amount numeric, kind text);
                 INSERT INTO orders SELECT g, g % 500, g % 97, 'k' || (g % 5) FROM generate_series(1, 50000) g;
                 ANALYZE orders;",
            )
            .await
            .unwrap();

        let n = big_spenders(&client, "SELECT count(*) FROM orders WHERE amount > 90")
            .await
            .unwrap();
        assert_eq!(n, (1..=50_000i64).filter(|g| g % 97 > 90).count() as i64, "the call's own result");
        // The future stays Send with the capture inside it.
        let handle = tokio::spawn({
            let client = std::sync::Arc::new(client);
            async move {
                for _ in 0..7 {
                    by_kind(&client, "SELECT count(*) FROM orders WHERE kind = $1", "k3")
                        .await
                        .unwrap();
                }
            }
        });
        handle.await.unwrap();
    });

    let snap = monitor::snapshot();
    let site = snap.site("big_spenders").unwrap();
    let p = &site.plans[0];
    assert!(p.plan.analyzed, "{}", p.plan.text);
    assert!(p.plan.text.contains("actual time="), "{}", p.plan.text);
    assert!(!p.slow);
    assert!(p
        .plan
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::FullScan
            && f.suggestion.as_deref()
                == Some("CREATE INDEX idx_orders_amount ON orders (amount);")));

    // One call in 3 of 7: calls 1, 4 and 7 captured, the same plan each time.
    let site = snap.site("by_kind").unwrap();
    assert_eq!(site.calls, 7);
    assert_eq!(site.plans.len(), 1, "{:#?}", site.plans);
    assert_eq!(site.plans[0].times_seen, 3);
    assert!(!site.plans[0].plan.analyzed, "analyze only when asked");
}
