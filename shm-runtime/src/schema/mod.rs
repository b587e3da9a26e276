//! The owned, run-time description of a shared struct's layout.
//!
//! [`TypeInfo`] is the derive's compile-time description: `&'static`, built
//! in constants. A [`Schema`] says the same things with owned data, so it can
//! come from elsewhere: from the JSON a region embeds ([`Schema::from_json`]),
//! from a struct declared at run time in Python or C
//! ([`StructDesc::repr_c`]), or from a derived type ([`Schema::of`]).
//!
//! Everything that reads or writes a region without its Rust type (the CLI,
//! the Python package, the C ABI, a Zenoh mirror) goes through a schema, so a
//! [`StructDesc`] carries an invariant that such code may rely on for atomic
//! accesses through raw pointers: **every constructor validates**, and a
//! `StructDesc` always describes a layout in which
//! - every field lies inside its struct, fields follow each other in
//!   increasing offset order with neither gaps nor overlap (no implicit
//!   padding, as the derive demands);
//! - every field's offset is a multiple of its type's alignment, which is
//!   at most the struct's alignment: a struct placed at an address aligned
//!   to [`StructDesc::align`] has every scalar naturally aligned;
//! - the alignment is a power of two up to [`MAX_ALIGN`], the size is not
//!   zero, a multiple of the alignment and at most [`MAX_SIZE`], so no
//!   offset arithmetic overflows;
//! - names are identifiers, unique within their struct; nesting is at most
//!   [`MAX_DEPTH`] levels and the whole tree has at most [`MAX_FIELDS`]
//!   fields.
//!
//! The one constructor that does not check is [`Schema::of`]: it takes a
//! derived type's layout, which the derive proved at compile time. Its
//! layout is sound like any other; only a derived struct nested deeper than
//! [`MAX_DEPTH`] or with more than [`MAX_FIELDS`] fields would exceed a
//! limit (and its JSON would then not parse back).
//!
//! # The embedded JSON
//!
//! Every region embeds its schema as JSON, format version 1:
//!
//! ```text
//! {"format":1,"type":"Foo","fingerprint":"0x…","size":8,"align":4,
//!  "fields":[{"name":"bar","offset":0,"type":"i32"},…]}
//! ```
//!
//! A field's `"type"` is a primitive's name (`"u8"` … `"f64"`), an array
//! `{"array":<element>,"len":N}`, or a nested struct
//! `{"struct":"Inner","size":…,"align":…,"fields":[…]}`; the fingerprint is
//! `0x` and 16 lowercase hex digits. [`Schema::to_json`] writes exactly this,
//! without spaces and with the keys in this order: the bytes existing
//! regions hold. [`Schema::from_json`] accepts any formatting of it, but no
//! unknown key.
//!
//! # Files
//!
//! The files split by concern: `validate.rs` holds those checks,
//! `build.rs` lays out a struct by `#[repr(C)]` rules, `json.rs` reads and
//! writes the embedded schema, `path.rs` and `leaves.rs` find fields by
//! path, `offset.rs` finds the scalar at a byte offset, `diff.rs` names what
//! differs between two layouts.

mod build;
mod diff;
mod json;
mod leaves;
mod offset;
mod path;
mod validate;

use std::fmt;

use crate::layout::{FingerprintHasher, Primitive, TypeInfo};
use crate::traits::SharedState;

pub use diff::{diff, summarize, Difference};
pub(crate) use json::write_schema;
pub use json::{RecordedLayout, SchemaError};
pub use leaves::{Leaf, Leaves};
pub use offset::OffsetError;
pub use path::{FieldRef, PathError, PathErrorKind};
pub use validate::{LayoutError, MAX_ALIGN, MAX_DEPTH, MAX_FIELDS, MAX_NAME_LEN, MAX_SIZE};

/// The schema of a region: the struct it holds, by name.
///
/// Equal in information to the derive's [`TypeInfo`] and to the JSON a
/// region embeds; see the [module docs](self) for what it guarantees.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Schema {
    root: StructDesc,
}

/// A struct's layout: its name, size, alignment and fields, validated (see
/// the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StructDesc {
    name: String,
    size: usize,
    align: usize,
    fields: Vec<FieldDesc>,
}

/// One named field of a struct, at a byte offset from the struct's start.
///
/// A field on its own is only a piece of a layout; the checks happen when it
/// becomes part of a [`StructDesc`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldDesc {
    /// The field's name, an identifier.
    pub name: String,
    /// Byte offset from the start of the struct.
    pub offset: usize,
    /// The field's type.
    pub ty: TypeDesc,
}

