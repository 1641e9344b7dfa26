//! Running a server's programs for the test helpers: as the server user when the tests run as
//! root (PostgreSQL and MariaDB refuse to run as root), with their output in a panic message
//! when they fail.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub(crate) fn running_as_root() -> bool {
    // `id -u` avoids a libc dependency for one call.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Gives `path` to `user`; `server` names the helper in the panic when it cannot.
pub(crate) fn chown_to(server: &str, path: &Path, user: &str) {
    let out = Command::new("chown")
        .arg(format!("{user}:"))
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{server} test server: cannot run chown: {e}"));
    if !out.status.success() {
        panic!(
            "{server} test server: chown {user} {} failed: {}",
            path.display(),
            output_text(&out)
        );
    }
}

/// Runs one of `server`'s programs to completion, as `user` through `runuser` when given.
pub(crate) fn run<S: AsRef<OsStr>>(
    server: &str,
    user: Option<&str>,
    program: &Path,
    args: &[S],
) -> Output {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("runuser");
            c.args(["-u", u, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.args(args)
        // The server must not inherit a working directory the server user cannot read.
        .current_dir("/")
        .stdin(Stdio::null())
        .env("LC_ALL", "C");
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "{server} test server: cannot run {}{}: {e}",
            program.display(),
            user.map(|u| format!(" as {u} via runuser"))
                .unwrap_or_default()
        )
    })
}

/// A finished program's status and output, for a panic message.
pub(crate) fn output_text(out: &Output) -> String {
    format!(
        "exit status: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
