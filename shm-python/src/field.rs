//! Reading and writing one field of any view, shared or plain: a scalar
//! is a Python `int` or `float`; an array or nested struct is a view of the
//! same memory (so `foo.inner.x = 5` writes where `foo` lives).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::array::ArrayView;
use crate::convert;
use crate::layout::{encode, StructInfo, Ty};
use crate::memory::Mem;
use crate::shared::Shared;
use crate::value::new_value;

/// `parent.name`, or `name` at the top.
pub(crate) fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// The field of type `ty` at `offset` of `mem`, as Python sees it.
/// `root` is the region's top struct (for shared views), `path` the
/// field's path from it.
pub(crate) fn get(
    py: Python<'_>,
    mem: &Mem,
    root: &Arc<StructInfo>,
    offset: usize,
    ty: &Ty,
    path: &dyn Fn() -> String,
) -> PyResult<Py<PyAny>> {
    match ty {
        Ty::Scalar(p) => convert::to_py(py, mem.load(offset, *p)?),
        Ty::Array(info) => ArrayView {
            mem: mem.clone(),
            root: root.clone(),
            offset,
            info: info.clone(),
            path: path(),
        }
        .into_py_any(py),
        Ty::Struct(info) => match mem {
            Mem::Region(region) => Shared {
                region: region.clone(),
                root: root.clone(),
                info: info.clone(),
                offset,
                path: path(),
            }
            .into_py_any(py),
            Mem::Local(bytes) => Ok(new_value(py, info, bytes.clone(), offset)?.unbind()),
        },
    }
}

/// Writes `obj` into the field of type `ty` at `offset` of `mem`: a scalar
/// with one store (atomic in a region), an array or struct whole (one
/// update in a region).
pub(crate) fn set(
    py: Python<'_>,
    mem: &Mem,
    offset: usize,
    ty: &Ty,
    obj: &Bound<'_, PyAny>,
    path: &dyn Fn() -> String,
) -> PyResult<()> {
    match ty {
        Ty::Scalar(p) => mem.store(offset, *p, convert::to_value(obj, *p, path)?),
        Ty::Array(_) | Ty::Struct(_) => {
            let mut bytes = vec![0u8; ty.size()];
            encode(obj, ty, &mut bytes, path)?;
            mem.write(py, offset, &bytes)
        }
    }
}
