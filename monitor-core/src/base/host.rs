//! This machine's host name, read once: the one source for run reports, history records and the
//! Pushgateway's `instance` label.

use std::sync::OnceLock;

/// The host name, `None` when it cannot be read (then `HOSTNAME` from the environment, if set).
#[must_use]
pub fn name() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(read).as_deref()
}

fn read() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that
        // many and we stop at the first NUL (or the end, if it did not fit).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return Some(name);
            }
        }
    }
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty())
}
