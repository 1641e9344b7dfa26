#[monitor::monitor_query("q", slow = "500 parsecs")]
fn q() {}

#[monitor::monitor_query("r", slow = "500")]
fn r() {}

fn main() {
    q();
    r();
}
