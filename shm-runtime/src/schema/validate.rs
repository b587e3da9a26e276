//! The checks every [`StructDesc`] passes, whatever it was made from: a
//! region's JSON, a struct declared at run time, or a hand-built
//! `TypeInfo`. See the [module docs](super) for the invariant they
//! establish.

use std::collections::HashSet;

use super::{FieldDesc, StructDesc, TypeDesc};

/// The largest alignment a struct may have: a page, as the region header
/// allows for its payload.
pub const MAX_ALIGN: usize = 4096;

/// The largest size of any type: offsets and sizes up to this fit in an
/// `isize`, so pointer arithmetic on them is defined.
pub const MAX_SIZE: usize = isize::MAX as usize;

/// The deepest nesting of structs and arrays below a top-level struct: a
/// struct of scalars has depth 1, each array or nested struct adds one.
pub const MAX_DEPTH: usize = 32;

/// The most fields a whole description may hold, counting each nested
/// struct's fields where they appear (an array of structs counts them once).
pub const MAX_FIELDS: usize = 65_536;

/// The longest struct or field name, in bytes.
pub const MAX_NAME_LEN: usize = 1024;

/// Why a layout was refused.
///
/// The messages of [`PaddingBefore`](Self::PaddingBefore),
/// [`PaddingAfter`](Self::PaddingAfter) and [`ZeroSized`](Self::ZeroSized)
/// are word for word those of `#[derive(SharedState)]`, so a struct declared
/// in Python or C is told the same as one declared in Rust.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A gap between the end of one field and the start of the next.
    #[error(
        "`{struct_name}` has implicit padding before field `{field}`: add an explicit field such \
         as `_pad: [u8; N]` in front of it to fill the gap"
    )]
    PaddingBefore {
        struct_name: String,
        field: String,
        /// The size of the gap in bytes: the `N` to use.
        gap: usize,
    },

    /// A gap between the end of the last field and the end of the struct.
    #[error(
        "`{struct_name}` has implicit padding after its last field `{field}`: add an explicit \
         trailing field such as `_pad: [u8; N]`"
    )]
    PaddingAfter {
        struct_name: String,
        field: String,
        /// The size of the gap in bytes: the `N` to use.
        gap: usize,
    },

    /// A struct of no bytes.
    #[error(
        "`{struct_name}` is zero-sized, and zero-sized structs cannot be shared; add a field \
         that holds data"
    )]
    ZeroSized { struct_name: String },

    /// A struct of some size that lists no fields: all of it would be padding.
    #[error("`{struct_name}` has {size} bytes but no fields; list the fields that hold them")]
    NoFields { struct_name: String, size: usize },

    /// A struct or field name that is not an identifier.
    #[error(
        "{name:?} is not a valid {what} name: expected a letter or `_` followed by letters, \
         digits or `_`, at most {MAX_NAME_LEN} bytes"
    )]
    InvalidName {
        /// `"struct"` or `"field"`.
        what: &'static str,
        name: String,
    },

    /// Two fields of one struct with the same name.
    #[error("`{struct_name}` has two fields named `{field}`; field names must be unique")]
    DuplicateField { struct_name: String, field: String },

    /// A field that starts before the previous one ends.
    #[error(
        "`{struct_name}`: field `{field}` at offset {offset} overlaps field `{previous}`, which \
         ends at offset {previous_end}"
    )]
    Overlap {
        struct_name: String,
        field: String,
        offset: usize,
        previous: String,
        previous_end: usize,
    },

    /// A field whose offset is not a multiple of its type's alignment.
    #[error(
        "`{struct_name}`: field `{field}` at offset {offset} is not aligned: its type `{ty}` \
         needs an offset that is a multiple of {align}"
    )]
    Misaligned {
        struct_name: String,
        field: String,
        ty: String,
        offset: usize,
        align: usize,
    },

    /// A field whose type is aligned more strictly than its struct.
    #[error(
        "`{struct_name}` is aligned to {struct_align} bytes, less than its field `{field}` of \
         type `{ty}` needs ({align})"
    )]
    UnderAligned {
        struct_name: String,
        struct_align: usize,
        field: String,
        ty: String,
        align: usize,
    },

    /// Fields that end past the struct's size.
    #[error(
        "`{struct_name}` is {size} bytes, but its field `{field}` ends at offset {end}, outside it"
    )]
    OutsideStruct {
        struct_name: String,
        size: usize,
        field: String,
        end: usize,
    },

    /// An alignment that is not a power of two, or too large.
    #[error(
        "`{struct_name}` has alignment {align}: expected a power of two from 1 to {MAX_ALIGN}"
    )]
    BadAlign { struct_name: String, align: usize },

    /// A size that is not a multiple of the alignment.
    #[error("`{struct_name}` is {size} bytes, not a multiple of its alignment {align}")]
    SizeNotMultipleOfAlign {
        struct_name: String,
        size: usize,
        align: usize,
    },

    /// A type, or a struct, larger than [`MAX_SIZE`].
    #[error("`{struct_name}`: field `{field}` is too large: its size overflows {MAX_SIZE} bytes")]
    TooLarge { struct_name: String, field: String },

    /// Structs and arrays nested deeper than [`MAX_DEPTH`].
    #[error("types are nested more than {max} levels deep")]
    TooDeep { max: usize },

    /// More fields in total than [`MAX_FIELDS`].
    #[error("more than {max} fields in total")]
    TooManyFields { max: usize },

    /// A top-level description that is not a struct.
    #[error("expected a struct, found `{found}`")]
    NotAStruct { found: String },
}

