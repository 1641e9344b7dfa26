//! Real Prometheus, Pushgateway and promtool (Debian's `prometheus`, `prometheus-pushgateway`).
//!
//! Each server starts on a free loopback port with its data in a temp dir, is waited for until
//! `/-/ready` answers, and is killed on drop. If it cannot start, the helper panics with the
//! program's own output: a test that needs it never passes without it.

use crate::free_port;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PUSHGATEWAY: &str = "/usr/bin/prometheus-pushgateway";
const PROMTOOL: &str = "/usr/bin/promtool";

fn program(path: &str) -> &str {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: install Debian's prometheus and prometheus-pushgateway packages \
         (.ci/run does)"
    );
    path
}

fn http_get(url: &str) -> Result<String, String> {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build()
        .get(url)
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())
}

/// A child process with its log file, killed on drop.
#[derive(Debug)]
struct Server {
    child: Child,
    log: PathBuf,
    addr: String,
}

impl Server {
    fn spawn(mut cmd: Command, log: PathBuf, addr: String, what: &str) -> Server {
        let out = std::fs::File::create(&log).expect("create the server log");
        let err = out.try_clone().expect("clone the log handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let mut s = Server { child, log, addr };
        s.wait_ready(what);
        s
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{what} exited with {status} before it was ready:\n{}",
                    self.log_text()
                );
            }
            if http_get(&format!("http://{}/-/ready", self.addr)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not ready on {} after 30 s:\n{}",
                self.addr,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real Prometheus scraping one target every second.
#[derive(Debug)]
pub struct Prometheus {
    server: Server,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port`, path `/metrics`) every second.
    ///
    /// # Panics
    /// If Prometheus is not installed or does not become ready within 30 s.
    #[must_use]
    pub fn start(target: &str) -> Prometheus {
        let bin = program(PROMETHEUS);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
                 - job_name: monitor\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path());
        let server = Server::spawn(cmd, dir.path().join("prometheus.log"), addr, "prometheus");
        Prometheus { server, _dir: dir }
    }

    /// `host:port` of the HTTP API.
    #[must_use]
    pub fn addr(&self) -> &str {
        &self.server.addr
    }

    /// Runs an instant query and returns the `data.result` array.
    ///
    /// # Panics
    /// If the API does not answer or answers with an error.
    #[must_use]
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let url = format!("http://{}/api/v1/query", self.server.addr);
        let body = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(5))
            .build()
            .get(&url)
            .query("query", promql)
            .call()
            .unwrap_or_else(|e| panic!("query {promql:?}: {e}"))
            .into_string()
            .expect("query body");
        let v: serde_json::Value = serde_json::from_str(&body).expect("query answer is JSON");
        assert_eq!(v["status"], "success", "query {promql:?}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `promql` until it returns at least one sample, and returns the first sample's value.
    ///
    /// # Panics
    /// If nothing comes back within `within` (with Prometheus's log and scrape targets).
    #[must_use]
    pub fn wait_for_value(&self, promql: &str, within: Duration) -> f64 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(first) = self.query(promql).first() {
                let v = first["value"][1].as_str().expect("sample value");
                return v.parse().expect("numeric sample");
            }
            if Instant::now() > deadline {
                let targets = http_get(&format!("http://{}/api/v1/targets", self.server.addr))
                    .unwrap_or_default();
                panic!(
                    "no sample for {promql:?} within {within:?}\ntargets: {targets}\nlog:\n{}",
                    self.server.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A real Prometheus Pushgateway.
#[derive(Debug)]
pub struct Pushgateway {
    server: Server,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    /// Starts a Pushgateway on a free loopback port.
    ///
    /// # Panics
    /// If it is not installed or does not become ready within 30 s.
    #[must_use]
    pub fn start() -> Pushgateway {
        let bin = program(PUSHGATEWAY);
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path());
        let server = Server::spawn(cmd, dir.path().join("pushgateway.log"), addr, "pushgateway");
        Pushgateway { server, _dir: dir }
    }

    /// `http://host:port`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The gateway's own `/metrics` page (what Prometheus would scrape from it).
    ///
    /// # Panics
    /// If it does not answer.
    #[must_use]
    pub fn metrics(&self) -> String {
        http_get(&format!("{}/metrics", self.url())).expect("pushgateway /metrics")
    }

    /// Stops the gateway now (to test a gateway that is down).
    pub fn stop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
    }
}

fn promtool(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(program(PROMTOOL))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool: {e}"));
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("promtool stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
    }
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "promtool {args:?} failed ({}):\n{text}",
            out.status
        ))
    }
}

/// `promtool check metrics` on an exposition (piped on stdin).
///
/// # Errors
/// promtool's complaints.
pub fn check_metrics(exposition: &str) -> Result<String, String> {
    promtool(&["check", "metrics"], Some(exposition))
}

/// `promtool check rules` on a rule file's text.
///
/// # Errors
/// promtool's complaints.
pub fn check_rules(rules_yaml: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, rules_yaml).expect("write rules");
    promtool(&["check", "rules", &path.to_string_lossy()], None)
}

/// `promtool test rules`: evaluates `rules_yaml` against the input series and expected alerts of
/// `tests_yaml` (a rule unit-test file without its `rule_files` line, which this adds).
///
/// # Errors
/// promtool's complaints, including every expected alert that did not fire as written.
pub fn test_rules(rules_yaml: &str, tests_yaml: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, rules_yaml).expect("write rules");
    let tests = dir.path().join("tests.yml");
    std::fs::write(
        &tests,
        format!("rule_files:\n  - {}\n{tests_yaml}", rules.display()),
    )
    .expect("write rule tests");
    promtool(&["test", "rules", &tests.to_string_lossy()], None)
}