/// The type of a field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeDesc {
    /// A scalar.
    Primitive(Primitive),
    /// `[element; len]`.
    Array {
        /// The type of each element.
        element: Box<TypeDesc>,
        /// The number of elements.
        len: usize,
    },
    /// A nested struct.
    Struct(StructDesc),
}

impl Schema {
    /// The schema whose root is `root`.
    pub fn new(root: StructDesc) -> Schema {
        Schema { root }
    }

    /// The schema of a type that derives [`SharedState`]: what its regions
    /// embed.
    pub fn of<T: SharedState>() -> Schema {
        // The `SharedState` contract (checked by the derive at compile time)
        // makes `T::TYPE` a valid struct layout, so it needs no checks here.
        Schema::new(StructDesc::from_type_info_trusted(T::NAME, T::TYPE))
    }

    /// The struct's name.
    pub fn name(&self) -> &str {
        &self.root.name
    }

    /// The struct the region holds.
    pub fn root(&self) -> &StructDesc {
        &self.root
    }

    /// The struct the region holds, by value.
    pub fn into_root(self) -> StructDesc {
        self.root
    }

    /// Size of the struct in bytes.
    pub fn size(&self) -> usize {
        self.root.size
    }

    /// Alignment of the struct in bytes.
    pub fn align(&self) -> usize {
        self.root.align
    }

    /// The layout fingerprint, equal to [`TypeInfo::fingerprint`] of the
    /// same layout (so to [`SharedState::FINGERPRINT`]).
    pub fn fingerprint(&self) -> u64 {
        self.root.fingerprint()
    }
}

impl From<StructDesc> for Schema {
    fn from(root: StructDesc) -> Schema {
        Schema::new(root)
    }
}

impl StructDesc {
    /// The struct's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Alignment in bytes.
    pub fn align(&self) -> usize {
        self.align
    }

    /// The fields, in increasing offset order.
    pub fn fields(&self) -> &[FieldDesc] {
        &self.fields
    }

    /// The direct field named `name`, if there is one. For a nested path
    /// such as `inner.x`, see [`StructDesc::field_at`].
    pub fn field(&self, name: &str) -> Option<&FieldDesc> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The layout fingerprint, equal to [`TypeInfo::fingerprint`] of the
    /// same layout. Type names are not part of it.
    pub fn fingerprint(&self) -> u64 {
        self.hash_into(FingerprintHasher::new()).finish()
    }

    fn hash_into(&self, h: FingerprintHasher) -> FingerprintHasher {
        let mut h = h.struct_start(self.size, self.align, self.fields.len());
        for f in &self.fields {
            h = f.ty.hash_into(h.field(&f.name, f.offset));
        }
        h.struct_end()
    }

    /// Converts without any check, for a `TypeInfo` that the `SharedField`
    /// contract already guarantees (a derived type's `TYPE`). The top-level
    /// name is `name`, as the region's schema records it.
    ///
    /// A `TypeInfo` that is not a struct gives a struct without fields; no
    /// `SharedState` type has one.
    pub(crate) fn from_type_info_trusted(name: &str, info: &TypeInfo) -> StructDesc {
        match info {
            TypeInfo::Struct {
                size,
                align,
                fields,
                ..
            } => StructDesc {
                name: name.to_owned(),
                size: *size,
                align: *align,
                fields: fields
                    .iter()
                    .map(|f| FieldDesc {
                        name: f.name.to_owned(),
                        offset: f.offset,
                        ty: TypeDesc::from_type_info_trusted(f.ty),
                    })
                    .collect(),
            },
            TypeInfo::Primitive(_) | TypeInfo::Array { .. } => StructDesc {
                name: name.to_owned(),
                size: info.size(),
                align: 1,
                fields: Vec::new(),
            },
        }
    }
}

impl FieldDesc {
    /// A field named `name` at `offset`, of type `ty`.
    pub fn new(name: impl Into<String>, offset: usize, ty: TypeDesc) -> FieldDesc {
        FieldDesc {
            name: name.into(),
            offset,
            ty,
        }
    }
}

impl TypeDesc {
    /// `[element; len]`.
    pub fn array(element: TypeDesc, len: usize) -> TypeDesc {
        TypeDesc::Array {
            element: Box::new(element),
            len,
        }
    }

    /// Size in bytes. Inside a [`StructDesc`] this never overflows (the
    /// struct was validated); for a description built by hand whose size
    /// does not fit in a `usize` it saturates at `usize::MAX`.
    pub fn size(&self) -> usize {
        match self {
            TypeDesc::Primitive(p) => p.size(),
            TypeDesc::Array { element, len } => element.size().saturating_mul(*len),
            TypeDesc::Struct(s) => s.size,
        }
    }

