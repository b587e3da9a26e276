//! Plain struct values: instances of the user's `shm.Struct` subclasses.
//!
//! A value owns its bytes, exactly as the struct lays them out, so
//! `as_bytes`/`from_bytes` are copies and a snapshot is one allocation.
//! Nested structs and arrays are views of the same bytes (`v.inner.x = 5`
//! changes `v`), as a `&mut Foo` behaves in Rust.

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::exceptions::{PyAttributeError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple, PyType};
use pyo3::{intern, IntoPyObjectExt};
use shm_runtime::Value;

use crate::convert;
use crate::errors;
use crate::field;
use crate::layout::{encode, StructInfo, StructType, Ty};
use crate::memory::{LocalBytes, Mem};

/// The Rust part of every `shm.Struct` value.
#[pyclass(frozen, subclass, module = "shm._shm", name = "StructBase")]
pub(crate) struct StructBase {
    bytes: Arc<LocalBytes>,
    /// Where this struct starts in `bytes` (not 0 for `v.inner`).
    offset: usize,
    info: Arc<StructInfo>,
}

thread_local! {
    /// The value `StructBase.__new__` returns when called from
    /// [`new_value`] (a snapshot, `v.inner`): set right before that call,
    /// taken by it, no Python code in between.
    static MADE_IN_RUST: RefCell<Option<StructBase>> = const { RefCell::new(None) };
}

/// A value of `info`'s class over `bytes`, starting at `offset`, made
/// through `StructBase.__new__` (not the class's `__new__` or `__init__`,
/// which a user may have written for `Foo(...)`).
pub(crate) fn new_value<'py>(
    py: Python<'py>,
    info: &Arc<StructInfo>,
    bytes: Arc<LocalBytes>,
    offset: usize,
) -> PyResult<Bound<'py, PyAny>> {
    static NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let new = NEW.get_or_try_init(py, || {
        py.get_type::<StructBase>()
            .getattr("__new__")
            .map(Bound::unbind)
    })?;
    let value = StructBase {
        bytes,
        offset,
        info: info.clone(),
    };
    MADE_IN_RUST
        .try_with(|slot| *slot.borrow_mut() = Some(value))
        .map_err(|_| PyRuntimeError::new_err("no struct values while a thread exits"))?;
    let made = new.bind(py).call1((info.class.bind(py),));
    // Taken by `__new__` unless it failed before.
    let _ = MADE_IN_RUST.try_with(|slot| slot.borrow_mut().take());
    made
}

/// `PyObject_GenericGetAttr`: the attribute lookup `object` does (the
/// class's methods and properties), for names that are not fields.
pub(crate) fn generic_getattr(
    obj: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
) -> PyResult<Py<PyAny>> {
    // SAFETY: `obj` and `name` are live objects borrowed for the call, and
    // we are attached to the interpreter (we hold a `Bound`);
    // `PyObject_GenericGetAttr` returns a new reference, or NULL with an
    // exception set, which `from_owned_ptr_or_err` takes over.
    unsafe {
        Bound::from_owned_ptr_or_err(
            obj.py(),
            pyo3::ffi::PyObject_GenericGetAttr(obj.as_ptr(), name.as_ptr()),
        )
    }
    .map(Bound::unbind)
}

impl StructBase {
    pub(crate) fn info(&self) -> &Arc<StructInfo> {
        &self.info
    }

    /// A copy of this struct's bytes.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.bytes.lock()[self.offset..self.offset + self.info.size()].to_vec()
    }

    fn mem(&self) -> Mem {
        Mem::Local(self.bytes.clone())
    }
}

#[pymethods]
impl StructBase {
    /// `Foo(bar=1, baz=2)`, or positionally in field order; fields left out
    /// take their defaults (zero unless the class gives one).
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(
        cls: &Bound<'_, PyType>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<StructBase> {
        if args.is_empty() && kwargs.is_none() {
            if let Some(value) = MADE_IN_RUST
                .try_with(|slot| slot.borrow_mut().take())
                .ok()
                .flatten()
            {
                return Ok(value);
            }
        }
        let info = struct_info(cls)?;
        let mut bytes = info.defaults.to_vec();
        let name = info.name();
        if args.len() > info.fields.len() {
            return Err(PyTypeError::new_err(format!(
                "{name}() takes at most {} positional arguments ({} given)",
                info.fields.len(),
                args.len()
            )));
        }
        for (arg, f) in args.iter().zip(&info.fields) {
            let out = &mut bytes[f.offset..f.offset + f.ty.size()];
            encode(&arg, &f.ty, out, &|| format!("{name}.{}", f.name))?;
        }
        if let Some(kwargs) = kwargs {
            for (key, arg) in kwargs.iter() {
                let key = key.cast_into::<PyString>()?;
                let Some(i) = info.lookup(&key).map(|f| field_index(&info, f)) else {
                    return Err(PyTypeError::new_err(format!(
                        "{name}() got an unexpected keyword argument {}: {}",
                        key.repr()?,
                        info.no_field(&key.to_cow()?)
                    )));
                };
                let f = &info.fields[i];
                if i < args.len() {
                    return Err(PyTypeError::new_err(format!(
                        "{name}() got multiple values for argument '{}'",
                        f.name
                    )));
                }
                let out = &mut bytes[f.offset..f.offset + f.ty.size()];
                encode(&arg, &f.ty, out, &|| format!("{name}.{}", f.name))?;
            }
        }
        Ok(StructBase {
            bytes: LocalBytes::new(bytes),
            offset: 0,
            info,
        })
    }

