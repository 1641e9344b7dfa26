trait Loader {
    #[monitor::monitor_step]
    fn load(&self) -> u32;
}

fn main() {}
