//! Shared by the OpenLineage tests: a receiver (a real HTTP server on a free loopback port that
//! keeps every request), endpoints that fail (one that accepts and never answers, a closed
//! port), and the validator: the official OpenLineage Python client and the spec's JSON schemas
//! (`tests/openlineage/validate.py`), in a virtual environment this installs when it is missing.
#![allow(dead_code)] // each test file uses part of it

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Received {
    pub fn event(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("a request body is not JSON ({e}): {}", self.body))
    }
}

/// An HTTP server on 127.0.0.1 (a free port) answering every request with `status`.
pub struct Receiver {
    pub base: String,
    server: Arc<tiny_http::Server>,
    got: Arc<Mutex<Vec<Received>>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start(status: u16) -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the receiver"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (Arc::clone(&server), Arc::clone(&got));
        let thread = std::thread::spawn(move || {
            while let Ok(mut req) = s.recv() {
                let header = |name: &'static str| {
                    req.headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.as_str().to_owned())
                };
                let (authorization, content_type) =
                    (header("Authorization"), header("Content-Type"));
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                g.lock().unwrap().push(Received {
                    method: req.method().to_string(),
                    path: req.url().to_owned(),
                    authorization,
                    content_type,
                    body,
                });
                let _ = req.respond(tiny_http::Response::empty(status));
            }
        });
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            server,
            got,
            thread: Some(thread),
        }
    }

    /// Every request so far, in the order they arrived.
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.requests().iter().map(Received::event).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A listener on a free loopback port that accepts connections and never answers (nor reads).
pub struct Silent {
    pub base: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Silent {
            base: format!("http://127.0.0.1:{port}"),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback URL where nothing listens (the port was bound, then closed).
pub fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// The validator's Python, installed by `tests/openlineage/install.sh` when missing. Fails the
/// test, loudly, when it cannot be installed: nothing is skipped.
fn validator_python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openlineage-venv");
        let out = Command::new("bash")
            .arg(root.join("tests/openlineage/install.sh"))
            .arg(&venv)
            .output()
            .expect("run tests/openlineage/install.sh");
        assert!(
            out.status.success(),
            "cannot install the OpenLineage validator (openlineage-python and jsonschema, pinned in \
             tests/openlineage/requirements.txt) into {}: the OpenLineage tests need it and skip \
             nothing. Run `bash tests/openlineage/install.sh {}` (needs python3 with venv and the \
             Python package index), or scripts/test.\n{}{}",
            venv.display(),
            venv.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        venv.join("bin/python")
    })
}

/// Validates every event with the official OpenLineage Python client and the spec's schemas;
/// fails the test with the validator's findings.
pub fn validate(events: &[serde_json::Value]) {
    if let Err(findings) = try_validate(events) {
        panic!("the OpenLineage validator refused the events:\n{findings}");
    }
}

/// [`validate`], returning the validator's findings instead of failing.
pub fn try_validate(events: &[serde_json::Value]) -> Result<(), String> {
    assert!(!events.is_empty(), "no events to validate");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for e in events {
        use std::io::Write;
        writeln!(file, "{}", serde_json::to_string(e).unwrap()).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openlineage/validate.py");
    let out = Command::new(validator_python())
        .arg(script)
        .arg(file.path())
        .output()
        .expect("run the OpenLineage validator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.contains(&format!("{} events valid", events.len())) {
        Ok(())
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The events whose job is `name`.
pub fn of_job<'a>(events: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["job"]["name"] == name).collect()
}
