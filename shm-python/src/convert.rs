//! Scalars between Python and a field: `int` and `float` in, checked
//! against the field's type as Python's own conversions check
//! (`OverflowError` out of range, `TypeError` for the wrong kind).

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use shm_runtime::{Primitive, Value};

use crate::errors;

fn is_float(primitive: Primitive) -> bool {
    matches!(primitive, Primitive::F32 | Primitive::F64)
}

/// `obj` as a value for a field of type `primitive`; `field` names the
/// field in messages (computed only for one).
pub(crate) fn to_value(
    obj: &Bound<'_, PyAny>,
    primitive: Primitive,
    field: &dyn Fn() -> String,
) -> PyResult<Value> {
    if is_float(primitive) {
        let v: f64 = obj.extract().map_err(|_| {
            errors::wrong_type(format!(
                "field `{}` is {}: expected a float or an int, got {}",
                field(),
                primitive.name(),
                type_name(obj)
            ))
        })?;
        if primitive == Primitive::F32 {
            let narrowed = v as f32;
            if v.is_finite() && narrowed.is_infinite() {
                return Err(errors::overflow(format!(
                    "{v} is out of range for field `{}`, which is f32",
                    field()
                )));
            }
            return Ok(Value::F32(narrowed));
        }
        return Ok(Value::F64(v));
    }
    let value = match obj.extract::<i64>() {
        Ok(v) => Value::Signed(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => match obj.extract::<u64>() {
            Ok(v) => Value::Unsigned(v),
            Err(_) => return Err(out_of_range(obj, primitive, field)),
        },
        Err(e) if e.is_instance_of::<PyTypeError>(obj.py()) => {
            return Err(errors::wrong_type(format!(
                "field `{}` is {}: expected an int, got {}",
                field(),
                primitive.name(),
                type_name(obj)
            )))
        }
        Err(e) => return Err(e),
    };
    match value.to_bits(primitive) {
        Ok(_) => Ok(value),
        Err(_) => Err(out_of_range(obj, primitive, field)),
    }
}

fn out_of_range(obj: &Bound<'_, PyAny>, primitive: Primitive, field: &dyn Fn() -> String) -> PyErr {
    // The runtime's description of the range ("u8 (0 to 255)"), which it
    // gives when refusing a float for an integer field.
    let expected = Value::F64(0.5)
        .to_bits(primitive)
        .err()
        .map(|e| e.expected)
        .unwrap_or_else(|| primitive.name().to_owned());
    let shown = obj
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "the value".to_owned());
    errors::overflow(format!(
        "{shown} is out of range for field `{}`, which holds {expected}",
        field()
    ))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an object".to_owned())
}

/// A field's value as a Python `int` or `float`.
pub(crate) fn to_py(py: Python<'_>, value: Value) -> PyResult<Py<PyAny>> {
    match value {
        Value::Unsigned(v) => v.into_py_any(py),
        Value::Signed(v) => v.into_py_any(py),
        Value::F32(v) => f64::from(v).into_py_any(py),
        Value::F64(v) => v.into_py_any(py),
    }
}

/// The scalar of `primitive` at the start of `bytes`, a copy of a field's
/// bytes, read as the runtime reads it ([`Value::from_ne_bytes`]: in the
/// machine's byte order, as the region's atomics hold it).
///
/// # Panics
///
/// If `bytes` is shorter than the field: callers pass a field's own bytes,
/// which the layout puts inside its struct.
pub(crate) fn read_scalar(bytes: &[u8], primitive: Primitive) -> Value {
    Value::from_ne_bytes(bytes, primitive).expect("a field's bytes lie inside its struct's")
}

/// Writes the bits of a scalar of `primitive` to the start of `bytes`.
pub(crate) fn write_bits(bytes: &mut [u8], primitive: Primitive, bits: u64) {
    match primitive.size() {
        1 => bytes[0] = bits as u8,
        2 => bytes[..2].copy_from_slice(&(bits as u16).to_ne_bytes()),
        4 => bytes[..4].copy_from_slice(&(bits as u32).to_ne_bytes()),
        _ => bytes[..8].copy_from_slice(&bits.to_ne_bytes()),
    }
}
