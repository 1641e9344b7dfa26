// A query times only by default: a memory threshold or budget without `memory` would never fire,
// so it is rejected at the option, saying what to add.
#[monitor::monitor_query("load", memory_warn = "512MiB")]
fn warn_without_memory() {}

#[monitor::monitor_query("load_budget", rows, max_peak = "2GiB")]
fn budget_without_memory() -> Vec<u8> {
    Vec::new()
}

// With `memory` both are accepted.
#[monitor::monitor_query("tracked", memory, memory_warn = "512MiB", max_peak = "2GiB")]
fn tracked() {}

fn main() {
    warn_without_memory();
    budget_without_memory();
    tracked();
}
