//! The PostgreSQL helper starts a real server that answers queries, has `pg_stat_statements`
//! preloaded, and is gone after drop.

use monitor_test_support::postgres::PostgresServer;

#[test]
fn starts_answers_and_stops() {
    let pg = PostgresServer::start();
    let data_dir = pg.data_dir();
    let mut client = postgres::Client::connect(&pg.connection_string(), postgres::NoTls)
        .expect("connect to the test server");
    let row = client.query_one("SELECT 40 + 2", &[]).expect("query");
    assert_eq!(row.get::<_, i32>(0), 42);

    let preload: String = client
        .query_one("SHOW shared_preload_libraries", &[])
        .expect("show")
        .get(0);
    assert!(preload.contains("pg_stat_statements"), "{preload}");
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .expect("pg_stat_statements is installable");
    let n: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_statements", &[])
        .expect("the view answers")
        .get(0);
    assert!(n >= 0);

    let url_client = postgres::Client::connect(&pg.url(), postgres::NoTls);
    assert!(url_client.is_ok(), "the URL form connects too");
    drop(url_client);
    drop(client);

    let port = pg.port();
    drop(pg);
    assert!(!data_dir.exists(), "data dir removed on drop");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server stopped on drop"
    );
}