    fn __getattribute__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        if let Some(f) = this.info.lookup(name) {
            if f.on_value {
                return field::get(
                    slf.py(),
                    &this.mem(),
                    &this.info,
                    this.offset + f.offset,
                    &f.ty,
                    &|| f.name.clone(),
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
            Some(f) if f.on_value => field::set(
                py,
                &self.mem(),
                self.offset + f.offset,
                &f.ty,
                value,
                &|| format!("{}.{}", self.info.name(), f.name),
            ),
            _ => Err(PyAttributeError::new_err(
                self.info.no_field(&name.to_cow()?),
            )),
        }
    }

    fn __delattr__(&self, name: &Bound<'_, PyString>) -> PyResult<()> {
        Err(PyAttributeError::new_err(format!(
            "the fields of a `{}` cannot be deleted (`{}`)",
            self.info.name(),
            name.to_cow()?
        )))
    }

    /// Field by field, as Rust's derived `PartialEq` compares (so `NaN`
    /// differs from itself and `0.0` equals `-0.0`).
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<StructBase>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        if !self.info.same_layout(&other.info) {
            return Ok(py.NotImplemented());
        }
        let equal = equal_bytes(
            &self.bytes(),
            &other.bytes(),
            &Ty::Struct(self.info.clone()),
        );
        equal.into_py_any(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut out = String::new();
        repr_struct(py, &self.bytes(), &self.info, &mut out)?;
        Ok(out)
    }

    /// The struct's bytes, exactly as a region (and Rust's `as_bytes`)
    /// holds them.
    fn as_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes())
    }

    /// A value from exactly `size` bytes (bytes, bytearray, memoryview).
    #[classmethod]
    fn from_bytes<'py>(
        cls: &Bound<'py, PyType>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let info = struct_info(cls)?;
        let data: Vec<u8> = if let Ok(bytes) = data.cast::<PyBytes>() {
            bytes.as_bytes().to_vec()
        } else {
            py.get_type::<PyBytes>()
                .call1((data,))?
                .cast_into::<PyBytes>()?
                .as_bytes()
                .to_vec()
        };
        if data.len() != info.size() {
            return Err(errors::to_py(shm_runtime::Error::WrongSize {
                type_name: info.name().to_owned(),
                expected: info.size(),
                found: data.len(),
            }));
        }
        new_value(py, &info, LocalBytes::new(data), 0)
    }

    fn __copy__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        new_value(py, &self.info, LocalBytes::new(self.bytes()), 0)
    }

    fn __deepcopy__<'py>(
        &self,
        py: Python<'py>,
        _memo: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.__copy__(py)
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = self
            .info
            .class
            .bind(py)
            .getattr(intern!(py, "from_bytes"))?;
        Ok((from_bytes, (self.as_bytes(py),)))
    }
}

fn field_index(info: &StructInfo, field: &crate::layout::Field) -> usize {
    info.fields
        .iter()
        .position(|f| std::ptr::eq(f, field))
        .unwrap_or(0)
}

/// The layout of a `shm.Struct` class.
fn struct_info(cls: &Bound<'_, PyType>) -> PyResult<Arc<StructInfo>> {
    let py = cls.py();
    let declared = cls
        .getattr(intern!(py, "__shm_type__"))
        .ok()
        .and_then(|t| t.cast_into::<StructType>().ok());
    match declared {
        Some(t) => Ok(t.get().info.clone()),
        None => Err(PyTypeError::new_err(format!(
            "{} has no fields: subclass shm.Struct and annotate the fields, e.g. \
             `class Foo(shm.Struct): bar: shm.i32`",
            cls.name()?
        ))),
    }
}

/// Whether two copies of a value of `ty` are equal field by field.
pub(crate) fn equal_bytes(a: &[u8], b: &[u8], ty: &Ty) -> bool {
    match ty {
        Ty::Scalar(p) => {
            let value = |bytes: &[u8]| convert::read_scalar(bytes, *p);
            match (value(a), value(b)) {
                (Value::F32(x), Value::F32(y)) => x == y,
                (Value::F64(x), Value::F64(y)) => x == y,
                (x, y) => x == y,
            }
        }
        Ty::Array(info) => (0..info.len).all(|i| {
            let at = i * info.stride;
            equal_bytes(&a[at..], &b[at..], &info.element)
        }),
        Ty::Struct(info) => info
            .fields
            .iter()
            .all(|f| equal_bytes(&a[f.offset..], &b[f.offset..], &f.ty)),
    }
}

/// `Foo(bar=1, inner=Inner(x=2), samples=[1, 2])`.
pub(crate) fn repr_struct(
    py: Python<'_>,
    bytes: &[u8],
    info: &StructInfo,
    out: &mut String,
) -> PyResult<()> {
    out.push_str(info.name());
    out.push('(');
    for (i, f) in info.fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&f.name);
        out.push('=');
        repr_field(py, &bytes[f.offset..], &f.ty, out)?;
    }
    out.push(')');
    Ok(())
}

/// One field's value as Python would print it.
pub(crate) fn repr_field(py: Python<'_>, bytes: &[u8], ty: &Ty, out: &mut String) -> PyResult<()> {
    match ty {
        Ty::Scalar(p) => {
            let value = convert::read_scalar(bytes, *p);
            match value {
                Value::F32(_) | Value::F64(_) => {
                    // Python's own float repr (`1e+16`, `nan`), not Rust's.
                    let shown = convert::to_py(py, value)?.bind(py).repr()?;
                    out.push_str(&shown.to_cow()?);
                }
                other => out.push_str(&other.to_string()),
            }
        }
        Ty::Array(info) => {
            out.push('[');
            for i in 0..info.len {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_field(py, &bytes[i * info.stride..], &info.element, out)?;
            }
            out.push(']');
        }
        Ty::Struct(info) => repr_struct(py, bytes, info, out)?,
    }
    Ok(())
}
