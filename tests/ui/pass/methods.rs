#![deny(warnings)]
use monitor::monitor_step;
use std::pin::Pin;

#[derive(Default)]
struct Loader {
    rows: Vec<u32>,
}

impl Loader {
    #[monitor_step]
    fn by_value(self) -> usize {
        self.rows.len()
    }

    #[monitor_step]
    fn by_ref(&self) -> &[u32] {
        &self.rows
    }

    #[monitor_step]
    fn by_mut(&mut self, x: u32) -> &mut u32 {
        self.rows.push(x);
        self.rows.last_mut().unwrap()
    }

    #[monitor_step]
    fn boxed(self: Box<Self>) -> usize {
        self.rows.len()
    }

    #[monitor_step]
    fn pinned(self: Pin<&mut Self>) -> usize {
        self.get_mut().rows.len()
    }

    #[monitor_step]
    fn new_self() -> Self {
        Self::default()
    }
}

trait Source {
    fn read(&self) -> Result<u32, String>;
    fn default_method(&self) -> u32 {
        0
    }
}

impl Source for Loader {
    #[monitor_step(name = "source_read")]
    fn read(&self) -> Result<u32, String> {
        self.rows.first().copied().ok_or_else(|| "empty".to_owned())
    }

    #[monitor_step]
    fn default_method(&self) -> u32 {
        1
    }
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[monitor_step]
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    let mut l = Loader::new_self();
    *l.by_mut(1) += 1;
    assert_eq!(l.by_ref(), &[2]);
    assert_eq!(l.read(), Ok(2));
    assert_eq!(l.default_method(), 1);
    assert_eq!(Pin::new(&mut l).pinned(), 1);
    assert_eq!(Box::new(Loader::default()).boxed(), 0);
    assert_eq!(l.by_value(), 1);
    assert_eq!(Wrapper(5).get(), 5);
    assert_eq!(monitor::snapshot().site("source_read").unwrap().calls, 1);
}
