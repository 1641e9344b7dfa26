//! The one way to standard output: every command writes through [`Out`], which maps the two
//! ways stdout fails.
//!
//! - **A closed pipe** (`monitor history | head -n 3`): the reader has what it wanted. The rest
//!   of the output is dropped quietly and the command ends with the exit code it would have had
//!   (0, or 1 for a regression under `--fail-on-regression`), never a panic.
//! - **Any other write error** (stdout on a full disk, `> /dev/full`): one message,
//!   `monitor: cannot write to standard output: No space left on device (os error 28)`, and
//!   exit code 2.

use crate::error::CliError;
use std::fmt;
use std::io::{self, BufWriter, ErrorKind, StdoutLock, Write};

/// Buffered standard output that never panics.
#[derive(Debug)]
pub struct Out {
    w: BufWriter<StdoutLock<'static>>,
    /// The reader went away: nothing more is written.
    closed: bool,
}

impl Out {
    /// Standard output, locked for the life of the command.
    pub fn stdout() -> Out {
        Out {
            w: BufWriter::new(io::stdout().lock()),
            closed: false,
        }
    }

    /// Writes formatted text (use the [`out!`](crate::out) and [`outln!`](crate::outln)
    /// macros).
    ///
    /// # Errors
    /// A write error other than a closed pipe, as the message to show.
    pub fn print(&mut self, args: fmt::Arguments<'_>) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self.w.write_fmt(args);
        self.check(result)
    }

    /// Flushes what is buffered; called once, when the command is done.
    ///
    /// # Errors
    /// As [`Out::print`].
    pub fn finish(mut self) -> Result<(), CliError> {
        if self.closed {
            return Ok(());
        }
        let result = self.w.flush();
        self.check(result)
    }

    /// After a failure nothing more is written (what is still buffered is dropped: a
    /// `BufWriter` ignores errors when it is dropped).
    fn check(&mut self, result: io::Result<()>) -> Result<(), CliError> {
        let Err(e) = result else {
            return Ok(());
        };
        self.closed = true;
        if e.kind() == ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(CliError::new(format!(
                "cannot write to standard output: {e}"
            )))
        }
    }
}

/// `out!(out, "...", args)`: formatted text to [`Out`], `?`-able.
#[macro_export]
macro_rules! out {
    ($out:expr, $($arg:tt)*) => {
        $out.print(format_args!($($arg)*))
    };
}

/// `outln!(out, "...", args)`: a line to [`Out`], `?`-able.
#[macro_export]
macro_rules! outln {
    ($out:expr) => {
        $out.print(format_args!("\n"))
    };
    ($out:expr, $($arg:tt)*) => {
        $out.print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
