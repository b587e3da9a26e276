//! Struct types declared in Python, laid out by the runtime's `#[repr(C)]`
//! rules (`StructDesc::repr_c`), so a Python class and the same Rust struct
//! have one layout and one fingerprint.
//!
//! A [`StructInfo`] is what every view of a struct (a plain value, a shared
//! handle) reads: the runtime's validated [`StructDesc`], each field's offset
//! and type, the Python class of its values, and the bytes of its default
//! value.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple, PyType};
use pyo3::IntoPyObjectExt;
use shm_runtime::schema::MAX_SIZE;
use shm_runtime::{Primitive, Schema, StructDesc, TypeDesc};

use crate::convert;
use crate::errors;
use crate::shared::Shared;
use crate::value::StructBase;

/// The type of a field.
#[derive(Clone)]
pub(crate) enum Ty {
    Scalar(Primitive),
    Array(Arc<ArrayInfo>),
    Struct(Arc<StructInfo>),
}

/// `[element; len]`.
pub(crate) struct ArrayInfo {
    pub element: Ty,
    pub len: usize,
    /// The element's size: elements follow each other without gaps.
    pub stride: usize,
}

/// One field of a struct type.
pub(crate) struct Field {
    pub name: String,
    /// The name, interned: attribute lookups compare pointers first.
    pub py_name: Py<PyString>,
    pub offset: usize,
    pub ty: Ty,
    /// Reachable as an attribute of a plain value (not a `__dunder__`).
    pub on_value: bool,
    /// Reachable as an attribute of a shared handle: not a dunder, and not
    /// the name of a handle method (`version`, `update`, ...), which wins;
    /// item access (`foo["version"]`) reaches it.
    pub on_handle: bool,
}

/// A struct type: its layout and its Python class.
pub(crate) struct StructInfo {
    pub desc: StructDesc,
    pub fields: Vec<Field>,
    /// The class of its plain values (a subclass of `shm.Struct`).
    pub class: Py<PyType>,
    /// The bytes of `Class()`: each field's default, zero where none.
    pub defaults: Box<[u8]>,
    by_pointer: HashMap<usize, usize, BuildHasherDefault<PointerHasher>>,
    by_name: HashMap<String, usize>,
}

/// Hashes a pointer: the key is already unique, only spread it.
#[derive(Default)]
struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Ty {
    pub(crate) fn size(&self) -> usize {
        match self {
            Ty::Scalar(p) => p.size(),
            Ty::Array(a) => a.stride * a.len,
            Ty::Struct(s) => s.desc.size(),
        }
    }

    /// The runtime's description of this type.
    pub(crate) fn desc(&self) -> TypeDesc {
        match self {
            Ty::Scalar(p) => TypeDesc::Primitive(*p),
            Ty::Array(a) => TypeDesc::array(a.element.desc(), a.len),
            Ty::Struct(s) => TypeDesc::Struct(s.desc.clone()),
        }
    }

    /// The spec object Python sees for this type: `shm.Scalar`,
    /// `shm.ArrayType` or `shm.StructType`.
    pub(crate) fn spec(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Ty::Scalar(p) => Scalar { primitive: *p }.into_py_any(py),
            Ty::Array(a) => ArrayType { info: a.clone() }.into_py_any(py),
            Ty::Struct(s) => StructType { info: s.clone() }.into_py_any(py),
        }
    }

    fn from_spec(spec: &Bound<'_, PyAny>) -> PyResult<Ty> {
        if let Ok(s) = spec.cast::<Scalar>() {
            return Ok(Ty::Scalar(s.get().primitive));
        }
        if let Ok(a) = spec.cast::<ArrayType>() {
            return Ok(Ty::Array(a.get().info.clone()));
        }
        if let Ok(s) = spec.cast::<StructType>() {
            return Ok(Ty::Struct(s.get().info.clone()));
        }
        Err(PyTypeError::new_err(format!(
            "expected a field type (shm.Scalar, shm.ArrayType or shm.StructType), got {}",
            spec.repr()?
        )))
    }
}

impl StructInfo {
    pub(crate) fn name(&self) -> &str {
        self.desc.name()
    }

    pub(crate) fn size(&self) -> usize {
        self.desc.size()
    }

