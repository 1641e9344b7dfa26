//! Parameter values and SQL literals never reach the captured logs, the snapshot, or a run's
//! report in any format: only the SQL text with placeholders, literals as `?`.
use monitor::testing::capture;
use monitor::{monitor_query, Pipeline};
use monitor_test_support::postgres::PostgresServer;
use rusqlite::Connection;

const SECRETS: &[&str] = &[
    "ann@example.com",
    "4111-1111-1111-1111",
    "s3cr3t-token",
    "987654321",
];

#[monitor_query("sqlite_lookup", slow = "1us", explain(conn = conn, sql = sql))]
fn sqlite_lookup(conn: &Connection, sql: &str, email: &str) -> rusqlite::Result<i64> {
    conn.query_row(sql, [email], |r| r.get(0))
}

#[monitor_query("pg_lookup", slow = "1us", explain(conn = client, sql = sql, mode = "always"))]
fn pg_lookup(
    client: &mut postgres::Client,
    sql: &str,
    email: &str,
) -> Result<i64, postgres::Error> {
    Ok(client.query_one(sql, &[&email])?.get(0))
}

#[monitor_query("pg_insert")]
fn pg_insert(client: &mut postgres::Client, email: &str) -> Result<u64, postgres::Error> {
    client.execute("INSERT INTO users (email) VALUES ($1)", &[&email])
}

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}:\n{text}");
    }
}

#[test]
fn values_and_literals_stay_out_of_logs_and_reports() {
    monitor::testing::without_history();
    let pg = PostgresServer::start();
    let mut client = postgres::Client::connect(&pg.connection_string(), postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE, card text);
             INSERT INTO users (email, card) VALUES ('ann@example.com', 'on file');",
        )
        .unwrap();
    let sqlite = Connection::open_in_memory().unwrap();
    sqlite
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, card TEXT);
             INSERT INTO users (email, card) VALUES ('ann@example.com', 'on file');",
        )
        .unwrap();

    let run = Pipeline::start("redaction");
    let ((), events) = capture(|| {
        // A bound parameter and literals in the SQL text, through both databases.
        let with_literals =
            "SELECT count(*) FROM users WHERE email = ?1 AND card <> '4111-1111-1111-1111' \
                             AND id <> 987654321 /* s3cr3t-token */";
        assert_eq!(
            sqlite_lookup(&sqlite, with_literals, "ann@example.com").unwrap(),
            1
        );
        let pg_sql =
            "SELECT count(*) FROM users WHERE email = $1 AND card <> '4111-1111-1111-1111' \
                      AND id <> 987654321 -- s3cr3t-token";
        assert_eq!(
            pg_lookup(&mut client, pg_sql, "ann@example.com").unwrap(),
            1
        );
        // A failing query whose server error quotes the row (DETAIL: Key (email)=(..)).
        assert!(pg_insert(&mut client, "ann@example.com").is_err());
    });
    let report = run.finish();

    let logged: Vec<String> = events
        .iter()
        .map(|e| format!("{} {:?}", e.message, e.fields))
        .collect();
    let logged = logged.join("\n");
    assert!(logged.contains("slow query"), "{logged}");
    assert!(logged.contains("call returned an error"), "{logged}");
    assert_clean("the logs", &logged);

    let snap = serde_json::to_string(&monitor::snapshot()).unwrap();
    assert!(snap.contains("\"plans\""), "plans are in the snapshot");
    assert!(
        snap.contains("email = ?1 AND card <> ? AND id <> ?"),
        "{snap}"
    );
    assert_clean("the snapshot", &snap);
    // The statement's trailing `-- comment` does not swallow the rest of the EXPLAIN script.
    assert_eq!(
        monitor::snapshot().site("pg_lookup").unwrap().plans.len(),
        1,
        "{snap}"
    );

    // The real server's error is labelled with its client's error type, not its text (named
    // where it is defined: `postgres::Error` re-exports `tokio_postgres`'s).
    let failed = report
        .errors
        .iter()
        .find(|e| e.site == "pg_insert")
        .expect("the failing insert is in the report");
    assert_eq!(
        failed.error_type.as_deref(),
        Some("tokio_postgres::error::Error")
    );
    assert_clean("the JSON report", &report.to_json());
    assert_clean("the text report", &report.to_text());
    assert_clean("the Markdown report", &report.to_markdown());
    assert_clean("the HTML report", &report.to_html());
}