impl StructDesc {
    /// A struct with the given layout, after checking every rule in the
    /// [module docs](super): use it when offsets come from elsewhere (a C
    /// compiler, a file); [`StructDesc::repr_c`] computes them instead.
    ///
    /// The nested structs in the fields' types are already valid, being
    /// `StructDesc`s themselves.
    ///
    /// # Errors
    ///
    /// The first rule broken, in field order, as a [`LayoutError`] that names
    /// the struct, the field, and what was expected and found.
    pub fn from_parts(
        name: impl Into<String>,
        size: usize,
        align: usize,
        fields: Vec<FieldDesc>,
    ) -> Result<StructDesc, LayoutError> {
        let name = name.into();
        check_name("struct", &name)?;
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return Err(LayoutError::BadAlign {
                struct_name: name,
                align,
            });
        }
        if fields.len() > MAX_FIELDS {
            return Err(LayoutError::TooManyFields { max: MAX_FIELDS });
        }

        let mut seen = HashSet::with_capacity(fields.len());
        // Where the next field must start: the end of the previous one.
        let mut end = 0usize;
        let mut previous: Option<&str> = None;
        let mut total_fields = fields.len();
        for field in &fields {
            check_name("field", &field.name)?;
            if !seen.insert(field.name.as_str()) {
                return Err(LayoutError::DuplicateField {
                    struct_name: name,
                    field: field.name.clone(),
                });
            }
            let shape = shape_of(&field.ty).ok_or_else(|| LayoutError::TooLarge {
                struct_name: name.clone(),
                field: field.name.clone(),
            })?;
            // Before anything formats the type: a hand-built chain of
            // arrays may be too deep to print by recursion.
            if 1 + shape.depth > MAX_DEPTH {
                return Err(LayoutError::TooDeep { max: MAX_DEPTH });
            }
            if shape.align > align {
                return Err(LayoutError::UnderAligned {
                    struct_name: name,
                    struct_align: align,
                    field: field.name.clone(),
                    ty: field.ty.to_string(),
                    align: shape.align,
                });
            }
            if field.offset % shape.align != 0 {
                return Err(LayoutError::Misaligned {
                    struct_name: name,
                    field: field.name.clone(),
                    ty: field.ty.to_string(),
                    offset: field.offset,
                    align: shape.align,
                });
            }
            if field.offset < end {
                return Err(LayoutError::Overlap {
                    struct_name: name,
                    field: field.name.clone(),
                    offset: field.offset,
                    previous: previous.unwrap_or_default().to_owned(),
                    previous_end: end,
                });
            }
            if field.offset > end {
                return Err(LayoutError::PaddingBefore {
                    struct_name: name,
                    field: field.name.clone(),
                    gap: field.offset - end,
                });
            }
            end = match field.offset.checked_add(shape.size) {
                Some(end) if end <= MAX_SIZE => end,
                _ => {
                    return Err(LayoutError::TooLarge {
                        struct_name: name,
                        field: field.name.clone(),
                    })
                }
            };
            previous = Some(&field.name);
            total_fields = total_fields.saturating_add(shape.fields);
        }