    /// The field named `name`, found by the interned string's address
    /// first (attribute names in code are interned), then by its text.
    #[inline]
    pub(crate) fn lookup(&self, name: &Bound<'_, PyString>) -> Option<&Field> {
        // Our own interned names are kept alive by `self`, so an equal
        // address is the same string object.
        if let Some(&i) = self.by_pointer.get(&(name.as_ptr() as usize)) {
            return Some(&self.fields[i]);
        }
        let text = name.to_str().ok()?;
        self.by_name.get(text).map(|&i| &self.fields[i])
    }

    /// "`Foo` has no field `x`; its fields are `bar`, `baz`".
    pub(crate) fn no_field(&self, name: &str) -> String {
        let names: Vec<String> = self
            .fields
            .iter()
            .map(|f| format!("`{}`", f.name))
            .collect();
        format!(
            "`{}` has no field `{name}`; its fields are {}",
            self.name(),
            names.join(", ")
        )
    }

    /// Whether values of `other` can stand for values of this struct: the
    /// same layout and field names (struct names aside).
    pub(crate) fn same_layout(&self, other: &StructInfo) -> bool {
        std::ptr::eq(self, other) || self.desc.same_layout(&other.desc)
    }
}

/// Writes `obj`, a value for a field of type `ty`, into `out` (the field's
/// bytes); `path` names the field in messages.
pub(crate) fn encode(
    obj: &Bound<'_, PyAny>,
    ty: &Ty,
    out: &mut [u8],
    path: &dyn Fn() -> String,
) -> PyResult<()> {
    match ty {
        Ty::Scalar(p) => {
            let value = convert::to_value(obj, *p, path)?;
            // `to_value` checked the range.
            let bits = value
                .to_bits(*p)
                .map_err(|e| errors::overflow(format!("{}: {}", path(), e.expected)))?;
            convert::write_bits(out, *p, bits);
            Ok(())
        }
        Ty::Array(a) => {
            let items: Vec<Bound<'_, PyAny>> = match obj.try_iter() {
                Ok(iter) => iter.collect::<PyResult<_>>()?,
                Err(_) => {
                    return Err(errors::wrong_type(format!(
                        "field `{}` is {}: expected a sequence of {} elements, got {}",
                        path(),
                        ty.desc(),
                        a.len,
                        obj.get_type().name()?
                    )))
                }
            };
            if items.len() != a.len {
                return Err(PyValueError::new_err(format!(
                    "field `{}` is {}: expected {} elements, got {}",
                    path(),
                    ty.desc(),
                    a.len,
                    items.len()
                )));
            }
            for (i, item) in items.iter().enumerate() {
                let at = i * a.stride;
                encode(item, &a.element, &mut out[at..at + a.stride], &|| {
                    format!("{}[{i}]", path())
                })?;
            }
            Ok(())
        }
        Ty::Struct(info) => {
            let bytes = struct_bytes(obj, info, path)?;
            out[..info.size()].copy_from_slice(&bytes);
            Ok(())
        }
    }
}

/// The bytes of `obj`, a value (or shared view) of a struct with `info`'s
/// layout.
fn struct_bytes(
    obj: &Bound<'_, PyAny>,
    info: &StructInfo,
    path: &dyn Fn() -> String,
) -> PyResult<Vec<u8>> {
    if let Ok(value) = obj.cast::<StructBase>() {
        let value = value.get();
        if info.same_layout(value.info()) {
            return Ok(value.bytes());
        }
    } else if let Ok(view) = obj.cast::<Shared>() {
        let view = view.get();
        if info.same_layout(view.info()) {
            return Ok(view.snapshot_bytes());
        }
    }
    Err(errors::wrong_type(format!(
        "field `{}` is {}: expected a {} value, got {}",
        path(),
        info.name(),
        info.name(),
        obj.get_type().name()?
    )))
}

/// Puts the default bytes of `ty` into `out`: nested structs' defaults,
/// zeros elsewhere.
fn fill_defaults(ty: &Ty, out: &mut [u8]) {
    match ty {
        Ty::Scalar(_) => {}
        Ty::Array(a) => {
            for i in 0..a.len {
                fill_defaults(&a.element, &mut out[i * a.stride..(i + 1) * a.stride]);
            }
        }
        Ty::Struct(s) => out[..s.size()].copy_from_slice(&s.defaults),
    }
}

/// A scalar field type: `shm.u8` .. `shm.f64` carry one.
#[pyclass(frozen, module = "shm", name = "Scalar", eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scalar {
    pub primitive: Primitive,
}

