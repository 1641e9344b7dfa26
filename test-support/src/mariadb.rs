//! A real MariaDB server for tests: `mariadb-install-db` in a temp dir, `mariadbd` on a free
//! loopback port with a database named [`DATABASE`], killed and removed on drop.
//!
//! `mariadbd` refuses to run as root. When the tests run as root (CI containers do), the data
//! directory belongs to the unprivileged user `nobody` and both programs are given
//! `--user=nobody`, so the server drops to that user itself (and stays the child this helper
//! kills).
//!
//! ```no_run
//! let db = monitor_test_support::mariadb::MariadbServer::start();
//! let url = db.url(); // mysql://root@127.0.0.1:<port>/monitor, for sqlx's MySqlPool
//! ```
//!
//! The programs are looked up in `MONITOR_MARIADB_BIN` if set (a directory holding `mariadbd` and
//! `mariadb-install-db`), then in `/usr/sbin` and `/usr/bin` (Debian's `mariadb-server`), then on
//! `PATH`. Only MariaDB is started here: Debian ships no MySQL server.

use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::process::{chown_to, output_text, run, running_as_root};

/// The unprivileged user the server runs as when the tests run as root.
const SERVER_USER: &str = "nobody";
/// The database user (`root` without a password, on loopback only).
pub const USER: &str = "root";
/// The database the server starts with.
pub const DATABASE: &str = "monitor";

/// A running MariaDB server, killed and deleted on drop.
#[derive(Debug)]
pub struct MariadbServer {
    dir: tempfile::TempDir,
    server: PathBuf,
    client: PathBuf,
    port: u16,
    child: Option<Child>,
    as_user: Option<&'static str>,
}

impl MariadbServer {
    /// Creates a data directory in a temp dir, starts `mariadbd` on a free loopback port, waits
    /// until it accepts connections and creates [`DATABASE`].
    ///
    /// # Panics
    /// If the programs are missing or the server cannot be initialised or started; the message
    /// says which step failed and includes the server's own output.
    #[must_use]
    pub fn start() -> MariadbServer {
        let (server, install, client) = find_programs().unwrap_or_else(|| {
            panic!(
                "MariaDB test server: no `mariadbd` and `mariadb-install-db` found (looked in \
                 $MONITOR_MARIADB_BIN, /usr/sbin, /usr/bin and PATH); install Debian's \
                 `mariadb-server` package (`scripts/test` does)"
            )
        });
        let as_user = running_as_root().then_some(SERVER_USER);
        let dir = tempfile::Builder::new()
            .prefix("monitor-mariadb-")
            .tempdir()
            .unwrap_or_else(|e| panic!("MariaDB test server: cannot create a temp dir: {e}"));
        if let Some(user) = as_user {
            chown_to("MariaDB", dir.path(), user);
        }
        let data = dir.path().join("data");
        let mut args = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=normal".to_owned(),
            "--skip-test-db".to_owned(),
            "--skip-name-resolve".to_owned(),
        ];
        args.extend(small_and_fast().iter().map(|s| (*s).to_owned()));
        if let Some(user) = as_user {
            args.push(format!("--user={user}"));
        }
        let out = run("MariaDB", None, &install, &args);
        if !out.status.success() {
            panic!(
                "MariaDB test server: mariadb-install-db failed in {}:\n{}",
                data.display(),
                output_text(&out)
            );
        }
        let mut db = MariadbServer {
            dir,
            server,
            client,
            port: 0,
            child: None,
            as_user,
        };
        // A port can be taken between choosing it and the server binding it: try a few.
        let mut last_failure = String::new();
        for _ in 0..3 {
            db.port = crate::free_port();
            match db.try_start() {
                Ok(()) => {
                    db.create_database();
                    return db;
                }
                Err(why) => last_failure = why,
            }
        }
        let kept = db.dir.path().to_path_buf();
        db.stop();
        std::mem::forget(db);
        panic!(
            "MariaDB test server: could not start (data dir kept at {}):\n{last_failure}",
            kept.display()
        );
    }

    fn try_start(&mut self) -> Result<(), String> {
        let d = self.dir.path();
        let log = d.join(format!("server-{}.log", self.port));
        let mut args = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", d.join("data").display()),
            format!("--port={}", self.port),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--socket={}", d.join("mariadbd.sock").display()),
            format!("--pid-file={}", d.join("mariadbd.pid").display()),
            format!("--log-error={}", log.display()),
            format!("--tmpdir={}", d.display()),
            "--skip-name-resolve".to_owned(),
            "--skip-log-bin".to_owned(),
            "--max-connections=50".to_owned(),
        ];
        args.extend(small_and_fast().iter().map(|s| (*s).to_owned()));
        if let Some(user) = self.as_user {
            args.push(format!("--user={user}"));
        }
        let child = Command::new(&self.server)
            .args(&args)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.server.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!(
                    "mariadbd exited with {status}:\n--- {} ---\n{}",
                    log.display(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            if self.answers() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut why = String::from("mariadbd did not accept connections within 60 s");
        let _ = write!(
            why,
            "\n--- {} ---\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.stop();
        Err(why)
    }

    /// Whether a client can log in and run a statement.
    fn answers(&self) -> bool {
        if TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(200),
        )
        .is_err()
        {
            return false;
        }
        self.sql("SELECT 1").status.success()
    }

    fn create_database(&self) {
        let out = self.sql(&format!("CREATE DATABASE IF NOT EXISTS {DATABASE}"));
        if !out.status.success() {
            panic!(
                "MariaDB test server: cannot create database {DATABASE}:\n{}",
                output_text(&out)
            );
        }
    }

    /// Runs SQL through the `mariadb` command line client (as `root`, on loopback).
    ///
    /// # Panics
    /// If the client cannot be run.
    #[must_use]
    pub fn sql(&self, statement: &str) -> Output {
        Command::new(&self.client)
            .args([
                "--no-defaults",
                "--protocol=TCP",
                "-h",
                "127.0.0.1",
                "-u",
                USER,
            ])
            .arg(format!("--port={}", self.port))
            .args(["--connect-timeout=2", "-e", statement])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "MariaDB test server: cannot run {}: {e}",
                    self.client.display()
                )
            })
    }

    /// The loopback port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:<port>/monitor`, for sqlx's `MySqlPool` and `MySqlConnection`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("mysql://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The server itself (it dropped to `nobody` on its own): nothing else to stop.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        self.stop();
        // The temp dir removes itself (root may delete files owned by `nobody`).
    }
}

/// Server options for a throwaway test server: small files, no fsync.
fn small_and_fast() -> &'static [&'static str] {
    &[
        "--innodb-buffer-pool-size=32M",
        "--innodb-log-file-size=8M",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--innodb-flush-method=nosync",
    ]
}

/// `(mariadbd, mariadb-install-db, mariadb)`.
fn find_programs() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("MONITOR_MARIADB_BIN") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push("/usr/sbin".into());
    dirs.push("/usr/bin".into());
    if let Some(paths) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&paths));
    }
    let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    Some((
        find("mariadbd")?,
        find("mariadb-install-db")?,
        find("mariadb")?,
    ))
}
