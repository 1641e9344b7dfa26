#[monitor::monitor_step(rows)]
fn s() -> String {
    String::new()
}

fn main() {
    let _ = s();
}
