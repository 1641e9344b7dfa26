//! Opening history files safely: never through a symbolic link planted in their place, with the
//! user's umask, and locked so that writers in several processes take turns.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Options shared by every open: no following a symlink at the last path component, no leaking
/// the descriptor into child processes, permissions `0666` minus the user's umask on creation.
fn base_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o666);
    }
    o
}

/// Opens (creating it and its directory if needed) a history file for appending and reading.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            // "File exists" would puzzle: say which component is in the way.
            let blocker = dir.ancestors().find(|a| a.exists());
            if let Some(b) = blocker.filter(|b| !b.is_dir()) {
                return Err(io::Error::other(format!(
                    "{} is not a directory",
                    b.display()
                )));
            }
            return Err(e);
        }
    }
    base_options()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// Opens an existing history file for reading; `Ok(None)` when it does not exist.
pub(crate) fn open_read(path: &Path) -> io::Result<Option<File>> {
    match base_options().read(true).open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a new file that must not exist yet (for the retention rewrite's temporary file).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    base_options().write(true).create_new(true).open(path)
}

/// Takes the exclusive advisory lock (`flock`), waiting for it; released when `file` closes.
pub(crate) fn lock_exclusive(file: &File) -> io::Result<()> {
    fs4::FileExt::lock(file)
}

/// Takes a shared advisory lock, waiting for it; released when `file` closes.
pub(crate) fn lock_shared(file: &File) -> io::Result<()> {
    fs4::FileExt::lock_shared(file)
}

/// Whether `file` is still the file `path` names (a retention rewrite may have renamed a new file
/// into place while we waited for the lock on the old one).
pub(crate) fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file.metadata()?;
        match std::fs::symlink_metadata(path) {
            Ok(now) => Ok(open.dev() == now.dev() && open.ino() == now.ino()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}

/// Flushes a directory entry change (a rename) to disk.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
