//! Shared by the CLI tests: run the `monitor` binary built for them.
#![allow(dead_code)] // each test file uses part of it

/// The `monitor` binary built for these tests.
pub fn monitor_cli() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_monitor"))
}

/// Runs the CLI with `args`; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = monitor_cli()
        .args(args)
        .env_remove("MONITOR_HISTORY")
        .output()
        .expect("run the monitor binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
