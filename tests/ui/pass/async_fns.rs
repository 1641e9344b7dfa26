#![deny(warnings)]
use monitor::{monitor_query, monitor_step};
use std::future::Future;
use std::pin::Pin;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[monitor_step]
async fn free(x: u32) -> Result<u32, String> {
    if x == 0 {
        return Err("zero".into());
    }
    let y: u32 = "2".parse().map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(x * y)
}

#[monitor_query("async_unit")]
async fn unit() {}

#[monitor_step]
async unsafe fn async_unsafe(p: *const u8) -> u8 {
    unsafe { *p }
}

#[monitor_step]
async fn impl_ret(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[monitor_step]
async fn borrows<'a>(s: &'a str, _other: &str) -> &'a str {
    &s[1..]
}

trait Repo {
    fn get(&self, id: u32) -> impl Future<Output = Option<u32>> + Send;
}

struct Db;

impl Repo for Db {
    #[monitor_query("repo_get")]
    async fn get(&self, id: u32) -> Option<u32> {
        Some(id)
    }
}

#[async_trait::async_trait]
trait Store {
    async fn put(&self, v: u32) -> Result<u32, String>;
    async fn del(&self, v: u32) -> u32;
}

struct Mem;

#[async_trait::async_trait]
impl Store for Mem {
    // async-trait runs first, we see `Box::pin(async move { .. })`.
    #[monitor_step(name = "store_put")]
    async fn put(&self, v: u32) -> Result<u32, String> {
        Ok(v)
    }

    // Not monitored here (see `Mem2`).
    async fn del(&self, v: u32) -> u32 {
        v
    }
}

struct Mem2;

#[async_trait::async_trait]
impl Store for Mem2 {
    async fn put(&self, v: u32) -> Result<u32, String> {
        Ok(v)
    }

    #[monitor_step(name = "store_del_inner")]
    async fn del(&self, v: u32) -> u32 {
        v
    }
}

#[monitor_step]
fn manual_box_pin(x: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { x + 1 })
}

#[monitor_step]
fn returns_async_block(x: u32) -> impl Future<Output = u32> {
    async move { x + 2 }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        assert_eq!(assert_send(free(2)).await, Ok(4));
        assert_eq!(free(0).await, Err("zero".into()));
        assert_send(unit()).await;
        let b = 9u8;
        assert_eq!(unsafe { async_unsafe(&b) }.await, 9);
        assert_eq!(impl_ret(3).await.count(), 3);
        assert_eq!(borrows("abc", "x").await, "bc");
        assert_eq!(assert_send(Db.get(4)).await, Some(4));
        assert_eq!(Mem.put(1).await, Ok(1));
        assert_eq!(Mem.del(2).await, 2);
        assert_eq!(Mem2.del(3).await, 3);
        assert_eq!(manual_box_pin(1).await, 2);
        assert_eq!(returns_async_block(1).await, 3);
    });
    let snap = monitor::snapshot();
    for name in ["free", "async_unit", "repo_get", "store_put", "store_del_inner", "manual_box_pin", "returns_async_block"] {
        let s = snap.site(name).unwrap_or_else(|| panic!("{name} not recorded"));
        assert!(s.busy_ms.is_some(), "{name} measured as a future");
    }
    assert_eq!(snap.site("free").unwrap().errors, 1);
}
