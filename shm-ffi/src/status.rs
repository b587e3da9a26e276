//! Status codes, the thread's last error message, and the guard every entry
//! point runs in, which turns errors and panics into a status.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use shm_runtime::Error;

/// Success.
pub const SHM_OK: c_int = 0;
/// The region does not exist, or no scalar field is at the path or offset.
pub const SHM_E_NOT_FOUND: c_int = -1;
/// The caller may not access the region as asked.
pub const SHM_E_PERMISSION: c_int = -2;
/// Another layout, a buffer of another size than the struct's, or not a
/// region at all.
pub const SHM_E_LAYOUT: c_int = -3;
/// A wait ran out.
pub const SHM_E_TIMEOUT: c_int = -4;
/// A NULL pointer, invalid UTF-8, an invalid name, a value out of range, a C
/// type that cannot hold the field's values.
pub const SHM_E_INVALID_ARGUMENT: c_int = -5;
/// Anything else: a failed system call, an internal error.
pub const SHM_E_OTHER: c_int = -6;

/// The status C sees for a runtime error.
pub fn status_of(error: &Error) -> c_int {
    match error {
        Error::NotFound { .. } | Error::NoSuchField { .. } => SHM_E_NOT_FOUND,
        Error::PermissionDenied { .. } => SHM_E_PERMISSION,
        Error::LayoutMismatch { .. }
        | Error::NotSharedState { .. }
        | Error::Truncated { .. }
        | Error::WrongSize { .. } => SHM_E_LAYOUT,
        Error::Timeout { .. } => SHM_E_TIMEOUT,
        Error::InvalidName { .. } | Error::InvalidValue { .. } => SHM_E_INVALID_ARGUMENT,
        // `Io`, `AlreadyExists` and `Unsupported` (neither can happen
        // without creating), and whatever variant comes next.
        _ => SHM_E_OTHER,
    }
}

/// A failed call, as C is told about it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: c_int,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: c_int, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(SHM_E_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::new(status_of(&error), error.to_string())
    }
}

thread_local! {
    /// The message of this thread's last failed call. Replaced, never
    /// mutated in place, so a pointer handed out stays valid until the next
    /// failure on the thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
fn remember(message: &str) {
    // A NUL would end the C string early: show it instead.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with` fails only while the thread is being torn down, when nobody
    // can ask for the message any more; the borrow cannot be taken, since
    // neither function here calls the other while borrowing. Neither
    // failure panics: this runs on the way out to C.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = text;
        }
    });
}

/// This thread's last error message: never null, valid until the next
/// failure on this thread. Cannot panic.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|last| last.try_borrow().map(|text| text.as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

/// Runs an entry point's body: its failure becomes a status and this
/// thread's last error, and so does a panic, which never unwinds into C.
///
/// `AssertUnwindSafe`: what a panic could leave half-changed is the body's
/// locals and the region's shared memory. The locals are dropped with the
/// unwind; the shared memory is only changed through the runtime, whose
/// lock guard releases on unwind and whose journal makes a publish all or
/// nothing, as for a process killed at that point.
pub(crate) fn run(body: impl FnOnce() -> Result<(), Failure>) -> c_int {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return SHM_OK,
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic without a message");
            Failure::new(
                SHM_E_OTHER,
                format!("internal error in shm-ffi (please report it): {what}"),
            )
        }
    };
    remember(&failure.message);
    failure.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: `last_error` returns a NUL-terminated string valid until
        // the next failure on this thread, and none happens meanwhile.
        unsafe { CStr::from_ptr(last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn failures_and_panics_become_statuses_and_messages() {
        assert_eq!(run(|| Ok(())), SHM_OK);
        assert_eq!(
            run(|| Err(Failure::new(SHM_E_TIMEOUT, "too slow\0really"))),
            SHM_E_TIMEOUT
        );
        assert_eq!(last(), "too slow\\0really");
        assert_eq!(run(|| Ok(())), SHM_OK);
        assert_eq!(last(), "too slow\\0really", "success leaves the message");
        let status = run(|| panic!("boom {}", 7));
        assert_eq!(status, SHM_E_OTHER);
        assert!(last().contains("boom 7"), "{}", last());
    }

    #[test]
    fn each_thread_has_its_own_message() {
        run(|| Err(Failure::invalid("here")));
        std::thread::spawn(|| {
            assert_eq!(last(), "");
            run(|| Err(Failure::invalid("there")));
            assert_eq!(last(), "there");
        })
        .join()
        .unwrap();
        assert_eq!(last(), "here");
    }
}
