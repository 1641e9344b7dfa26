//! A PostgreSQL history that stops answering, or is locked, or refuses the connection, never holds
//! the pipeline: every store operation has a deadline (README, "History and regressions"), after
//! which the run goes on with exactly one warning naming the store (password hidden); connect
//! errors carry their cause (refused, timeout, authentication failed), never the password.
//!
//! Each test starts a real server with the project's helper. "Stopped" means `SIGSTOP` sent to
//! the postmaster and every one of its processes: the kernel still accepts TCP connections into
//! the listen backlog and acknowledges data, so only the client's own deadlines end the wait.

mod history_support;

use history_support::sample_run;
use monitor::history::{HistoryLocation, HistorySettings, HistoryStore, PostgresStore, RunFilter};
use monitor::testing::{capture, CapturedEvent};
use monitor::{monitor_step, Pipeline, Report};
use monitor_test_support::postgres::PostgresServer;
use serial_test::serial;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The documented deadlines (README): the whole connect (TCP, startup, authentication), one
/// store operation, and a wait for a lock.
const CONNECT_DEADLINE: Duration = Duration::from_secs(5);
const OPERATION_DEADLINE: Duration = Duration::from_secs(5);
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// Scheduling slack on a shared 2-core machine.
const SLACK: Duration = Duration::from_secs(3);

const PASSWORD: &str = "s3cret-horse-staple";

#[monitor_step(rows)]
fn load_orders(n: usize) -> Vec<u32> {
    (0..n as u32).collect()
}

/// Runs `f` on its own thread and returns its result, or fails the test if it takes longer than
/// `limit` (the old code hung forever here; the stuck thread is left behind).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("still waiting after {limit:?}: the history store hung the caller"),
    }
}

/// Every process of the server stopped with `SIGSTOP`; continued again on drop (also when the
/// test fails), so the helper can stop the server.
struct Stopped {
    pids: Vec<libc::pid_t>,
}

impl Stopped {
    fn stop(server: &PostgresServer) -> Stopped {
        let pid_file = std::fs::read_to_string(server.data_dir().join("postmaster.pid"))
            .expect("read postmaster.pid");
        let postmaster: libc::pid_t = pid_file
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("postmaster.pid starts with the pid");
        // The postmaster first, so it forks no new process while its children are stopped.
        send(postmaster, libc::SIGSTOP);
        let mut pids = vec![postmaster];
        for child in children_of(postmaster) {
            send(child, libc::SIGSTOP);
            pids.push(child);
        }
        assert!(pids.len() > 1, "the server has its background processes");
        Stopped { pids }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for pid in self.pids.iter().rev() {
            // SAFETY: sending a signal has no memory-safety preconditions.
            unsafe { libc::kill(*pid, libc::SIGCONT) };
        }
    }
}