        match previous {
            Some(last) if end > size => {
                return Err(LayoutError::OutsideStruct {
                    struct_name: name,
                    size,
                    field: last.to_owned(),
                    end,
                })
            }
            Some(last) if end < size => {
                return Err(LayoutError::PaddingAfter {
                    struct_name: name,
                    field: last.to_owned(),
                    gap: size - end,
                })
            }
            None if size > 0 => {
                return Err(LayoutError::NoFields {
                    struct_name: name,
                    size,
                })
            }
            _ => {}
        }
        if size == 0 {
            return Err(LayoutError::ZeroSized { struct_name: name });
        }
        if size % align != 0 {
            return Err(LayoutError::SizeNotMultipleOfAlign {
                struct_name: name,
                size,
                align,
            });
        }
        if total_fields > MAX_FIELDS {
            return Err(LayoutError::TooManyFields { max: MAX_FIELDS });
        }
        Ok(StructDesc {
            name,
            size,
            align,
            fields,
        })
    }

    /// Levels of nesting, and fields in the whole tree (nested structs'
    /// counted where they appear), in one walk: computing each by its own
    /// recursion would visit a tree of depth `n` `2^n` times.
    fn tree_stats(&self) -> (usize, usize) {
        self.fields
            .iter()
            .fold((1, self.fields.len()), |(depth, fields), f| {
                let (field_depth, field_fields) =
                    shape_of(&f.ty).map_or((0, 0), |s| (s.depth, s.fields));
                (
                    depth.max(1 + field_depth),
                    fields.saturating_add(field_fields),
                )
            })
    }
}

/// What a field's type contributes to its struct.
struct Shape {
    size: usize,
    align: usize,
    /// Levels of arrays and structs: 0 for a scalar.
    depth: usize,
    /// Fields of the nested structs in it.
    fields: usize,
}

/// The shape of `ty`, or `None` when its size overflows [`MAX_SIZE`].
///
/// Walks a chain of arrays in a loop, not by recursion, so a hand-built
/// chain of any length cannot exhaust the stack; a nested struct is a valid
/// `StructDesc`, so recursing into it is bounded by [`MAX_DEPTH`].
fn shape_of(ty: &TypeDesc) -> Option<Shape> {
    let mut ty = ty;
    let mut count = 1usize;
    let mut arrays = 0usize;
    let (size, align, depth, fields) = loop {
        match ty {
            TypeDesc::Array { element, len } => {
                count = count.checked_mul(*len)?;
                arrays += 1;
                ty = element;
            }
            TypeDesc::Primitive(p) => break (p.size(), p.align(), 0, 0),
            TypeDesc::Struct(s) => {
                let (depth, fields) = s.tree_stats();
                break (s.size, s.align, depth, fields);
            }
        }
    };
    let size = count.checked_mul(size).filter(|&s| s <= MAX_SIZE)?;
    Some(Shape {
        size,
        align,
        depth: arrays + depth,
        fields,
    })
}

