//! Running one ignored test of the current test binary in a fresh process: how the tests check
//! what happens on a process's first call (variables read once, hooks installed once, exit-time
//! behaviour) without disturbing the tests that share their process.

use std::process::Command;

/// A command that runs the ignored test `name` of this test binary alone: `--exact NAME
/// --ignored --nocapture` (not `--test-threads=1`, which prints the child's first line after
/// `test NAME ... ` on the same line), with every `MONITOR_*` variable of this environment
/// removed (a developer's own settings never leak into a child) and `MONITOR_HISTORY_RECORD=0`
/// (finished runs stay out of every history). Add the variables the child is about, then run it
/// with [`output_of`] (or spawn it).
///
/// # Panics
/// If the path of the running test binary cannot be read.
#[must_use]
pub fn child_test(name: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args(["--exact", name, "--ignored", "--nocapture"]);
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("MONITOR_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("MONITOR_HISTORY_RECORD", "0");
    cmd
}

/// Runs `cmd` (from [`child_test`]) to the end; returns its (stdout, stderr).
///
/// # Panics
/// With both outputs, unless the child exited successfully having run exactly one test (a
/// misspelt test name runs none and would otherwise pass).
pub fn output_of(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the child test failed or did not run ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    (stdout, stderr)
}
