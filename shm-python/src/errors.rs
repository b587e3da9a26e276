//! The runtime's errors as Python exceptions.
//!
//! The classes live in `shm/_errors.py` (so they can also derive from
//! `FileNotFoundError`, `TimeoutError`, ...); each is named after the
//! `shm_runtime::Error` variant it stands for and carries the runtime's
//! message unchanged.

use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use shm_runtime::schema::LayoutError;
use shm_runtime::Error;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception of `shm._errors` named `name`, raised with `message`.
fn raise(py: Python<'_>, name: &str, message: String, errno: Option<i32>) -> PyErr {
    let class = ERRORS
        .get_or_try_init(py, || {
            PyModule::import(py, "shm._errors").map(Bound::unbind)
        })
        .and_then(|module| module.bind(py).getattr(name));
    let class = match class {
        Ok(class) => class,
        // The package is broken (shm._errors missing): still an exception.
        Err(e) => return e,
    };
    let made = class.call1((message,)).and_then(|exception| {
        if let Some(errno) = errno {
            exception.setattr("errno", errno)?;
        }
        Ok(exception)
    });
    match made {
        Ok(exception) => PyErr::from_value(exception),
        Err(e) => e,
    }
}

/// The Python exception for a runtime error: the class of its variant,
/// the runtime's message.
pub(crate) fn to_py(error: Error) -> PyErr {
    Python::attach(|py| {
        let name = match &error {
            Error::NotFound { .. } => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::InvalidName { .. } => "InvalidName",
            Error::NotSharedState { .. } => "NotSharedState",
            Error::LayoutMismatch { .. } => "LayoutMismatch",
            Error::PermissionDenied { .. } => "PermissionDenied",
            Error::Truncated { .. } => "Truncated",
            Error::Timeout { .. } => "Timeout",
            Error::Io { .. } => "Io",
            Error::NoSuchField { .. } => "NoSuchField",
            Error::InvalidValue { .. } => "InvalidValue",
            Error::Unsupported { .. } => "Unsupported",
            Error::ForkedUpdate { .. } => "ForkedUpdate",
            Error::WrongSize { .. } => "WrongSize",
            _ => "Error",
        };
        let errno = match &error {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        };
        raise(py, name, error.to_string(), errno)
    })
}

/// A layout refused at class creation (`shm.LayoutError`, also a
/// `TypeError`), with the derive's message.
pub(crate) fn layout(error: LayoutError) -> PyErr {
    Python::attach(|py| raise(py, "LayoutError", error.to_string(), None))
}

/// A field type refused before the runtime sees it (`shm.LayoutError`).
pub(crate) fn declaration(message: String) -> PyErr {
    Python::attach(|py| raise(py, "LayoutError", message, None))
}

/// A value out of range for its field.
pub(crate) fn overflow(message: String) -> PyErr {
    PyOverflowError::new_err(message)
}

/// A value of the wrong type for its field.
pub(crate) fn wrong_type(message: String) -> PyErr {
    PyTypeError::new_err(message)
}

/// `update` (or a whole-struct write) on a region whose lock this thread
/// already holds: waiting for it would never end.
pub(crate) fn reentered(location: &shm_runtime::Location) -> PyErr {
    PyRuntimeError::new_err(format!(
        "{location}: update() called while this thread is already inside an update of the \
         same region (a `with ….update()` block or an update() callback): waiting for the \
         region's writer lock would never end; change the value the update gave you instead"
    ))
}
