//! Through sqlx, on SQLite, PostgreSQL and MariaDB: a bound value and the literals in the SQL text
//! (a string, a number, a comment) never reach the captured events, the plans, the snapshot, a
//! run's report in any format, or the history file; nor does a value the server quotes in an
//! error (MariaDB's `Duplicate entry '..'`).
use monitor::history::HistorySettings;
use monitor::testing::capture_async;
use monitor::{monitor_query, Pipeline};
use monitor_test_support::mariadb::MariadbServer;
use monitor_test_support::postgres::PostgresServer;
use sqlx::{MySqlPool, PgPool, SqlitePool};

const SECRETS: &[&str] = &[
    "ann@example.com",
    "4111-1111-1111-1111",
    "s3cr3t-token",
    "987654321",
];

const SQLITE_SQL: &str = "SELECT count(*) FROM users WHERE email = ?1 \
                          AND card <> '4111-1111-1111-1111' AND id <> 987654321 /* s3cr3t-token */";
const PG_SQL: &str = "SELECT count(*) FROM users WHERE email = $1 \
                      AND card <> '4111-1111-1111-1111' AND id <> 987654321 -- s3cr3t-token";
const MARIA_SQL: &str = "SELECT count(*) FROM users WHERE email = ? \
                         AND card <> '4111-1111-1111-1111' AND id <> 987654321 /* s3cr3t-token */";
const MARIA_LITERAL_SQL: &str = "SELECT count(*) FROM users WHERE email = 'ann@example.com' \
                                 AND card <> '4111-1111-1111-1111' AND id <> 987654321";

#[monitor_query("sqlite_secret", slow = "1us", explain(conn = pool, sql = SQLITE_SQL))]
async fn sqlite_lookup(pool: &SqlitePool, email: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(SQLITE_SQL)
        .bind(email)
        .fetch_one(pool)
        .await
}

#[monitor_query("pg_secret", slow = "1us", explain(conn = pool, sql = PG_SQL, mode = "always"))]
async fn pg_lookup(pool: &PgPool, email: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(PG_SQL).bind(email).fetch_one(pool).await
}

#[monitor_query("maria_secret", slow = "1us", explain(conn = pool, sql = MARIA_SQL))]
async fn maria_lookup(pool: &MySqlPool, email: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(MARIA_SQL)
        .bind(email)
        .fetch_one(pool)
        .await
}

#[monitor_query("maria_literals", slow = "1us", explain(conn = pool, sql = MARIA_LITERAL_SQL, analyze))]
async fn maria_literals(pool: &MySqlPool) -> sqlx::Result<i64> {
    sqlx::query_scalar(MARIA_LITERAL_SQL).fetch_one(pool).await
}

const INSERT_SQL: &str = "INSERT INTO users (id, email, card) VALUES (2, ?, 'x')";

#[monitor_query("maria_duplicate", explain(conn = pool, sql = INSERT_SQL, mode = "always"))]
async fn maria_insert(pool: &MySqlPool, email: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(INSERT_SQL)
        .bind(email)
        .execute(pool)
        .await?
        .rows_affected())
}

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_and_literals_stay_out_of_events_plans_reports_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    HistorySettings::builder()
        .path(&history)
        .record(true)
        .install();

    let sqlite = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("users.db"))
                .create_if_missing(true),
        )
        .await
        .unwrap();
    let pg_server = PostgresServer::start();
    let pg = PgPool::connect(&pg_server.url()).await.unwrap();
    let maria_server = MariadbServer::start();
    let maria = MySqlPool::connect(&maria_server.url()).await.unwrap();
    let seed =
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) UNIQUE, card VARCHAR(40));
                INSERT INTO users (id, email, card) VALUES (1, 'ann@example.com', 'on file');";
    sqlx::raw_sql(seed).execute(&sqlite).await.unwrap();
    sqlx::raw_sql(seed).execute(&pg).await.unwrap();
    sqlx::raw_sql(seed).execute(&maria).await.unwrap();

    let run = Pipeline::start("sqlx_redaction");
    let ((), events) = capture_async(async {
        assert_eq!(sqlite_lookup(&sqlite, "ann@example.com").await.unwrap(), 1);
        assert_eq!(pg_lookup(&pg, "ann@example.com").await.unwrap(), 1);
        assert_eq!(maria_lookup(&maria, "ann@example.com").await.unwrap(), 1);
        assert_eq!(maria_literals(&maria).await.unwrap(), 1);
        // The server quotes the value in its error: `Duplicate entry 'ann@example.com' ..`.
        let e = maria_insert(&maria, "ann@example.com").await.unwrap_err();
        assert!(e.to_string().contains("Duplicate entry"), "{e}");
    })
    .await;
    let report = run.finish();

    // monitor's own events (sqlx logs every statement it sends under its own target, the
    // captures' EXPLAIN included, as it logs the caller's query: see the README).
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.target == "monitor")
        .collect();
    let logged: Vec<String> = events
        .iter()
        .map(|e| format!("{} {:?}", e.message, e.fields))
        .collect();
    let logged = logged.join("\n");
    for site in [
        "sqlite_secret",
        "pg_secret",
        "maria_secret",
        "maria_literals",
    ] {
        assert!(
            events.iter().any(|e| e.message == "slow query"
                && e.str("name") == Some(site)
                && e.str("plan").is_some()),
            "{site}: a slow-query warning with its plan:\n{logged}"
        );
    }
    assert!(logged.contains("call returned an error"), "{logged}");
    assert!(logged.contains("Duplicate entry"), "{logged}");
    assert_clean("the events", &logged);

    let snap = monitor::snapshot();
    let json = serde_json::to_string(&snap).unwrap();
    for site in [
        "sqlite_secret",
        "pg_secret",
        "maria_secret",
        "maria_literals",
    ] {
        let s = snap.site(site).unwrap();
        assert_eq!(s.plans.len(), 1, "{site}: {:#?}", s.plans);
        assert_clean(site, &serde_json::to_string(&s.plans).unwrap());
    }
    assert!(
        snap.site("maria_literals").unwrap().plans[0].plan.analyzed,
        "MariaDB ANALYZE ran (and its figures are redacted too)"
    );
    assert_clean("the snapshot", &json);
    assert_clean("the JSON report", &report.to_json());
    assert_clean("the text report", &report.to_text());
    assert_clean("the Markdown report", &report.to_markdown());
    assert_clean("the HTML report", &report.to_html());
    let recorded = std::fs::read_to_string(&history).expect("the run was recorded");
    assert!(recorded.contains("sqlx_redaction"), "{recorded}");
    assert_clean("the history", &recorded);
}
