//! Opening regions from Python: typed by a declared `shm.Struct` class, or
//! by the schema a region embeds.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use shm_runtime::{RegionOptions, Schema};

use crate::errors;
use crate::layout::{describe, StructType};
use crate::shared::{timeout, Shared};
use crate::value::StructBase;

/// Where to open: a file path or a shm name.
enum Target {
    File(PathBuf),
    Shm(String),
}

/// Opens the region at `target` (`kind` `"file"` or `"shm"`) as
/// `struct_type`, creating it as the options say; without a struct type,
/// any existing region, whose class `class_for(description)` builds from
/// its embedded schema. Waiting for a concurrent creator releases the
/// interpreter.
#[pyfunction]
#[pyo3(signature = (
    target, kind, struct_type = None, *, initial = None, create = true, create_new = false,
    mode = 0o600, timeout = Some(5.0), read_only = false, class_for = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn open(
    py: Python<'_>,
    target: &Bound<'_, PyAny>,
    kind: &str,
    struct_type: Option<&Bound<'_, StructType>>,
    initial: Option<&Bound<'_, PyAny>>,
    create: bool,
    create_new: bool,
    mode: u32,
    timeout: Option<f64>,
    read_only: bool,
    class_for: Option<&Bound<'_, PyAny>>,
) -> PyResult<Shared> {
    let target = match kind {
        "file" => Target::File(target.extract()?),
        "shm" => Target::Shm(
            target
                .extract()
                .map_err(|_| PyTypeError::new_err("a shm name is a str, such as \"such_foo\""))?,
        ),
        other => {
            return Err(PyValueError::new_err(format!(
                "kind is \"file\" or \"shm\", not {other:?}"
            )))
        }
    };
    let mut options = RegionOptions::new();
    options
        .create(create)
        .create_new(create_new)
        .mode(mode)
        .timeout(self::timeout(timeout)?)
        .read_only(read_only);
    if let Some(struct_type) = struct_type {
        let info = &struct_type.get().info;
        options.schema(Schema::new(info.desc.clone()));
        if let Some(initial) = initial {
            options.initial(initial_bytes(initial, info)?);
        }
    } else if initial.is_some() {
        return Err(PyTypeError::new_err(
            "an initial value needs the region's struct: open it as Foo.open_file(path, initial=...)",
        ));
    }
    let region = py
        .detach(|| match &target {
            Target::File(path) => options.open_file(path),
            Target::Shm(name) => options.open_shm(name),
        })
        .map_err(errors::to_py)?;
    let info = match struct_type {
        Some(struct_type) => struct_type.get().info.clone(),
        None => {
            let Some(class_for) = class_for else {
                return Err(PyTypeError::new_err(
                    "open() needs a struct type or class_for",
                ));
            };
            let root = region.schema().root();
            let class = class_for.call1((describe(py, root)?,))?;
            let built = class.getattr("__shm_type__")?.cast_into::<StructType>()?;
            let info = built.get().info.clone();
            if info.desc.fingerprint() != root.fingerprint() || !info.desc.same_layout(root) {
                return Err(errors::to_py(shm_runtime::Error::NotSharedState {
                    location: region.location().clone(),
                    reason: format!(
                        "its schema ({}) does not lay out as a #[repr(C)] struct would",
                        root.name()
                    ),
                }));
            }
            info
        }
    };
    Ok(Shared {
        region: Arc::new(region),
        root: info.clone(),
        info,
        offset: 0,
        path: String::new(),
    })
}

/// The bytes of `initial`: a value of the struct, or its bytes.
fn initial_bytes(
    initial: &Bound<'_, PyAny>,
    info: &crate::layout::StructInfo,
) -> PyResult<Vec<u8>> {
    if let Ok(value) = initial.cast::<StructBase>() {
        let value = value.get();
        if info.same_layout(value.info()) {
            return Ok(value.bytes());
        }
    }
    if let Ok(bytes) = initial.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "initial must be a {} value (or its bytes), not {}",
        info.name(),
        initial.get_type().name()?
    )))
}

/// Removes the POSIX shm object `name` (`shm_unlink`).
#[pyfunction]
pub(crate) fn remove_shm(name: &str) -> PyResult<()> {
    shm_runtime::remove_shm(name).map_err(errors::to_py)
}
