//! Whole-struct updates from Python: `foo.update(fn)` and
//! `with foo.update() as f:`, both on the runtime's `Region::begin` and
//! `Transaction` (one lock, one journal, one publish, shared with Rust).
//!
//! Waiting for the writer lock releases the interpreter, so a thread that
//! holds the lock can always get the interpreter back to finish; the
//! update's Python code then runs with the interpreter, holding the lock.

use std::sync::{Arc, Mutex};

use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use shm_runtime::{Region, Transaction};

use crate::errors;
use crate::layout::StructInfo;
use crate::memory::LocalBytes;
use crate::shared::{in_slices, Shared};
use crate::value::new_value;

/// Takes `region`'s writer lock, with the interpreter released while
/// waiting, in slices between which it checks for signals (so Ctrl-C
/// interrupts a wait for a holder sitting at a debugger prompt);
/// `shm.Timeout` after `timeout` (`Duration::MAX`: no deadline). A thread
/// that already holds it gets an exception, not the runtime's panic.
pub(crate) fn begin<'r>(
    py: Python<'_>,
    region: &'r Region,
    timeout: Duration,
) -> PyResult<Transaction<'r>> {
    // Only this thread can take or give up its own hold, so the answer
    // cannot change before `begin` looks again.
    if region.locked_by_current_thread() {
        return Err(errors::reentered(region.location()));
    }
    in_slices(py, timeout, |slice| region.begin_within(slice))
}

/// `foo.update(fn)`.
pub(crate) fn run(
    py: Python<'_>,
    view: &Shared,
    f: &Bound<'_, PyAny>,
    timeout: Duration,
) -> PyResult<Py<PyAny>> {
    let range = view.offset..view.offset + view.info.size();
    let mut transaction = begin(py, &view.region, timeout)?;
    let copy = LocalBytes::new(transaction.bytes()[range.clone()].to_vec());
    let value = new_value(py, &view.info, copy.clone(), 0)?;
    // An exception drops the transaction: nothing is published.
    let result = f.call1((value,))?;
    transaction.bytes()[range].copy_from_slice(&copy.lock());
    transaction.commit().map_err(errors::to_py)?;
    Ok(result.unbind())
}

/// A transaction together with the region it borrows.
struct OwnedTransaction {
    // Declared before `region`, so dropped first, while the region it
    // borrows is still alive.
    transaction: Transaction<'static>,
    region: Arc<Region>,
}

impl OwnedTransaction {
    fn begin(py: Python<'_>, region: Arc<Region>, timeout: Duration) -> PyResult<OwnedTransaction> {
        let transaction = begin(py, &region, timeout)?;
        // SAFETY: `transaction` borrows the `Region` inside `region`'s heap
        // allocation, which neither moves nor is freed while an `Arc` to it
        // lives. This struct keeps one for as long as it keeps the
        // transaction: the field order drops the transaction first, and
        // `commit` consumes the transaction before the `Arc`. The `'static`
        // lifetime never leaves this struct: `bytes` lends the bytes for as
        // long as `self` is borrowed.
        let transaction =
            unsafe { std::mem::transmute::<Transaction<'_>, Transaction<'static>>(transaction) };
        Ok(OwnedTransaction {
            transaction,
            region,
        })
    }

    fn bytes(&mut self) -> &mut [u8] {
        self.transaction.bytes()
    }

    /// Publishes; in a process forked inside the block, `shm.ForkedUpdate`
    /// (nothing published, the parent's lock left alone).
    fn commit(self) -> PyResult<()> {
        let OwnedTransaction {
            transaction,
            region,
        } = self;
        let committed = transaction.commit();
        drop(region);
        committed.map_err(errors::to_py)
    }
}

enum State {
    /// Made by `foo.update()`, not entered yet.
    Ready,
    /// `__enter__` is waiting for the lock.
    Entering,
    /// Inside the block: the lock is held, `bytes` is the value given out.
    Open {
        transaction: OwnedTransaction,
        bytes: Arc<LocalBytes>,
    },
    /// Ended (published or discarded).
    Done,
}

/// The context manager `foo.update()` returns: `with foo.update() as f:`
/// publishes `f` when the block ends, or nothing if it raises.
#[pyclass(frozen, module = "shm", name = "Update")]
pub(crate) struct Update {
    region: Arc<Region>,
    offset: usize,
    info: Arc<StructInfo>,
    /// How long `__enter__` waits for the lock.
    timeout: Duration,
    state: Mutex<State>,
}

impl Update {
    pub(crate) fn new(view: &Shared, timeout: Duration) -> Update {
        Update {
            region: view.region.clone(),
            offset: view.offset,
            info: view.info.clone(),
            timeout,
            state: Mutex::new(State::Ready),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl Update {
    /// Takes the writer lock (the interpreter released while waiting) and
    /// returns a private copy of the struct to change.
    fn __enter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        {
            let mut state = self.state();
            if !matches!(*state, State::Ready) {
                return Err(PyRuntimeError::new_err(
                    "this update() block was entered already; call update() again for another",
                ));
            }
            *state = State::Entering;
        }
        let entered = (|| {
            let mut transaction = OwnedTransaction::begin(py, self.region.clone(), self.timeout)?;
            let range = self.offset..self.offset + self.info.size();
            let bytes = LocalBytes::new(transaction.bytes()[range].to_vec());
            let value = new_value(py, &self.info, bytes.clone(), 0)?;
            Ok((transaction, bytes, value))
        })();
        let mut state = self.state();
        match entered {
            Ok((transaction, bytes, value)) => {
                *state = State::Open { transaction, bytes };
                Ok(value)
            }
            Err(e) => {
                *state = State::Done;
                Err(e)
            }
        }
    }

    /// Publishes the value if the block ended normally, discards it if it
    /// raised; releases the lock either way. Never swallows the exception.
    #[pyo3(signature = (exc_type = None, _exc = None, _traceback = None))]
    fn __exit__(
        &self,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let state = std::mem::replace(&mut *self.state(), State::Done);
        let State::Open {
            mut transaction,
            bytes,
        } = state
        else {
            return Err(PyRuntimeError::new_err(
                "__exit__ of an update() block that is not open",
            ));
        };
        if exc_type.is_none_or(|t| t.is_none()) {
            let range = self.offset..self.offset + self.info.size();
            transaction.bytes()[range].copy_from_slice(&bytes.lock());
            transaction.commit()?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = match *self.state() {
            State::Ready => "not entered",
            State::Entering => "waiting for the lock",
            State::Open { .. } => "open",
            State::Done => "done",
        };
        format!("<shm.Update of {} ({state})>", self.info.name())
    }
}
