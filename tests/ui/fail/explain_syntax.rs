// Bad `explain(..)` syntax: each gets one error naming the attribute, at the offending token.
#[monitor::monitor_query("a", explain(conn = c, sql = s, evry = 3))]
fn a(c: &u8, s: &str) {
    let _ = (c, s);
}

#[monitor::monitor_query("b", explain(conn = c))]
fn b(c: &u8) {
    let _ = c;
}

#[monitor::monitor_query("c", explain(conn = c, sql = s, every = 0))]
fn c(c: &u8, s: &str) {
    let _ = (c, s);
}

#[monitor::monitor_query("d", explain(conn = c, sql = s, mode = "sometimes"))]
fn d(c: &u8, s: &str) {
    let _ = (c, s);
}

#[monitor::monitor_query("e", explain(conn = c, sql = s, mode = "always", every = 2))]
fn e(c: &u8, s: &str) {
    let _ = (c, s);
}

#[monitor::monitor_query("f", explain)]
fn f() {}

fn main() {}
