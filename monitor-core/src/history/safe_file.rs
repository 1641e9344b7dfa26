//! Opening history files safely: never through a symbolic link planted in their place, never
//! blocked by what is there (a FIFO waits for a writer in `open`: every open is non-blocking, the
//! file's type checked, then the descriptor made blocking again), with the user's umask, and
//! locked so that writers in several processes take turns.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Options shared by every open: no following a symlink at the last path component, no leaking
/// the descriptor into child processes, no blocking in `open` (a FIFO would wait there for a
/// writer or reader), permissions `0666` minus the user's umask on creation.
fn base_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .mode(0o666);
    }
    o
}

/// What may stand at a history path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    /// Only a regular file (anything that is read: a device or a pipe never ends).
    RegularFile,
    /// A regular file, or a character device such as `/dev/null` or `/dev/full` to append to:
    /// opening and writing one does not wait for another process, and `/dev/full` fails as a full
    /// disk would.
    RegularFileOrCharDevice,
}

/// Refuses what `accept` does not allow, then makes the descriptor blocking again.
fn checked(file: File, accept: Accept) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if !(accept == Accept::RegularFileOrCharDevice && kind.is_char_device()) {
                return Err(not_regular(&kind));
            }
        }
        #[cfg(not(unix))]
        {
            let _ = accept;
            return Err(not_regular(&kind));
        }
    }
    set_blocking(&file)?;
    Ok(file)
}

/// `it is a named pipe (FIFO), not a regular file`, and so on for each kind of file.
fn not_regular(kind: &std::fs::FileType) -> io::Error {
    let what = if kind.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if kind.is_fifo() {
                "a named pipe (FIFO)"
            } else if kind.is_socket() {
                "a socket"
            } else if kind.is_block_device() {
                "a block device"
            } else if kind.is_char_device() {
                "a character device"
            } else {
                "not a file"
            }
        }
        #[cfg(not(unix))]
        {
            "not a file"
        }
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    )
}

/// Clears the `O_NONBLOCK` the open used.
fn set_blocking(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is an open descriptor owned by `file` for the duration of both calls;
        // F_GETFL/F_SETFL only read and set its status flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK != 0 {
            // SAFETY: as above.
            if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Refuses, without blocking, a path that exists and is not a regular file (for stores another
/// library opens, such as SQLite's). A missing path is fine: it will be created as a file.
#[cfg(feature = "sqlite")]
pub(crate) fn refuse_if_not_regular(path: &Path) -> io::Result<()> {
    match base_options().read(true).open(path) {
        Ok(f) => checked(f, Accept::RegularFile).map(drop),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Refuses anything but a regular file behind a descriptor already open (retention rewrites only
/// regular files).
pub(crate) fn ensure_regular(file: &File) -> io::Result<()> {
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(())
    } else {
        Err(not_regular(&kind))
    }
}

/// Opens (creating it and its directory if needed) a history file for appending and reading.
/// Refuses, without blocking, anything but a regular file or a character device.
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
    let file = base_options()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    checked(file, Accept::RegularFileOrCharDevice)
}

/// Opens an existing history file for reading; `Ok(None)` when it does not exist. Refuses,
/// without blocking, anything but a regular file.
pub(crate) fn open_read(path: &Path) -> io::Result<Option<File>> {
    match base_options().read(true).open(path) {
        Ok(f) => checked(f, Accept::RegularFile).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates a new file that must not exist yet (for the retention rewrite's temporary file).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    let file = base_options().write(true).create_new(true).open(path)?;
    checked(file, Accept::RegularFile)
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
