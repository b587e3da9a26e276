//! `shm.Shared`: a handle on a region (or on a struct nested in one).
//! Attributes are the struct's fields in shared memory: reading one is an
//! atomic load, writing one an atomic store, through the runtime's
//! `Region`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyType};
use shm_runtime::{Error, FieldOp, Location, Primitive, Region};

use crate::convert;
use crate::errors;
use crate::field::{self, child_path};
use crate::layout::{type_at, StructInfo};
use crate::memory::{LocalBytes, Mem};
use crate::update::{self, Update};
use crate::value::{generic_getattr, new_value, repr_struct};

/// How long one wait lasts with the interpreter released before it looks
/// for signals (Ctrl-C) and waits again.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// A shared struct: the region's top struct, or one nested in it
/// (`foo.inner`).
#[pyclass(frozen, module = "shm", name = "Shared")]
pub(crate) struct Shared {
    pub region: Arc<Region>,
    /// The region's top struct.
    pub root: Arc<StructInfo>,
    /// This view's struct.
    pub info: Arc<StructInfo>,
    /// Where it starts in the region's struct.
    pub offset: usize,
    /// Its path from the top (empty at the top): `inner`, `corners[1]`.
    pub path: String,
}

/// `None` waits without a deadline; seconds otherwise.
pub(crate) fn timeout(seconds: Option<f64>) -> PyResult<Duration> {
    match seconds {
        None => Ok(Duration::MAX),
        Some(s) if s.is_nan() || s < 0.0 => Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds >= 0, or None to wait without a deadline; got {s}"
        ))),
        Some(s) => Ok(Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)),
    }
}

/// Runs `attempt` with the interpreter released, in slices of at most
/// [`WAIT_SLICE`] (the argument) until it succeeds, checking for signals
/// (Ctrl-C) between slices; `shm.Timeout` once `timeout` has passed
/// (`Duration::MAX`: no deadline). `attempt` reports a slice that ran out
/// with `Error::Timeout`. Every wait of the package goes through here: for
/// a change, for the writer lock.
pub(crate) fn in_slices<T: Send>(
    py: Python<'_>,
    timeout: Duration,
    mut attempt: impl FnMut(Duration) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let slice = match deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(WAIT_SLICE),
            None => WAIT_SLICE,
        };
        match py.detach(|| attempt(slice)) {
            Ok(done) => return Ok(done),
            Err(Error::Timeout {
                location,
                waiting_for,
                ..
            }) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(errors::to_py(Error::Timeout {
                        location,
                        waited: timeout,
                        waiting_for,
                    }));
                }
                py.check_signals()?;
            }
            Err(e) => return Err(errors::to_py(e)),
        }
    }
}

impl Shared {
    pub(crate) fn info(&self) -> &Arc<StructInfo> {
        &self.info
    }

    /// A consistent copy of this struct's bytes.
    pub(crate) fn snapshot_bytes(&self) -> Vec<u8> {
        Mem::Region(self.region.clone()).read(self.offset, self.info.size())
    }

    fn mem(&self) -> Mem {
        Mem::Region(self.region.clone())
    }

    /// `path` below this view, from the top struct.
    fn full_path(&self, path: &str) -> String {
        if path.starts_with('[') {
            format!("{}{path}", self.path)
        } else {
            child_path(&self.path, path)
        }
    }

    /// The scalar at `path` and its type, for the atomic operations.
    fn scalar(&self, path: &str) -> PyResult<(String, Primitive)> {
        let full = self.full_path(path);
        let (_, primitive) = self.region.scalar(&full).map_err(errors::to_py)?;
        Ok((full, primitive))
    }

    fn fetch(
        &self,
        py: Python<'_>,
        path: &str,
        op: FieldOp,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let (full, primitive) = self.scalar(path)?;
        let float = matches!(primitive, Primitive::F32 | Primitive::F64);
        if float && matches!(op, FieldOp::And | FieldOp::Or | FieldOp::Xor) {
            return Err(PyTypeError::new_err(format!(
                "field `{full}` is {}: bitwise operations need an integer field",
                primitive.name()
            )));
        }
        let operand = convert::to_value(value, primitive, &|| full.clone())?;
        let old = self
            .region
            .fetch(&full, op, operand)
            .map_err(errors::to_py)?;
        convert::to_py(py, old)
    }