    /// Alignment in bytes: a primitive's own, an array's element's, a
    /// struct's.
    pub fn align(&self) -> usize {
        match self {
            TypeDesc::Primitive(p) => p.align(),
            TypeDesc::Array { element, .. } => element.align(),
            TypeDesc::Struct(s) => s.align,
        }
    }

    /// The scalar type, if this is one.
    pub fn as_primitive(&self) -> Option<Primitive> {
        match self {
            TypeDesc::Primitive(p) => Some(*p),
            _ => None,
        }
    }

    /// The struct, if this is one.
    pub fn as_struct(&self) -> Option<&StructDesc> {
        match self {
            TypeDesc::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// The layout fingerprint of this type on its own, equal to
    /// [`TypeInfo::fingerprint`] of the same type.
    pub fn fingerprint(&self) -> u64 {
        self.hash_into(FingerprintHasher::new()).finish()
    }

    fn hash_into(&self, h: FingerprintHasher) -> FingerprintHasher {
        match self {
            TypeDesc::Primitive(p) => h.primitive(*p),
            TypeDesc::Array { element, len } => element.hash_into(h.array(*len)),
            TypeDesc::Struct(s) => s.hash_into(h),
        }
    }

    /// Whether both types have the same layout, struct names aside: what the
    /// fingerprint compares, without relying on a hash.
    pub fn same_layout(&self, other: &TypeDesc) -> bool {
        match (self, other) {
            (TypeDesc::Primitive(a), TypeDesc::Primitive(b)) => a == b,
            (
                TypeDesc::Array { element, len },
                TypeDesc::Array {
                    element: other_element,
                    len: other_len,
                },
            ) => len == other_len && element.same_layout(other_element),
            (TypeDesc::Struct(a), TypeDesc::Struct(b)) => a.same_layout(b),
            _ => false,
        }
    }

    fn from_type_info_trusted(info: &TypeInfo) -> TypeDesc {
        match info {
            TypeInfo::Primitive(p) => TypeDesc::Primitive(*p),
            TypeInfo::Array { element, len } => {
                TypeDesc::array(TypeDesc::from_type_info_trusted(element), *len)
            }
            TypeInfo::Struct { name, .. } => {
                TypeDesc::Struct(StructDesc::from_type_info_trusted(name, info))
            }
        }
    }
}

impl StructDesc {
    /// Whether both structs have the same layout, names of struct types
    /// aside (field names count).
    pub fn same_layout(&self, other: &StructDesc) -> bool {
        self.size == other.size
            && self.align == other.align
            && self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .zip(&other.fields)
                .all(|(a, b)| a.name == b.name && a.offset == b.offset && a.ty.same_layout(&b.ty))
    }
}

impl From<Primitive> for TypeDesc {
    fn from(p: Primitive) -> TypeDesc {
        TypeDesc::Primitive(p)
    }
}

impl From<StructDesc> for TypeDesc {
    fn from(s: StructDesc) -> TypeDesc {
        TypeDesc::Struct(s)
    }
}

/// Rust syntax: `u32`, `[u32; 4]`, `[[u8; 2]; 3]`, `Inner`.
impl fmt::Display for TypeDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeDesc::Primitive(p) => f.write_str(p.name()),
            TypeDesc::Array { element, len } => write!(f, "[{element}; {len}]"),
            TypeDesc::Struct(s) => f.write_str(&s.name),
        }
    }
}

/// Checked conversion of any `TypeInfo`: it must be a struct, and it is
/// validated like every other way of making a `StructDesc`. For a type that
/// derives `SharedState`, [`Schema::of`] needs no check.
impl TryFrom<&TypeInfo> for StructDesc {
    type Error = LayoutError;

    fn try_from(info: &TypeInfo) -> Result<StructDesc, LayoutError> {
        match TypeDesc::try_from(info)? {
            TypeDesc::Struct(s) => Ok(s),
            other => Err(LayoutError::NotAStruct {
                found: other.to_string(),
            }),
        }
    }
}

/// Checked conversion of any `TypeInfo`: every struct in it is validated.
impl TryFrom<&TypeInfo> for TypeDesc {
    type Error = LayoutError;

    fn try_from(info: &TypeInfo) -> Result<TypeDesc, LayoutError> {
        TypeDesc::try_from_type_info(info, 0)
    }
}

