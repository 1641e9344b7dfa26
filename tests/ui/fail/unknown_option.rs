#[monitor::monitor_step(nmae = "typo")]
fn s() {}

#[monitor::monitor_query("q", memroy)]
fn q() {}

fn main() {
    s();
    q();
}
