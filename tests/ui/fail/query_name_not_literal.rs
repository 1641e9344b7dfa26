const NAME: &str = "x";

#[monitor::monitor_query(NAME)]
fn q() {}

fn main() {
    q();
}