/// A name is an identifier: a letter or `_`, then letters, digits or `_`
/// (Unicode letters and digits included, as Rust and Python allow).
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    first_ok && name.len() <= MAX_NAME_LEN && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn check_name(what: &'static str, name: &str) -> Result<(), LayoutError> {
    if is_identifier(name) {
        Ok(())
    } else {
        Err(LayoutError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Primitive;

    fn scalar(p: Primitive) -> TypeDesc {
        TypeDesc::Primitive(p)
    }

    fn field(name: &str, offset: usize, p: Primitive) -> FieldDesc {
        FieldDesc::new(name, offset, scalar(p))
    }

    #[test]
    fn accepts_a_tight_layout() {
        let s = StructDesc::from_parts(
            "Foo",
            8,
            4,
            vec![
                field("bar", 0, Primitive::I32),
                field("baz", 4, Primitive::I32),
            ],
        )
        .unwrap();
        assert_eq!(s.size(), 8);
        assert_eq!(s.tree_stats(), (1, 2));
    }

    #[test]
    fn over_alignment_is_allowed() {
        // `#[repr(C, align(16))] struct A { x: [u64; 2] }`
        let x = FieldDesc::new("x", 0, TypeDesc::array(scalar(Primitive::U64), 2));
        assert!(StructDesc::from_parts("A", 16, 16, vec![x]).is_ok());
    }

    #[test]
    fn each_rule_has_its_error() {
        let err = |size, align, fields| StructDesc::from_parts("Foo", size, align, fields);
        use Primitive::*;
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U32), field("b", 2, U32)]),
            Err(LayoutError::Misaligned {
                offset: 2,
                align: 4,
                ..
            })
        ));
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U64)]),
            Err(LayoutError::UnderAligned { .. })
        ));
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U32), field("b", 2, U16)]),
            Err(LayoutError::Overlap {
                previous_end: 4,
                ..
            })
        ));
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U8), field("b", 4, U32)]),
            Err(LayoutError::PaddingBefore { gap: 3, .. })
        ));
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U32)]),
            Err(LayoutError::PaddingAfter { gap: 4, .. })
        ));
        assert!(matches!(
            err(4, 4, vec![field("a", 0, U32), field("b", 4, U32)]),
            Err(LayoutError::OutsideStruct {
                end: 8,
                size: 4,
                ..
            })
        ));
        assert!(matches!(
            err(6, 4, vec![field("a", 0, U32), field("b", 4, U16)]),
            Err(LayoutError::SizeNotMultipleOfAlign { .. })
        ));
        assert!(matches!(
            err(0, 1, vec![]),
            Err(LayoutError::ZeroSized { .. })
        ));
        assert!(matches!(
            err(4, 1, vec![]),
            Err(LayoutError::NoFields { .. })
        ));
        for align in [0, 3, 8192] {
            assert!(matches!(
                err(8192, align, vec![]),
                Err(LayoutError::BadAlign { .. })
            ));
        }
        assert!(matches!(
            err(8, 4, vec![field("a", 0, U32), field("a", 4, U32)]),
            Err(LayoutError::DuplicateField { .. })
        ));
        for bad in ["", "1a", "a.b", "a[0]", "a b", "a-b"] {
            assert!(matches!(
                err(4, 4, vec![field(bad, 0, U32)]),
                Err(LayoutError::InvalidName { what: "field", .. })
            ));
        }
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(matches!(
            StructDesc::from_parts(long, 4, 4, vec![field("a", 0, U32)]),
            Err(LayoutError::InvalidName { what: "struct", .. })
        ));
    }

    #[test]
    fn unicode_and_underscore_names_are_identifiers() {
        for good in ["_", "_pad", "größe", "x1", "Ωmega"] {
            assert!(is_identifier(good), "{good}");
        }
    }

    #[test]
    fn sizes_never_overflow() {
        let huge = TypeDesc::array(TypeDesc::array(scalar(Primitive::U64), usize::MAX / 4), 4);
        assert!(matches!(
            StructDesc::from_parts("Foo", 8, 8, vec![FieldDesc::new("a", 0, huge)]),
            Err(LayoutError::TooLarge { .. })
        ));
        let just_over = TypeDesc::array(scalar(Primitive::U8), MAX_SIZE);
        assert!(matches!(
            StructDesc::from_parts(
                "Foo",
                8,
                8,
                vec![
                    field("a", 0, Primitive::U8),
                    FieldDesc::new("b", 1, just_over)
                ]
            ),
            Err(LayoutError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_long_array_chain_is_refused_without_recursion() {
        let mut ty = scalar(Primitive::U8);
        for _ in 0..MAX_DEPTH {
            ty = TypeDesc::array(ty, 1);
        }
        assert!(matches!(
            StructDesc::from_parts("Deep", 1, 1, vec![FieldDesc::new("a", 0, ty)]),
            Err(LayoutError::TooDeep { max: MAX_DEPTH })
        ));
    }

    #[test]
    fn nesting_depth_is_bounded() {
        let mut inner =
            StructDesc::from_parts("S", 1, 1, vec![field("x", 0, Primitive::U8)]).unwrap();
        for level in 2..=MAX_DEPTH {
            inner = StructDesc::from_parts("S", 1, 1, vec![FieldDesc::new("x", 0, inner.into())])
                .unwrap();
            assert_eq!(inner.tree_stats().0, level);
        }
        assert_eq!(
            StructDesc::from_parts("S", 1, 1, vec![FieldDesc::new("x", 0, inner.into())]),
            Err(LayoutError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn field_count_is_bounded() {
        let wide: Vec<FieldDesc> = (0..=MAX_FIELDS)
            .map(|i| field(&format!("f{i}"), i, Primitive::U8))
            .collect();
        assert_eq!(
            StructDesc::from_parts("W", MAX_FIELDS + 1, 1, wide),
            Err(LayoutError::TooManyFields { max: MAX_FIELDS })
        );
        // 300 fields, each a struct of 300: too many in total.
        let row: Vec<FieldDesc> = (0..300)
            .map(|i| field(&format!("f{i}"), i, Primitive::U8))
            .collect();
        let row = StructDesc::from_parts("Row", 300, 1, row).unwrap();
        let rows: Vec<FieldDesc> = (0..300)
            .map(|i| FieldDesc::new(format!("r{i}"), i * 300, row.clone().into()))
            .collect();
        assert_eq!(
            StructDesc::from_parts("Table", 90_000, 1, rows),
            Err(LayoutError::TooManyFields { max: MAX_FIELDS })
        );
    }

    #[test]
    fn zero_length_arrays_take_no_room() {
        let empty = FieldDesc::new("none", 0, TypeDesc::array(scalar(Primitive::U32), 0));
        let s = StructDesc::from_parts("Z", 4, 4, vec![empty, field("a", 0, Primitive::U32)]);
        assert!(s.is_ok(), "{s:?}");
    }
}
