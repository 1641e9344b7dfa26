#[monitor::monitor_query]
fn q() {}

fn main() {
    q();
}
