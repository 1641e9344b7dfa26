// A dataset without a namespace, an empty entry and a dataset listed twice: each is one error on
// the string, naming the attribute and the option.
#[monitor::monitor_step(inputs = "orders.csv")]
fn no_namespace() {}

#[monitor::monitor_step(outputs = "file:a.csv, ,file:b.csv")]
fn empty_entry() {}

#[monitor::monitor_query("q", inputs = "postgres://db:5432/shop.orders, postgres://db:5432/shop.orders")]
fn twice() {}

#[monitor::monitor_step(outputs = "postgres://db:5432")]
fn no_table() {}

fn main() {
    no_namespace();
    empty_entry();
    twice();
    no_table();
}