#[pymethods]
impl Scalar {
    /// The scalar type named `name`: `"u8"` .. `"u64"`, `"i8"` .. `"i64"`,
    /// `"f32"`, `"f64"` (and `"usize"`, `"isize"`, for regions made in Rust).
    #[new]
    fn new(name: &str) -> PyResult<Scalar> {
        Primitive::from_name(name)
            .map(|primitive| Scalar { primitive })
            .ok_or_else(|| {
                let names: Vec<&str> = Primitive::ALL.iter().map(|p| p.name()).collect();
                PyValueError::new_err(format!(
                    "no scalar type {name:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }

    #[getter]
    fn name(&self) -> &'static str {
        self.primitive.name()
    }

    #[getter]
    fn size(&self) -> usize {
        self.primitive.size()
    }

    #[getter]
    fn align(&self) -> usize {
        self.primitive.align()
    }

    /// Whether it holds floats.
    #[getter]
    fn is_float(&self) -> bool {
        matches!(self.primitive, Primitive::F32 | Primitive::F64)
    }

    fn __repr__(&self) -> String {
        format!("shm.Scalar({:?})", self.primitive.name())
    }
}

/// An array field type, `[element; len]`.
#[pyclass(frozen, module = "shm", name = "ArrayType")]
pub(crate) struct ArrayType {
    pub info: Arc<ArrayInfo>,
}

#[pymethods]
impl ArrayType {
    #[new]
    fn new(element: &Bound<'_, PyAny>, len: usize) -> PyResult<ArrayType> {
        let element = Ty::from_spec(element)?;
        let stride = element.size();
        // Every size computed from a `Ty` stays in range: the runtime's
        // limit on any type's size.
        if stride.checked_mul(len).is_none_or(|size| size > MAX_SIZE) {
            return Err(errors::declaration(format!(
                "the array type `[{}; {len}]` is too large: its size overflows {MAX_SIZE} bytes",
                element.desc()
            )));
        }
        Ok(ArrayType {
            info: Arc::new(ArrayInfo {
                element,
                len,
                stride,
            }),
        })
    }

    #[getter]
    fn element(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.info.element.spec(py)
    }

    #[getter]
    fn len(&self) -> usize {
        self.info.len
    }

    #[getter]
    fn size(&self) -> usize {
        self.info.stride * self.info.len
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<ArrayType>().is_ok_and(|o| {
            Ty::Array(o.get().info.clone()).desc() == Ty::Array(self.info.clone()).desc()
        })
    }

    fn __hash__(&self) -> u64 {
        Ty::Array(self.info.clone()).desc().fingerprint()
    }

    fn __repr__(&self) -> String {
        format!("shm.ArrayType({})", Ty::Array(self.info.clone()).desc())
    }
}

/// The layout of a `shm.Struct` class: `Foo.__shm_type__`.
#[pyclass(frozen, module = "shm", name = "StructType")]
pub(crate) struct StructType {
    pub info: Arc<StructInfo>,
}

#[pymethods]
impl StructType {
    /// Lays out `fields`, a list of `(name, type, default)` (`default` is
    /// `NO_DEFAULT` for none), by the rules of `#[repr(C)]`, aligned to at
    /// least `align`, for the class `cls` named `name`.
    ///
    /// Raises `shm.LayoutError` with the derive's message where `#[repr(C)]`
    /// would insert padding.
    #[new]
    #[pyo3(signature = (cls, name, fields, align = 1))]
    fn new(
        py: Python<'_>,
        cls: Bound<'_, PyType>,
        name: String,
        fields: Vec<(String, Bound<'_, PyAny>, Option<Bound<'_, PyAny>>)>,
        align: usize,
    ) -> PyResult<StructType> {
        if !cls.is_subclass_of::<StructBase>()? {
            return Err(PyTypeError::new_err(format!(
                "{} is not a shm.Struct class",
                cls.name()?
            )));
        }
        let mut declared = Vec::with_capacity(fields.len());
        for (field_name, spec, _) in &fields {
            declared.push((field_name.clone(), Ty::from_spec(spec)?));
        }
        let desc = StructDesc::repr_c_aligned(
            name,
            declared
                .iter()
                .map(|(n, ty)| (n.clone(), ty.desc()))
                .collect(),
            align,
        )
        .map_err(errors::layout)?;
        let handle = py.get_type::<Shared>();
        let mut laid_out = Vec::with_capacity(declared.len());
        for ((field_name, ty), placed) in declared.into_iter().zip(desc.fields()) {
            let dunder = field_name.starts_with("__") && field_name.ends_with("__");
            let on_handle = !dunder && !handle.hasattr(field_name.as_str())?;
            laid_out.push(Field {
                py_name: PyString::intern(py, &field_name).unbind(),
                name: field_name,
                offset: placed.offset,
                ty,
                on_value: !dunder,
                on_handle,
            });
        }
        let mut defaults = crate::memory::zeroed(desc.size())?.into_boxed_slice();
        for (field, (_, _, default)) in laid_out.iter().zip(&fields) {
            let out = &mut defaults[field.offset..field.offset + field.ty.size()];
            fill_defaults(&field.ty, out);
            if let Some(default) = default {
                let owner = desc.name();
                encode(default, &field.ty, out, &|| {
                    format!("{owner}.{}", field.name)
                })?;
            }
        }
        let by_pointer = laid_out
            .iter()
            .enumerate()
            .map(|(i, f)| (f.py_name.as_ptr() as usize, i))
            .collect();
        let by_name = laid_out
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        Ok(StructType {
            info: Arc::new(StructInfo {
                desc,
                fields: laid_out,
                class: cls.unbind(),
                defaults,
                by_pointer,
                by_name,
            }),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.info.name()
    }

    #[getter]
    fn size(&self) -> usize {
        self.info.size()
    }

    #[getter]
    fn align(&self) -> usize {
        self.info.desc.align()
    }

    /// The layout fingerprint, equal to the Rust derive's
    /// (`SharedState::FINGERPRINT`) for the same struct.
    #[getter]
    fn fingerprint(&self) -> u64 {
        self.info.desc.fingerprint()
    }

    /// The schema every region of this struct embeds, as JSON.
    #[getter]
    fn schema(&self) -> String {
        Schema::new(self.info.desc.clone()).to_json()
    }

    /// The class of the struct's values.
    #[getter]
    fn cls(&self, py: Python<'_>) -> Py<PyType> {
        self.info.class.clone_ref(py)
    }

    /// `(name, offset, type)` of each field, in order.
    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for f in &self.info.fields {
            list.append((f.name.as_str(), f.offset, f.ty.spec(py)?))?;
        }
        Ok(list)
    }

    /// The bytes of the struct's default value.
    #[getter]
    fn defaults<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.info.defaults)
    }

    fn __repr__(&self) -> String {
        format!(
            "shm.StructType({}, size={}, align={}, fingerprint={:#018x})",
            self.info.name(),
            self.info.size(),
            self.info.desc.align(),
            self.info.desc.fingerprint()
        )
    }
}

/// A region's struct as nested tuples, for building its Python class:
/// `("struct", name, align, [(field, type), ...])`, where a type is a
/// scalar's name, `("array", type, len)` or a nested struct's tuple.
pub(crate) fn describe<'py>(py: Python<'py>, desc: &StructDesc) -> PyResult<Bound<'py, PyTuple>> {
    fn ty<'py>(py: Python<'py>, t: &TypeDesc) -> PyResult<Bound<'py, PyAny>> {
        Ok(match t {
            TypeDesc::Primitive(p) => PyString::new(py, p.name()).into_any(),
            TypeDesc::Array { element, len } => ("array", ty(py, element)?, *len)
                .into_pyobject(py)?
                .into_any(),
            TypeDesc::Struct(s) => describe(py, s)?.into_any(),
        })
    }
    let fields = PyList::empty(py);
    for f in desc.fields() {
        fields.append((f.name.as_str(), ty(py, &f.ty)?))?;
    }
    PyTuple::new(
        py,
        [
            "struct".into_bound_py_any(py)?,
            desc.name().into_bound_py_any(py)?,
            desc.align().into_bound_py_any(py)?,
            fields.into_any(),
        ],
    )
}

/// Walks a canonical field path (`inner.samples[3]`, as the runtime gives
/// it back) from `root` to the type it names.
pub(crate) fn type_at(root: &Arc<StructInfo>, canonical: &str) -> Option<Ty> {
    let mut ty = Ty::Struct(root.clone());
    let mut rest = canonical;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']')?;
            let index: usize = after[..close].parse().ok()?;
            let Ty::Array(a) = &ty else { return None };
            if index >= a.len {
                return None;
            }
            let element = a.element.clone();
            ty = element;
            rest = &after[close + 1..];
        } else {
            let rest_name = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_name.find(['.', '[']).unwrap_or(rest_name.len());
            let Ty::Struct(s) = &ty else { return None };
            let field = s.fields.iter().find(|f| f.name == rest_name[..end])?;
            let next = field.ty.clone();
            ty = next;
            rest = &rest_name[end..];
        }
    }
    Some(ty)
}
