// A type error inside the body is reported on the user's line, not on the attribute.
#[monitor::monitor_step]
fn s() -> u32 {
    let x: u32 = "not a number";
    x
}

#[monitor::monitor_step]
async fn a() -> u32 {
    "still not a number"
}

fn main() {
    let _ = s();
    let _ = a();
}
