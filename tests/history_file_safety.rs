//! History files are created with the user's umask and never opened through a symbolic link
//! planted in their place (`O_NOFOLLOW`): the link's target is left untouched.

mod history_support;

use monitor::history::{HistoryStore, JsonlStore, Retention, RunFilter};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::{Command, Stdio};

#[test]
fn a_symlink_in_place_of_the_history_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    let path = dir.path().join("history.jsonl");
    symlink(&victim, &path).unwrap();

    let mut store = JsonlStore::new(&path);
    let err = store
        .append(&history_support::sample_run("n", 0))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "history file {}: cannot append a run: it is a symbolic link",
            path.display()
        )),
        "{msg}"
    );
    let err = store.load(&RunFilter::all()).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let err = store.retain(&Retention::last_runs(1), 0).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// The child: creates a history under the umask the parent set for it.
#[test]
#[ignore = "run as a child process by new_files_follow_the_umask"]
fn child_create_history() {
    let (Ok(path), Ok(mask)) = (
        std::env::var("HISTORY_CHILD_FILE"),
        std::env::var("HISTORY_CHILD_UMASK"),
    ) else {
        return;
    };
    // SAFETY: umask only swaps the process's file-creation mask.
    unsafe { libc::umask(u32::from_str_radix(&mask, 8).unwrap() as libc::mode_t) };
    let mut store = JsonlStore::new(&path);
    for i in 0..30 {
        store.append(&history_support::sample_run("n", i)).unwrap();
    }
    // Retention rewrites the file: the new file keeps the same mode.
    store.retain(&Retention::last_runs(2), 0).unwrap();
}

#[test]
fn new_files_follow_the_umask() {
    let exe = std::env::current_exe().unwrap();
    for (mask, expected) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.jsonl");
        let out = Command::new(&exe)
            .args(["--exact", "child_create_history", "--ignored"])
            .env("HISTORY_CHILD_FILE", &path)
            .env("HISTORY_CHILD_UMASK", mask)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "umask {mask}: file mode {mode:o}");
        assert_eq!(
            JsonlStore::new(&path)
                .load(&RunFilter::all())
                .unwrap()
                .runs
                .len(),
            2,
            "retention ran"
        );
        let dir_mode = std::fs::metadata(dir.path().join("sub"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(
            dir_mode,
            expected | 0o111 & !u32::from_str_radix(mask, 8).unwrap(),
            "directory mode {dir_mode:o}"
        );
    }
}
