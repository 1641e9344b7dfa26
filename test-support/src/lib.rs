//! Helpers for monitor's own tests. Each server helper starts the real program on a free loopback
//! port in a temp dir, waits until it answers, and stops it on drop. If the program cannot be
//! started the helper panics with the reason: a test that needs a server never passes silently.

mod child;
pub mod prometheus;

pub use child::{child_test, output_of};

use std::net::TcpListener;

pub mod mariadb;
pub mod postgres;
mod process;

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// # Panics
/// If no port can be bound on loopback.
#[must_use]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local address").port()
}

/// `mib` MiB with a byte written on every page, so all of it is resident (counted in RSS), not
/// only reserved: what the memory tests spike and hold.
#[must_use]
pub fn resident_mib(mib: usize) -> Vec<u8> {
    let mut v = vec![0u8; mib << 20];
    for page in v.chunks_mut(4096) {
        page[0] = 1;
    }
    v
}

/// The names of the entries of `dir`, sorted: what a test sees of a folder after a write (the
/// file, and no temporary file left beside it).
///
/// # Panics
/// If `dir` cannot be read.
#[must_use]
pub fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| {
            e.expect("read a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}
