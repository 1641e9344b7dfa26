#[monitor::monitor_query("q", slow = "1s", slow = "2s")]
fn q() {}

fn main() {
    q();
}