impl TypeDesc {
    fn try_from_type_info(info: &TypeInfo, depth: usize) -> Result<TypeDesc, LayoutError> {
        // A hand-built `TypeInfo` can nest without end; stop before the
        // stack does.
        if depth > MAX_DEPTH {
            return Err(LayoutError::TooDeep { max: MAX_DEPTH });
        }
        Ok(match info {
            TypeInfo::Primitive(p) => TypeDesc::Primitive(*p),
            TypeInfo::Array { element, len } => {
                TypeDesc::array(TypeDesc::try_from_type_info(element, depth + 1)?, *len)
            }
            TypeInfo::Struct {
                name,
                size,
                align,
                fields,
            } => {
                let fields = fields
                    .iter()
                    .map(|f| {
                        Ok(FieldDesc::new(
                            f.name,
                            f.offset,
                            TypeDesc::try_from_type_info(f.ty, depth + 1)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, LayoutError>>()?;
                TypeDesc::Struct(StructDesc::from_parts(*name, *size, *align, fields)?)
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::SharedField;

    #[test]
    fn of_matches_the_derived_type_info() {
        let schema = Schema::of::<Board>();
        assert_eq!(schema.name(), "Board");
        assert_eq!(schema.size(), size_of::<Board>());
        assert_eq!(schema.align(), align_of::<Board>());
        assert_eq!(schema.fingerprint(), Board::FINGERPRINT);
        let names: Vec<&str> = schema.root().fields().iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["total", "id", "temps", "corners", "_pad"]);
        let corners = &schema.root().fields()[3];
        assert_eq!(corners.offset, 20);
        assert_eq!(corners.ty.to_string(), "[Point; 2]");
        assert_eq!(corners.ty.size(), 8);
        assert_eq!(corners.ty.align(), 2);
    }

    #[test]
    fn checked_conversion_agrees_with_the_trusted_one() {
        for (name, info) in [
            ("Board", Board::TYPE),
            ("Nested", Nested::TYPE),
            ("Scalars", Scalars::TYPE),
        ] {
            let checked = StructDesc::try_from(info).unwrap();
            assert_eq!(checked, StructDesc::from_type_info_trusted(name, info));
            assert_eq!(checked.fingerprint(), info.fingerprint());
        }
    }

    #[test]
    fn checked_conversion_refuses_a_scalar_and_a_bad_layout() {
        assert_eq!(
            StructDesc::try_from(<u32 as SharedField>::TYPE),
            Err(LayoutError::NotAStruct {
                found: "u32".to_owned()
            })
        );
        static U32: TypeInfo = TypeInfo::Primitive(Primitive::U32);
        static OVERLAP: TypeInfo = TypeInfo::Struct {
            name: "Overlap",
            size: 8,
            align: 4,
            fields: &[
                crate::FieldInfo {
                    name: "a",
                    offset: 0,
                    ty: &U32,
                },
                crate::FieldInfo {
                    name: "b",
                    offset: 2,
                    ty: &U32,
                },
            ],
        };
        assert!(StructDesc::try_from(&OVERLAP).is_err());
    }

    #[test]
    fn type_display_is_rust_syntax() {
        let grid = TypeDesc::array(TypeDesc::array(Primitive::U8.into(), 2), 3);
        assert_eq!(grid.to_string(), "[[u8; 2]; 3]");
        assert_eq!(grid.size(), 6);
        assert_eq!(grid.align(), 1);
        let huge = TypeDesc::array(TypeDesc::array(Primitive::U64.into(), usize::MAX), 2);
        assert_eq!(huge.size(), usize::MAX);
    }

    #[test]
    fn same_layout_ignores_struct_names_only() {
        let a = Schema::of::<Nested>().into_root();
        let mut b = a.clone();
        b.name = "Renamed".to_owned();
        assert!(a.same_layout(&b));
        assert_eq!(a.fingerprint(), b.fingerprint());
        let mut c = a.clone();
        c.fields[0].name = "other".to_owned();
        assert!(!a.same_layout(&c));
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}

#[cfg(test)]
mod properties {
    use super::fixtures::{arbitrary_type_info, unrealistic_type_info};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A random valid layout, checked and converted, hashes like the
        /// `TypeInfo` it came from.
        #[test]
        fn owned_description_fingerprints_like_type_info(info in arbitrary_type_info()) {
            let desc = StructDesc::try_from(info);
            prop_assert!(desc.is_ok(), "{:?}", desc);
            let desc = desc.unwrap();
            prop_assert_eq!(desc.fingerprint(), info.fingerprint());
            prop_assert_eq!(TypeDesc::Struct(desc).fingerprint(), info.fingerprint());
        }

        /// The shared hashing holds for any tree, even one whose offsets no
        /// compiler would produce.
        #[test]
        fn any_tree_fingerprints_like_type_info(info in unrealistic_type_info()) {
            let desc = StructDesc::from_type_info_trusted("T", info);
            prop_assert_eq!(desc.fingerprint(), info.fingerprint());
        }
    }
}