    fn location_text(&self) -> String {
        match self.region.location() {
            Location::File(path) => path.display().to_string(),
            Location::Shm(name) => name.clone(),
        }
    }

    fn title(&self) -> String {
        if self.path.is_empty() {
            self.info.name().to_owned()
        } else {
            format!("{}.{} ({})", self.root.name(), self.path, self.info.name())
        }
    }
}

#[pymethods]
impl Shared {
    fn __getattribute__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        if let Some(f) = this.info.lookup(name) {
            if f.on_handle {
                return field::get(
                    slf.py(),
                    &this.mem(),
                    &this.root,
                    this.offset + f.offset,
                    &f.ty,
                    &|| child_path(&this.path, &f.name),
                );
            }
        }
        generic_getattr(slf.as_any(), name)
    }

    fn __setattr__(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyString>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        match self.info.lookup(name) {
            Some(f) if f.on_handle => field::set(
                py,
                &self.mem(),
                self.offset + f.offset,
                &f.ty,
                value,
                &|| child_path(&self.path, &f.name),
            ),
            Some(f) => Err(PyAttributeError::new_err(format!(
                "`{0}` is also the name of a shm.Shared attribute; write the field as \
                 handle[\"{0}\"] = value",
                f.name
            ))),
            None => {
                let name = name.to_cow()?;
                Err(PyAttributeError::new_err(self.info.no_field(&name)))
            }
        }
    }

    fn __delattr__(&self, name: &Bound<'_, PyString>) -> PyResult<()> {
        Err(PyAttributeError::new_err(format!(
            "the fields of a shared `{}` cannot be deleted (`{}`)",
            self.info.name(),
            name.to_cow()?
        )))
    }

    /// The field at `path` (`"bar"`, `"inner.x"`, `"samples[3]"`), below
    /// this view: a number for a scalar (an atomic load), a view for a
    /// struct or an array.
    fn __getitem__(&self, py: Python<'_>, path: &str) -> PyResult<Py<PyAny>> {
        let full = self.full_path(path);
        let found = self.region.field(&full).map_err(errors::to_py)?;
        if let Some(primitive) = found.primitive() {
            let value = self
                .region
                .get_at(found.offset, primitive)
                .map_err(errors::to_py)?;
            return convert::to_py(py, value);
        }
        let ty = type_at(&self.root, &found.path)
            .ok_or_else(|| PyValueError::new_err(format!("no field at `{}`", found.path)))?;
        field::get(py, &self.mem(), &self.root, found.offset, &ty, &|| {
            found.path.clone()
        })
    }

    /// Writes the field at `path`: a scalar with one atomic store, a struct
    /// or array whole, with one update.
    fn __setitem__(&self, py: Python<'_>, path: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let full = self.full_path(path);
        let found = self.region.field(&full).map_err(errors::to_py)?;
        let ty = type_at(&self.root, &found.path)
            .ok_or_else(|| PyValueError::new_err(format!("no field at `{}`", found.path)))?;
        field::set(py, &self.mem(), found.offset, &ty, value, &|| {
            found.path.clone()
        })
    }

    /// Atomically adds `value` to the integer (or float) field at `path`;
    /// returns the old value. Integers wrap at the field's width.
    fn fetch_add(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Add, value)
    }

    /// Atomically subtracts; returns the old value.
    fn fetch_sub(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Sub, value)
    }

    /// Atomic bitwise and; returns the old value.
    fn fetch_and(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::And, value)
    }

    /// Atomic bitwise or; returns the old value.
    fn fetch_or(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Or, value)
    }

    /// Atomic bitwise xor; returns the old value.
    fn fetch_xor(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Xor, value)
    }

    /// Atomically keeps the larger; returns the old value.
    fn fetch_max(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Max, value)
    }

    /// Atomically keeps the smaller; returns the old value.
    fn fetch_min(
        &self,
        py: Python<'_>,
        path: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Min, value)
    }

    /// Atomically replaces the field at `path`; returns the old value.
    fn swap(&self, py: Python<'_>, path: &str, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.fetch(py, path, FieldOp::Swap, value)
    }

    /// Atomically replaces the field at `path` with `new` if it holds
    /// `current`: `(True, old)` if it did, `(False, actual)` if not.
    fn compare_exchange(
        &self,
        py: Python<'_>,
        path: &str,
        current: &Bound<'_, PyAny>,
        new: &Bound<'_, PyAny>,
    ) -> PyResult<(bool, Py<PyAny>)> {
        let (full, primitive) = self.scalar(path)?;
        let current = convert::to_value(current, primitive, &|| full.clone())?;
        let new = convert::to_value(new, primitive, &|| full.clone())?;
        match self
            .region
            .compare_exchange(&full, current, new)
            .map_err(errors::to_py)?
        {
            Ok(old) => Ok((true, convert::to_py(py, old)?)),
            Err(actual) => Ok((false, convert::to_py(py, actual)?)),
        }
    }

    /// A consistent copy of the struct: a plain value of its class, never
    /// torn.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_value(py, &self.info, LocalBytes::new(self.snapshot_bytes()), 0)
    }

    /// `update(fn)`: calls `fn(value)` on a private copy while holding the
    /// region's writer lock and publishes the copy all or nothing (nothing
    /// if `fn` raises); returns what `fn` returns. `update()`: the same as
    /// a `with` block: `with foo.update() as f: f.baz -= 1`.
    ///
    /// Waiting for the lock releases the interpreter and checks for
    /// signals (Ctrl-C) at least every 100 ms; `shm.Timeout` after
    /// `timeout` seconds (`None`: no deadline). `fn` runs with the
    /// interpreter.
    #[pyo3(signature = (f = None, *, timeout = None))]
    fn update(
        slf: &Bound<'_, Self>,
        f: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let timeout = self::timeout(timeout)?;
        match f {
            Some(f) => update::run(py, this, f, timeout),
            None => Ok(Bound::new(py, Update::new(this, timeout))?
                .into_any()
                .unbind()),
        }
    }

    /// Replaces the whole struct with `value` (a value of its class), all
    /// or nothing.
    fn store(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let whole = crate::layout::Ty::Struct(self.info.clone());
        field::set(py, &self.mem(), self.offset, &whole, value, &|| {
            if self.path.is_empty() {
                self.info.name().to_owned()
            } else {
                self.path.clone()
            }
        })
    }

    /// Moves on every update, store and notify (not on field writes).
    #[getter]
    fn version(&self) -> u64 {
        self.region.version()
    }

    /// Moves the version and wakes every process waiting for a change;
    /// returns the new version.
    fn notify(&self) -> PyResult<u64> {
        self.region.notify().map_err(errors::to_py)
    }

    /// Waits until the version differs from `seen` and returns it;
    /// `shm.Timeout` after `timeout` seconds (`None`: no deadline). The
    /// interpreter is released while waiting.
    #[pyo3(signature = (seen, timeout = None))]
    fn wait_for_change(&self, py: Python<'_>, seen: u64, timeout: Option<f64>) -> PyResult<u64> {
        let region = &self.region;
        in_slices(py, self::timeout(timeout)?, |slice| {
            region.wait_for_change(seen, slice)
        })
    }

    /// `msync`: writes a file-backed region to its file now.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let region = &self.region;
        py.detach(|| region.flush()).map_err(errors::to_py)
    }

    /// Whether the call that opened this handle created the region.
    #[getter]
    fn created(&self) -> bool {
        self.region.created()
    }

    /// Whether this handle may only read.
    #[getter]
    fn read_only(&self) -> bool {
        self.region.is_read_only()
    }

    /// The file's path, or the shm object's name (with its leading `/`).
    #[getter]
    fn location(&self) -> String {
        self.location_text()
    }

    /// `"file"` or `"shm"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.region.location() {
            Location::File(_) => "file",
            Location::Shm(_) => "shm",
        }
    }

    /// The class of this struct's values.
    #[getter]
    fn r#type(&self, py: Python<'_>) -> Py<PyType> {
        self.info.class.clone_ref(py)
    }

    /// The schema the region embeds, as JSON.
    #[getter]
    fn schema(&self) -> String {
        self.region.schema().to_json()
    }

    fn __dir__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let names = slf.get_type().dir()?;
        for f in &slf.get().info.fields {
            if f.on_handle {
                names.append(f.py_name.bind(slf.py()))?;
            }
        }
        Ok(names)
    }

    /// The current value, as its class prints it: `Foo(bar=1, baz=2)`.
    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        let mut out = String::new();
        repr_struct(py, &self.snapshot_bytes(), &self.info, &mut out)?;
        Ok(out)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<shm.Shared {} in {} {}: {}>",
            self.title(),
            self.kind(),
            self.location_text(),
            self.__str__(py)?
        ))
    }
}
