#[monitor::monitor_step]
struct Orders;

fn main() {}
