#![deny(warnings)]
// Generated code uses absolute paths: local modules named `monitor` or `core` cannot break it,
// and `crate = path` supports a renamed dependency.
extern crate monitor as observability;

#[allow(dead_code)]
mod core {}

mod inner {
    #[allow(dead_code)]
    mod monitor {}

    #[::monitor::monitor_step]
    pub fn shadowed() -> u8 {
        1
    }
}

#[observability::monitor_query("renamed", crate = observability)]
fn renamed() -> u8 {
    2
}

fn main() {
    assert_eq!(inner::shadowed() + renamed(), 3);
}
