//! Seeing whether a returned value is an error, without constraining the user's types.
//!
//! The macros call `(&&&&Probe(&ret)).__monitor_outcome()` where the return type is concrete.
//! Method resolution tries the four impls in order of auto-reference (the "autoref
//! specialisation" idiom): `Result<T, E: ErrorLabel + Display>` first, then
//! `Result<T, E: Display>`, then `Result<T, E: Debug>`, then anything. So any type compiles, a
//! `Result` is recognised through type aliases (`io::Result`, `anyhow::Result`), and the error
//! text is formatted lazily, only if a log line or report wants it.

use crate::call::stats::{ErrorText, Outcome};
use std::fmt;

/// An error that names its own kind for labels (`error_type` in every exporter, the reports and
/// the error event) instead of its Rust type: an enum names its variant, so `Timeout` and
/// `Refused` count apart. The kind must come from a small fixed set (it becomes a label value);
/// never build it from the error's data. Only the first four kinds of a site count separately.
/// The error must also implement `Display` (its message); `#[derive(monitor::ErrorLabel)]`
/// writes `Type::Variant` labels.
///
/// ```
/// #[derive(Debug)]
/// enum LoadError { Timeout, Refused(String) }
///
/// impl std::fmt::Display for LoadError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         match self {
///             LoadError::Timeout => f.write_str("timed out"),
///             LoadError::Refused(host) => write!(f, "{host} refused the connection"),
///         }
///     }
/// }
///
/// impl monitor_core::probe::ErrorLabel for LoadError {
///     fn error_label(&self) -> &'static str {
///         match self {
///             LoadError::Timeout => "LoadError::Timeout",
///             LoadError::Refused(_) => "LoadError::Refused",
///         }
///     }
/// }
/// ```
pub trait ErrorLabel {
    /// This error's kind.
    fn error_label(&self) -> &'static str;
}

/// Wraps a reference to a return value for probing.
#[derive(Debug)]
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// Matches `Result<T, E>` where `E: ErrorLabel + Display`.
pub trait ProbeLabel<'a> {
    /// The call's outcome, borrowing the value (not the probe).
    fn __monitor_outcome(&self) -> Outcome<'a>;
}

/// Matches `Result<T, E>` where `E: Display`.
pub trait ProbeDisplay<'a> {
    /// The call's outcome, borrowing the value (not the probe).
    fn __monitor_outcome(&self) -> Outcome<'a>;
}

/// Matches `Result<T, E>` where `E: Debug` only.
pub trait ProbeDebug<'a> {
    /// The call's outcome, borrowing the value (not the probe).
    fn __monitor_outcome(&self) -> Outcome<'a>;
}

/// Matches everything else: always a success.
pub trait ProbeAny<'a> {
    /// The call's outcome, borrowing the value (not the probe).
    fn __monitor_outcome(&self) -> Outcome<'a>;
}

impl<'a, T, E: ErrorLabel + fmt::Display> ProbeLabel<'a> for &&&Probe<'a, Result<T, E>> {
    #[inline]
    fn __monitor_outcome(&self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(ErrorText::labelled(e, e.error_label())),
        }
    }
}

impl<'a, T, E: fmt::Display> ProbeDisplay<'a> for &&Probe<'a, Result<T, E>> {
    #[inline]
    fn __monitor_outcome(&self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(ErrorText::display(e)),
        }
    }
}

impl<'a, T, E: fmt::Debug> ProbeDebug<'a> for &Probe<'a, Result<T, E>> {
    #[inline]
    fn __monitor_outcome(&self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Err(ErrorText::debug(e)),
        }
    }
}

impl<'a, T: ?Sized> ProbeAny<'a> for Probe<'a, T> {
    #[inline]
    fn __monitor_outcome(&self) -> Outcome<'a> {
        Outcome::Ok
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the borrows select the impl: that is the point
mod tests {
    use super::*;

    struct NoFmt;

    #[test]
    fn picks_the_most_specific_impl() {
        let r: Result<u32, std::io::Error> = Err(std::io::Error::other("disk on fire"));
        match (&&&&Probe(&r)).__monitor_outcome() {
            Outcome::Err(e) => {
                assert_eq!(e.to_string(), "disk on fire");
                assert_eq!(e.type_name(), "std::io::error::Error");
            }
            o => panic!("{o:?}"),
        }
        #[derive(Debug)]
        struct DebugOnly;
        let r: Result<(), DebugOnly> = Err(DebugOnly);
        match (&&&&Probe(&r)).__monitor_outcome() {
            Outcome::Err(e) => assert_eq!(e.to_string(), "DebugOnly"),
            o => panic!("{o:?}"),
        }
        #[derive(Debug)]
        enum Fetch {
            Timeout,
        }
        impl fmt::Display for Fetch {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("timed out after 30 s")
            }
        }
        impl ErrorLabel for Fetch {
            fn error_label(&self) -> &'static str {
                "Fetch::Timeout"
            }
        }
        let r: Result<(), Fetch> = Err(Fetch::Timeout);
        match (&&&&Probe(&r)).__monitor_outcome() {
            Outcome::Err(e) => {
                assert_eq!(e.to_string(), "timed out after 30 s");
                assert_eq!(e.label(), "Fetch::Timeout");
                assert!(e.type_name().ends_with("Fetch"), "{}", e.type_name());
            }
            o => panic!("{o:?}"),
        }
        let ok: Result<u8, NoFmt> = Err(NoFmt);
        assert!(matches!((&&&&Probe(&ok)).__monitor_outcome(), Outcome::Ok));
        assert!(matches!((&&&&Probe(&5u8)).__monitor_outcome(), Outcome::Ok));
        assert!(matches!(
            (&&&&Probe(&None::<u8>)).__monitor_outcome(),
            Outcome::Ok
        ));
    }
}
