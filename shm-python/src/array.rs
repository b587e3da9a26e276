//! Array fields: `foo.samples[3]`, `len(foo.samples)`, iteration, slices.
//! A view of the array's memory, shared or plain, like a struct view.

use std::sync::Arc;

use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PySlice, PySliceMethods};
use pyo3::IntoPyObjectExt;

use crate::field;
use crate::layout::{ArrayInfo, StructInfo, Ty};
use crate::memory::{LocalBytes, Mem};
use crate::value::repr_field;

/// A view of an array field: `foo.samples`.
#[pyclass(frozen, sequence, module = "shm", name = "ArrayView")]
pub(crate) struct ArrayView {
    pub mem: Mem,
    /// The top struct of the region (or value) the array is in.
    pub root: Arc<StructInfo>,
    pub offset: usize,
    pub info: Arc<ArrayInfo>,
    /// The array's path from the top struct: `samples`, `inner.grid[1]`.
    pub path: String,
}

/// What an index selects.
enum Selection {
    One(usize),
    Many(Vec<usize>),
}

impl ArrayView {
    fn select(&self, index: &Bound<'_, PyAny>) -> PyResult<Selection> {
        let len = self.info.len;
        if let Ok(slice) = index.cast::<PySlice>() {
            let i = slice.indices(len as isize)?;
            let picked = (0..i.slicelength)
                .map(|k| (i.start + k as isize * i.step) as usize)
                .collect();
            return Ok(Selection::Many(picked));
        }
        let i: isize = index.extract().map_err(|_| {
            if index.is_instance_of::<pyo3::types::PyInt>() {
                return PyIndexError::new_err(format!(
                    "`{}` has {len} elements, so index {index} is out of range",
                    self.path
                ));
            }
            PyTypeError::new_err(format!(
                "`{}` is indexed by an int or a slice, not {}",
                self.path,
                index
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        // `len` fits in an isize (a layout is at most isize::MAX bytes);
        // `i` is anything Python gave.
        let resolved = if i < 0 {
            i.checked_add(len as isize)
        } else {
            Some(i)
        };
        let Some(resolved) = resolved.filter(|&r| r >= 0 && (r as usize) < len) else {
            return Err(PyIndexError::new_err(format!(
                "`{}` has {len} elements, so index {i} is out of range",
                self.path
            )));
        };
        Ok(Selection::One(resolved as usize))
    }

    fn element(&self, py: Python<'_>, i: usize) -> PyResult<Py<PyAny>> {
        field::get(
            py,
            &self.mem,
            &self.root,
            self.offset + i * self.info.stride,
            &self.info.element,
            &|| format!("{}[{i}]", self.path),
        )
    }

    fn set_element(&self, py: Python<'_>, i: usize, value: &Bound<'_, PyAny>) -> PyResult<()> {
        field::set(
            py,
            &self.mem,
            self.offset + i * self.info.stride,
            &self.info.element,
            value,
            &|| format!("{}[{i}]", self.path),
        )
    }

    /// The elements as plain Python values: numbers, lists, struct values
    /// (copies, from one consistent read).
    fn plain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let size = self.info.stride * self.info.len;
        let bytes = LocalBytes::new(self.mem.read(self.offset, size));
        let local = ArrayView {
            mem: Mem::Local(bytes),
            root: self.root.clone(),
            offset: 0,
            info: self.info.clone(),
            path: self.path.clone(),
        };
        let list = PyList::empty(py);
        for i in 0..self.info.len {
            let element = local.element(py, i)?;
            let element = match element.bind(py).cast::<ArrayView>() {
                Ok(nested) => nested.get().plain(py)?.into_any().unbind(),
                Err(_) => element,
            };
            list.append(element)?;
        }
        Ok(list)
    }
}

#[pymethods]
impl ArrayView {
    fn __len__(&self) -> usize {
        self.info.len
    }

    /// An element (`a[3]`, `a[-1]`), or a list of them (`a[1:3]`).
    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match self.select(index)? {
            Selection::One(i) => self.element(py, i),
            Selection::Many(picked) => {
                let list = PyList::empty(py);
                for i in picked {
                    list.append(self.element(py, i)?)?;
                }
                list.into_py_any(py)
            }
        }
    }

    /// `a[3] = 9` (one atomic store in a region); `a[1:3] = [x, y]` (as many
    /// elements as the slice selects, one store each).
    fn __setitem__(
        &self,
        py: Python<'_>,
        index: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        match self.select(index)? {
            Selection::One(i) => self.set_element(py, i, value),
            Selection::Many(picked) => {
                let values: Vec<Bound<'_, PyAny>> = value.try_iter()?.collect::<PyResult<_>>()?;
                if values.len() != picked.len() {
                    return Err(PyValueError::new_err(format!(
                        "the slice of `{}` has {} elements, the value {}: an array's length \
                         cannot change",
                        self.path,
                        picked.len(),
                        values.len()
                    )));
                }
                for (i, v) in picked.into_iter().zip(values) {
                    self.set_element(py, i, &v)?;
                }
                Ok(())
            }
        }
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = PyList::empty(py);
        for i in 0..self.info.len {
            list.append(self.element(py, i)?)?;
        }
        list.as_any().try_iter().map(Bound::into_any)
    }

    /// The elements as a list of plain values (from one consistent read).
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.plain(py)
    }

    /// Equal to any sequence of equal elements (a list, a tuple, another
    /// array).
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let theirs: Vec<Bound<'_, PyAny>> = match other.try_iter() {
            Ok(iter) if !other.is_instance_of::<pyo3::types::PyString>() => {
                iter.collect::<PyResult<_>>()?
            }
            _ => return Ok(py.NotImplemented()),
        };
        if theirs.len() != self.info.len {
            return false.into_py_any(py);
        }
        let ours = self.plain(py)?;
        for (a, b) in ours.iter().zip(theirs) {
            if !a.eq(b)? {
                return false.into_py_any(py);
            }
        }
        true.into_py_any(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let size = self.info.stride * self.info.len;
        let bytes = self.mem.read(self.offset, size);
        let mut out = String::new();
        repr_field(py, &bytes, &Ty::Array(self.info.clone()), &mut out)?;
        Ok(out)
    }

    /// The element type's size times the length.
    #[getter]
    fn nbytes(&self) -> usize {
        self.info.stride * self.info.len
    }
}
