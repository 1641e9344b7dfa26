//! DogStatsD: datagrams captured on a UDP socket parse strictly, carry the right tags, and carry
//! deltas; the interval thread flushes and stops cleanly; an unresolvable host is one warning.

use monitor::export::dogstatsd::{DogStatsD, MAX_DATAGRAM};
use monitor::export::{self, RunHook, RunSummary};
use monitor::testing::capture;
use monitor::{monitor_query, monitor_step};
use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[monitor_step(name = "dd_load", rows)]
fn dd_load(n: usize) -> Vec<u8> {
    vec![1; n]
}

#[monitor_query("dd,lookup|odd:name")]
fn dd_lookup() -> Result<(), String> {
    Err("no such row: id=42".into())
}

#[monitor_step]
fn dd_interval() {}

#[monitor_step]
fn dd_unresolved() {}

/// One parsed DogStatsD line: `name:value|type[|#k:v,...]`.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    name: String,
    value: f64,
    kind: String,
    tags: BTreeMap<String, String>,
}

/// Parses a line strictly: anything unexpected is an error naming the line.
fn parse_line(l: &str) -> Result<Line, String> {
    let err = |why: &str| format!("{why}: {l:?}");
    let mut parts = l.split('|');
    let (name, value) = parts
        .next()
        .and_then(|p| p.split_once(':'))
        .ok_or_else(|| err("no name:value"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Err(err("bad metric name"));
    }
    let value: f64 = value.parse().map_err(|_| err("value is not a number"))?;
    if !value.is_finite() {
        return Err(err("value not finite"));
    }
    let kind = parts.next().ok_or_else(|| err("no type"))?;
    if !matches!(kind, "c" | "g") {
        return Err(err("type is neither c nor g"));
    }
    let mut tags = BTreeMap::new();
    if let Some(t) = parts.next() {
        let t = t
            .strip_prefix('#')
            .ok_or_else(|| err("third field is not tags"))?;
        for tag in t.split(',') {
            // The first `:` separates key and value; Datadog allows more in the value.
            let (k, v) = tag.split_once(':').ok_or_else(|| err("tag without ':'"))?;
            if k.is_empty()
                || v.is_empty()
                || v.contains(char::is_whitespace)
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(err("malformed tag"));
            }
            tags.insert(k.to_owned(), v.to_owned());
        }
    }
    if parts.next().is_some() {
        return Err(err("trailing fields"));
    }
    Ok(Line {
        name: name.to_owned(),
        value,
        kind: kind.to_owned(),
        tags,
    })
}

/// Everything that arrives until the socket is quiet for 300 ms (or 2 s have passed: an interval
/// exporter never goes quiet).
fn receive_all(socket: &UdpSocket) -> Vec<Line> {
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 65_536];
    let mut lines = Vec::new();
    let started = Instant::now();
    while let (Ok(n), true) = (
        socket.recv(&mut buf),
        started.elapsed() < Duration::from_secs(2),
    ) {
        assert!(n <= MAX_DATAGRAM, "datagram of {n} bytes");
        let text = std::str::from_utf8(&buf[..n]).expect("UTF-8 datagram");
        for l in text.split('\n') {
            lines.push(parse_line(l).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    lines
}

fn find<'a>(lines: &'a [Line], name: &str, site: &str) -> Option<&'a Line> {
    lines
        .iter()
        .find(|l| l.name == name && l.tags.get("name").map(String::as_str) == Some(site))
}

#[test]
fn datagrams_parse_strictly_carry_tags_and_send_deltas() {
    export::set_pipeline_name("dd_pipeline");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = DogStatsD::new(&socket.local_addr().unwrap().to_string());
    for _ in 0..3 {
        dd_load(4);
    }
    let _ = dd_lookup();
    client.flush();
    let first = receive_all(&socket);

    let calls = find(&first, "monitor.calls", "dd_load").expect("calls line");
    assert_eq!((calls.value, calls.kind.as_str()), (3.0, "c"));
    assert_eq!(
        calls.tags.get("pipeline").map(String::as_str),
        Some("dd_pipeline")
    );
    assert_eq!(calls.tags.get("kind").map(String::as_str), Some("step"));
    assert_eq!(find(&first, "monitor.rows", "dd_load").unwrap().value, 12.0);
    // Characters that would break the datagram are replaced in tag values.
    let errors = find(&first, "monitor.errors", "dd_lookup_odd:name").expect("sanitised name");
    assert_eq!(errors.value, 1.0);
    // Tagged with the error's type, never its message.
    assert_eq!(
        errors.tags.get("error_type").map(String::as_str),
        Some("alloc::string::String")
    );
    assert!(find(&first, "monitor.call.duration.p95", "dd_load").is_some_and(|l| l.kind == "g"));
    // The error's message is nowhere.
    assert!(first
        .iter()
        .all(|l| l.tags.values().all(|v| !v.contains("no such row"))));

    // Second flush: only what changed since.
    dd_load(1);
    dd_load(1);
    client.flush();
    let second = receive_all(&socket);
    assert_eq!(
        find(&second, "monitor.calls", "dd_load").unwrap().value,
        2.0
    );
    assert_eq!(find(&second, "monitor.rows", "dd_load").unwrap().value, 2.0);
    assert!(
        find(&second, "monitor.calls", "dd_lookup_odd:name").is_none(),
        "no change, no line"
    );
    assert!(find(&second, "monitor.call.duration.avg", "dd_lookup_odd:name").is_none());

    // The end of a run flushes too, with the run's status.
    let run = RunSummary {
        pipeline: "dd_pipeline",
        succeeded: true,
        ended_unix_ms: 1_700_000_000_000,
        duration: Duration::from_secs(2),
    };
    export::run_finished(&run);
    client.run_finished(&export::collect(), &run);
    let third = receive_all(&socket);
    let runs = third
        .iter()
        .find(|l| {
            l.name == "monitor.pipeline.runs"
                && l.tags.get("status").map(String::as_str) == Some("success")
        })
        .expect("run counter");
    assert_eq!(runs.value, 1.0);
    assert_eq!(
        runs.tags.get("pipeline").map(String::as_str),
        Some("dd_pipeline")
    );
}

#[test]
fn the_interval_thread_flushes_and_stops_cleanly() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let exporter = DogStatsD::new(&socket.local_addr().unwrap().to_string())
        .start_interval(Duration::from_millis(100));
    dd_interval();
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(5) && !seen {
        seen = find(&receive_all(&socket), "monitor.calls", "dd_interval").is_some();
    }
    assert!(seen, "the interval flush sent nothing");
    let stopping = Instant::now();
    drop(exporter);
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "stop took {:?}",
        stopping.elapsed()
    );
}

#[test]
fn an_unresolvable_host_is_one_warning() {
    dd_unresolved();
    let client = DogStatsD::new("no-such-host.invalid:8125");
    let ((), events) = capture(|| {
        client.flush();
        dd_unresolved();
        client.flush();
    });
    let warns: Vec<_> = events
        .iter()
        .filter(|e| e.level == tracing::Level::WARN)
        .collect();
    assert_eq!(warns.len(), 1, "{events:#?}");
    assert!(
        warns[0].message.contains("no-such-host.invalid:8125"),
        "{events:#?}"
    );
}
