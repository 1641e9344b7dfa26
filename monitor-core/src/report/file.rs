//! Writing reports (and any other rendered file) whole or not at all.
//!
//! [`write_file`] is the one place a report file is written: the example pipeline's
//! `report.json` and `report.html`, and every file the `monitor` command writes (`report -o`,
//! `trend --html`, `dashboard -o`, `alerts -o`). The contents go to a temporary file in the same
//! directory, which is flushed to disk (`fsync`) and then renamed over the destination, and the
//! directory is flushed too. A full disk, a file-size limit or a crash therefore leaves either the
//! previous complete file or none, never a truncated one; the temporary file is removed on
//! failure. Errors name the path.

use super::Report;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The renderings of a [`Report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `monitor.report/v1` JSON ([`Report::to_json`]).
    Json,
    /// Tables for a terminal ([`Report::to_text`]).
    Text,
    /// Markdown, e.g. for a CI job summary ([`Report::to_markdown`]).
    Markdown,
    /// One self-contained HTML page ([`Report::to_html`]).
    Html,
}

/// A file that could not be written; the destination is as it was before.
#[derive(Debug)]
pub struct WriteError {
    /// The destination.
    pub path: PathBuf,
    /// What the system said.
    pub source: io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Report {
    /// The report rendered in `format`.
    #[must_use]
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => self.to_json(),
            Format::Text => self.to_text(),
            Format::Markdown => self.to_markdown(),
            Format::Html => self.to_html(),
        }
    }

    /// Writes the report rendered in `format` to `path`, whole or not at all (see
    /// [`write_file`]).
    ///
    /// # Errors
    /// A [`WriteError`] naming `path`; the file at `path` is then as it was.
    pub fn write_to(&self, path: impl AsRef<Path>, format: Format) -> Result<(), WriteError> {
        write_file(path, self.render(format))
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory, renamed into
/// place once complete and on disk: `path` holds either its previous contents or all of the new
/// ones. A symbolic link at `path` is followed (its target is replaced). A file being replaced
/// keeps its permissions; a new one gets `0666` minus the umask, as with [`std::fs::write`].
///
/// # Errors
/// A [`WriteError`] naming `path` (a missing directory, no permission, a full disk, a file-size
/// limit); the temporary file is removed.
pub fn write_file(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<(), WriteError> {
    let path = path.as_ref();
    write_whole(path, contents.as_ref()).map_err(|source| WriteError {
        path: path.to_owned(),
        source,
    })
}

fn write_whole(path: &Path, contents: &[u8]) -> io::Result<()> {
    // Write where a symbolic link points, as fs::write would, rather than replacing the link.
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let to = fs::read_link(path)?;
            match path.parent() {
                Some(dir) if to.is_relative() => dir.join(to),
                _ => to,
            }
        }
        _ => path.to_owned(),
    };
    let Some(name) = target.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file name",
        ));
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_temp(&temp, &target, contents).and_then(|()| {
        fs::rename(&temp, &target)?;
        sync_dir(dir)
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `temp` (never an existing file), fills it and flushes it to disk, with the
/// permissions of the file it will replace, if any.
fn write_temp(temp: &Path, target: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o666);
    }
    let mut file = options.open(temp)?;
    file.write_all(contents)?;
    if let Ok(previous) = fs::metadata(target) {
        file.set_permissions(previous.permissions())?;
    }
    file.sync_all()
}

/// Flushes the rename to disk (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_keeps_permissions_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_file(&path, "first").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        }
        write_file(&path, "second").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640);
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn follows_a_symbolic_link_and_names_the_path_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.html");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.html");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write_file(&link, "page").unwrap();
            assert_eq!(fs::read_to_string(&real).unwrap(), "page");
            assert!(fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        let missing = dir.path().join("no/such/dir/report.json");
        let e = write_file(&missing, "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot write {}: No such file or directory (os error 2)",
                missing.display()
            )
        );
    }
}
