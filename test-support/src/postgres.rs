//! A real PostgreSQL server for tests: `initdb` in a temp dir, `postgres` on a free loopback port
//! with `pg_stat_statements` preloaded, stopped (`pg_ctl stop -m immediate`) and removed on drop.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI containers do), every server
//! command runs as the unprivileged user `nobody` through `runuser`, in a temp dir that user owns.
//!
//! ```no_run
//! let pg = monitor_test_support::postgres::PostgresServer::start();
//! let mut client = postgres::Client::connect(&pg.connection_string(), postgres::NoTls).unwrap();
//! ```
//!
//! The binaries are looked up in `MONITOR_PG_BIN` if set, then in the newest
//! `/usr/lib/postgresql/<version>/bin` (Debian's layout), then on `PATH`.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{chown_to, output_text, run, running_as_root};

/// The unprivileged user the server runs as when the tests run as root.
const SERVER_USER: &str = "nobody";
/// The database superuser `initdb` creates (trust authentication on loopback only).
pub const USER: &str = "monitor";
/// The database the server starts with.
pub const DATABASE: &str = "postgres";

/// A running PostgreSQL server, stopped and deleted on drop.
#[derive(Debug)]
pub struct PostgresServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_user: Option<&'static str>,
}

impl PostgresServer {
    /// Creates a cluster in a temp dir and starts it on a free loopback port.
    ///
    /// # Panics
    /// If the binaries are missing or the server cannot be initialised or started; the message
    /// says which step failed and includes the server's own output.
    #[must_use]
    pub fn start() -> PostgresServer {
        let bin = find_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL test server: no `initdb` found (looked in $MONITOR_PG_BIN, \
                 /usr/lib/postgresql/*/bin and PATH); install Debian's `postgresql` package \
                 (`.ci/run` does)"
            )
        });
        let as_user = running_as_root().then_some(SERVER_USER);
        let dir = tempfile::Builder::new()
            .prefix("monitor-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("PostgreSQL test server: cannot create a temp dir: {e}"));
        if let Some(user) = as_user {
            chown_to("PostgreSQL", dir.path(), user);
        }
        let data = dir.path().join("data");
        let initdb = run(
            "PostgreSQL",
            as_user,
            &bin.join("initdb"),
            &[
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-U"),
                OsStr::new(USER),
                OsStr::new("--auth=trust"),
                OsStr::new("--encoding=UTF8"),
                OsStr::new("--no-locale"),
                OsStr::new("--no-sync"),
            ],
        );
        if !initdb.status.success() {
            panic!(
                "PostgreSQL test server: initdb failed in {}:\n{}",
                data.display(),
                output_text(&initdb)
            );
        }
        let mut server = PostgresServer {
            dir,
            bin,
            port: 0,
            as_user,
        };
        // A port can be taken between choosing it and the server binding it: try a few.
        let mut last_failure = String::new();
        for _ in 0..3 {
            server.port = crate::free_port();
            match server.try_start() {
                Ok(()) => return server,
                Err(why) => last_failure = why,
            }
        }
        // Keep the directory for a post-mortem.
        let kept = server.dir.path().to_path_buf();
        std::mem::forget(server);
        panic!(
            "PostgreSQL test server: could not start (data dir kept at {}):\n{last_failure}",
            kept.display()
        );
    }

    fn try_start(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{sock}' \
             -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c max_connections=20 -c shared_buffers=32MB",
            port = self.port,
            sock = self.dir.path().display(),
        );
        let out = run(
            "PostgreSQL",
            self.as_user,
            &self.bin.join("pg_ctl"),
            &[
                OsStr::new("start"),
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-l"),
                log.as_os_str(),
                OsStr::new("-o"),
                OsStr::new(&options),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new("60"),
            ],
        );
        if out.status.success() && self.accepts_connections(Duration::from_secs(30)) {
            return Ok(());
        }
        let mut why = output_text(&out);
        let _ = write!(
            why,
            "\n--- server.log ---\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.stop();
        Err(why)
    }

    fn accepts_connections(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                .output()
                .is_ok_and(|o| o.status.success());
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The loopback port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq-style connection string (`host=127.0.0.1 port=.. user=monitor dbname=postgres`),
    /// accepted by `postgres::Client::connect` and `tokio_postgres::connect`.
    #[must_use]
    pub fn connection_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user={USER} dbname={DATABASE} connect_timeout=10",
            self.port
        )
    }

    /// The same as a URL: `postgresql://monitor@127.0.0.1:<port>/postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgresql://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The cluster's data directory.
    #[must_use]
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn stop(&self) {
        let data = self.data_dir();
        let _ = run(
            "PostgreSQL",
            self.as_user,
            &self.bin.join("pg_ctl"),
            &[
                OsStr::new("stop"),
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-m"),
                OsStr::new("immediate"),
                OsStr::new("-w"),
            ],
        );
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        // The temp dir removes itself (root may delete files owned by `nobody`).
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MONITOR_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").exists().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}
