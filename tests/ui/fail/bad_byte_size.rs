#[monitor::monitor_step(memory_warn = "lots")]
fn s() {}

fn main() {
    s();
}
