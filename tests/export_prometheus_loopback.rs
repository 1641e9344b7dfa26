//! The `/metrics` endpoint binds 127.0.0.1 unless told otherwise: `MONITOR_PROMETHEUS_ADDR` with
//! a bare port starts a listener that the kernel's socket table shows bound to loopback only,
//! not to every interface. (Its own test binary: the variables are read on the first call.)
use monitor::monitor_step;
use monitor_test_support::free_port;

#[monitor_step]
fn loopback_step() {}

/// The local addresses of the TCP sockets listening on `port`, from `/proc/net/tcp{,6}`, as the
/// kernel writes them (`0100007F` is 127.0.0.1, `00000000` every IPv4 interface).
fn listening_on(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state) = (fields[1], fields[3]);
            let (addr, hex_port) = local.rsplit_once(':').unwrap();
            if state == "0A" && u16::from_str_radix(hex_port, 16).unwrap() == port {
                found.push(format!("{table}:{addr}"));
            }
        }
    }
    found
}

#[test]
fn a_bare_port_listens_on_loopback_only() {
    let port = free_port();
    assert!(listening_on(port).is_empty(), "port {port} is free");
    // SAFETY: nothing else in this binary reads the environment yet.
    unsafe { std::env::set_var("MONITOR_PROMETHEUS_ADDR", port.to_string()) };
    loopback_step();

    let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .expect("the endpoint MONITOR_PROMETHEUS_ADDR asked for")
        .into_string()
        .unwrap();
    assert!(body.contains("name=\"loopback_step\""), "{body}");
    assert_eq!(
        listening_on(port),
        ["/proc/net/tcp:0100007F"],
        "one listener, on 127.0.0.1 only"
    );
}