fn send(pid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: as above.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// The pids whose parent is `parent` (from `/proc/<pid>/stat`).
fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: the command may hold spaces and parentheses.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn url_with_password(server: &PostgresServer, query: &str) -> String {
    format!(
        "postgresql://monitor:{PASSWORD}@127.0.0.1:{}/postgres{query}",
        server.port()
    )
}

/// Runs a small pipeline recording into `url`; returns the report, the `warn` events and how
/// long the whole run took. Fails the test if the run does not finish within `limit`.
fn run_recording_into(url: &str, limit: Duration) -> (Report, Vec<CapturedEvent>, Duration) {
    HistorySettings::builder()
        .location(HistoryLocation::parse(url).unwrap())
        .record(true)
        .install();
    let started = Instant::now();
    let (report, events) = within(limit, || {
        capture(|| {
            let run = Pipeline::start("stalled_history");
            assert_eq!(load_orders(100).len(), 100);
            run.finish()
        })
    });
    let took = started.elapsed();
    let warnings = events
        .into_iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    (report, warnings, took)
}

fn assert_one_warning_names_the_store(
    warnings: &[CapturedEvent],
    server: &PostgresServer,
) -> String {
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let store = format!(
        "PostgreSQL history postgresql://monitor:***@127.0.0.1:{}/postgres",
        server.port()
    );
    assert_eq!(warnings[0].str("store"), Some(store.as_str()));
    let msg = warnings[0].message.clone();
    assert!(
        msg.starts_with(&format!("run history not updated: {store}: cannot ")),
        "{msg}"
    );
    assert!(!msg.contains(PASSWORD), "{msg}");
    msg
}

#[test]
#[serial]
fn a_stopped_server_does_not_hang_the_run() {
    let server = PostgresServer::start();
    // A history used before: the table exists.
    PostgresStore::connect(&server.url()).unwrap();
    let url = url_with_password(&server, "");
    let stopped = Stopped::stop(&server);

    let (report, warnings, took) = run_recording_into(&url, CONNECT_DEADLINE + SLACK + SLACK);
    assert!(
        took < CONNECT_DEADLINE + SLACK,
        "the run took {took:?}, past the connect deadline"
    );
    assert_eq!(report.status, monitor::report::RunStatus::Ok);
    assert_eq!(report.step("load_orders").unwrap().site.rows, Some(100));
    let msg = assert_one_warning_names_the_store(&warnings, &server);
    assert!(
        msg.ends_with("cannot connect: the server did not answer within 5 s"),
        "{msg}"
    );

    drop(stopped);
    // The server itself is fine once continued: nothing was recorded, nothing broken.
    let mut store = PostgresStore::connect(&server.url()).unwrap();
    assert!(store.load(&RunFilter::all()).unwrap().runs.is_empty());
}

#[test]
#[serial]
fn a_server_stopped_mid_session_is_given_up_on_at_the_deadline() {
    let server = PostgresServer::start();
    let mut store = PostgresStore::connect(&url_with_password(&server, "")).unwrap();
    store.append(&sample_run("nightly", 0)).unwrap();
    let stopped = Stopped::stop(&server);

    let started = Instant::now();
    let (result, mut store) = within(OPERATION_DEADLINE + SLACK + SLACK, move || {
        (store.append(&sample_run("nightly", 1)), store)
    });
    let took = started.elapsed();
    let err = result.unwrap_err();
    assert!(took < OPERATION_DEADLINE + SLACK, "append took {took:?}");
    let msg = err.to_string();
    assert!(
        msg.ends_with("cannot append a run: the server did not answer within 5 s"),
        "{msg}"
    );
    assert!(!msg.contains(PASSWORD), "{msg}");

    // The store gave up: the next operation fails at once, saying why, instead of waiting again.
    let started = Instant::now();
    let err = store.load(&RunFilter::all()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        err.to_string().ends_with(
            "cannot read the history: not tried: the store already failed to append a run: \
             the server did not answer within 5 s"
        ),
        "{err}"
    );
    drop(stopped);
}

#[test]
#[serial]
fn a_locked_table_does_not_stall_a_write_past_the_lock_timeout() {
    let server = PostgresServer::start();
    let url = url_with_password(&server, "");
    let mut store = PostgresStore::connect(&url).unwrap();
    store.append(&sample_run("nightly", 0)).unwrap();

    // Another session holds the strongest lock on the table in an open transaction.
    let mut other =
        postgres::Client::connect(&server.connection_string(), postgres::NoTls).unwrap();
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("LOCK TABLE monitor_runs IN ACCESS EXCLUSIVE MODE")
        .unwrap();

    // A write gives up after the lock timeout with the server's own reason.
    let started = Instant::now();
    let result = within(LOCK_TIMEOUT + SLACK + SLACK, move || {
        store.append(&sample_run("nightly", 1))
    });
    let took = started.elapsed();
    let msg = result.unwrap_err().to_string();
    assert!(took < LOCK_TIMEOUT + SLACK, "append took {took:?}");
    assert!(
        msg.contains("cannot append a run: ERROR: canceling statement due to lock timeout"),
        "{msg}"
    );

    // A whole run: one warning naming the store, and the run is not held past the lock timeout.
    let (report, warnings, took) = run_recording_into(&url, LOCK_TIMEOUT + SLACK + SLACK);
    assert!(took < LOCK_TIMEOUT + SLACK, "the run took {took:?}");
    assert_eq!(report.status, monitor::report::RunStatus::Ok);
    let msg = assert_one_warning_names_the_store(&warnings, &server);
    assert!(msg.contains("lock timeout"), "{msg}");

    tx.rollback().unwrap();
    // Once the lock is gone the same history takes writes again.
    let mut store = PostgresStore::connect(&url).unwrap();
    store.append(&sample_run("nightly", 2)).unwrap();
    assert_eq!(store.load(&RunFilter::all()).unwrap().runs.len(), 2);
}

#[test]
#[serial]
fn connect_errors_show_their_cause_never_the_password() {
    // Refused: nothing listens on the port.
    let port = monitor_test_support::free_port();
    let url = format!("postgresql://monitor:{PASSWORD}@127.0.0.1:{port}/db");
    let msg = PostgresStore::connect(&url).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!(
            "PostgreSQL history postgresql://monitor:***@127.0.0.1:{port}/db: cannot connect: "
        )),
        "{msg}"
    );
    assert!(msg.contains("Connection refused"), "{msg}");
    assert!(!msg.contains(PASSWORD), "{msg}");

    // Authentication failed: a role with a password, and password authentication for it.
    let server = PostgresServer::start();
    let mut admin =
        postgres::Client::connect(&server.connection_string(), postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "SET password_encryption = 'scram-sha-256';
             CREATE ROLE app LOGIN PASSWORD '{PASSWORD}';
             GRANT CREATE ON SCHEMA public TO app;"
        ))
        .unwrap();
    let hba = server.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("host all app 127.0.0.1/32 scram-sha-256\n{rules}"),
    )
    .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let wrong = "wrong-battery-staple";
    let url = format!(
        "postgresql://app:{wrong}@127.0.0.1:{}/postgres",
        server.port()
    );
    // The reload is asynchronous: wait until the rule is in force.
    let deadline = Instant::now() + Duration::from_secs(10);
    let msg = loop {
        let msg = PostgresStore::connect(&url).unwrap_err().to_string();
        if msg.contains("authentication") || Instant::now() > deadline {
            break msg;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        msg.starts_with(&format!(
            "PostgreSQL history postgresql://app:***@127.0.0.1:{}/postgres: cannot connect: ",
            server.port()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("password authentication failed for user \"app\""),
        "{msg}"
    );
    assert!(!msg.contains(wrong), "{msg}");
    // The right password gets in (the failure above was the password, nothing else).
    PostgresStore::connect(&format!(
        "postgresql://app:{PASSWORD}@127.0.0.1:{}/postgres",
        server.port()
    ))
    .unwrap();

    // Timeout: the server accepts the TCP connection but never answers the startup; the URL's
    // own connect_timeout bounds the whole connect.
    let stopped = Stopped::stop(&server);
    let url = format!(
        "postgresql://app:{PASSWORD}@127.0.0.1:{}/postgres?connect_timeout=1",
        server.port()
    );
    let started = Instant::now();
    let result = within(Duration::from_secs(1) + SLACK + SLACK, move || {
        PostgresStore::connect(&url).map(|_| ())
    });
    assert!(started.elapsed() < Duration::from_secs(1) + SLACK);
    let msg = result.unwrap_err().to_string();
    assert!(
        msg.ends_with("cannot connect: the server did not answer within 1 s"),
        "{msg}"
    );
    assert!(!msg.contains(PASSWORD), "{msg}");
    drop(stopped);
}
