//! Scalars by byte offset: the one that starts at an offset, as C names a
//! field with `offsetof(Foo, inner.x)`. Found by descending the layout, one
//! step per struct or array level, not by a walk over every scalar.

use std::fmt::Write as _;

use super::{Leaf, Schema, StructDesc, TypeDesc};

/// No scalar starts at the offset; says what is there instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OffsetError {
    /// The offset is at or past the end of the struct.
    #[error("offset {offset} is past the end of `{struct_name}` ({size} bytes)")]
    PastTheEnd {
        offset: usize,
        struct_name: String,
        size: usize,
    },

    /// The offset falls inside `scalar`, after its first byte.
    #[error(
        "offset {offset} is inside `{}` ({}, bytes {}..{}), not at its start",
        .scalar.path,
        .scalar.primitive.name(),
        .scalar.offset,
        .scalar.offset + .scalar.primitive.size()
    )]
    InsideScalar { offset: usize, scalar: Leaf },

    /// No field covers the offset. A validated layout has no gaps between
    /// its fields, so this does not happen; it is an answer rather than a
    /// panic all the same.
    #[error("no field covers offset {offset}")]
    Uncovered { offset: usize },
}

impl Schema {
    /// The scalar that starts `offset` bytes into the struct: its canonical
    /// path (`sensors[1].pos.y`), offset and type, as
    /// [`leaves`](Schema::leaves) lists it.
    ///
    /// # Errors
    ///
    /// An [`OffsetError`] that names the scalar the offset falls inside, or
    /// the struct's size when the offset is past its end.
    pub fn scalar_at(&self, offset: usize) -> Result<Leaf, OffsetError> {
        self.root().scalar_at(offset)
    }
}

impl StructDesc {
    /// The scalar that starts `offset` bytes into this struct, as
    /// [`Schema::scalar_at`] finds it; offsets are from the start of this
    /// struct.
    ///
    /// # Errors
    ///
    /// As [`Schema::scalar_at`].
    pub fn scalar_at(&self, offset: usize) -> Result<Leaf, OffsetError> {
        if offset >= self.size() {
            return Err(OffsetError::PastTheEnd {
                offset,
                struct_name: self.name().to_owned(),
                size: self.size(),
            });
        }
        let mut path = String::new();
        // The start of the node being looked into, from the start of this
        // struct. No sum overflows: each stays inside the validated struct,
        // of at most `MAX_SIZE` bytes.
        let mut base = 0usize;
        let mut fields = self.fields();
        loop {
            // Fields are in offset order without overlap, so their ends only
            // grow: the first that ends after `offset` is the only one that
            // can cover it. A zero-sized field covers nothing and is passed
            // over.
            let first_after = fields.partition_point(|f| base + f.offset + f.ty.size() <= offset);
            let Some(field) = fields
                .get(first_after)
                .filter(|f| base + f.offset <= offset)
            else {
                return Err(OffsetError::Uncovered { offset });
            };
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&field.name);
            base += field.offset;
            let mut ty = &field.ty;
            // Down through arrays to the element that covers the offset, to
            // a nested struct (looked into by the outer loop), or to the
            // scalar.
            fields = loop {
                match ty {
                    TypeDesc::Array { element, .. } => {
                        // Not zero: a zero-sized array covers nothing, so it
                        // was passed over above (`max` only keeps a division
                        // by zero out of reach).
                        let stride = element.size().max(1);
                        let index = (offset - base) / stride;
                        let _ = write!(path, "[{index}]");
                        base += index * stride;
                        ty = element;
                    }
                    TypeDesc::Struct(inner) => break inner.fields(),
                    TypeDesc::Primitive(primitive) => {
                        let scalar = Leaf {
                            path,
                            offset: base,
                            primitive: *primitive,
                        };
                        return if base == offset {
                            Ok(scalar)
                        } else {
                            Err(OffsetError::InsideScalar { offset, scalar })
                        };
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::Primitive;

    /// Every offset from the start to a little past the end: the scalar
    /// that starts there, else the one it falls inside, else past the end.
    fn check_every_offset(schema: &Schema) {
        let leaves: Vec<Leaf> = schema.leaves().collect();
        for offset in 0..schema.size() + 3 {
            let found = schema.scalar_at(offset);
            let covering = leaves
                .iter()
                .find(|l| l.offset <= offset && offset < l.offset + l.primitive.size());
            match (found, covering) {
                (Ok(found), Some(leaf)) if leaf.offset == offset => assert_eq!(&found, leaf),
                (Err(OffsetError::InsideScalar { offset: at, scalar }), Some(leaf)) => {
                    assert_eq!((at, &scalar), (offset, leaf));
                }
                (Err(OffsetError::PastTheEnd { size, .. }), None) => {
                    assert!(offset >= size && size == schema.size());
                }
                (found, covering) => {
                    panic!(
                        "{}: offset {offset}: {found:?}, covered by {covering:?}",
                        schema.name()
                    )
                }
            }
        }
    }

    #[test]
    fn every_scalar_is_found_at_its_offset_and_nothing_else_is() {
        for schema in [
            Schema::of::<Nested>(),
            Schema::of::<Board>(),
            Schema::of::<Grid>(),
            Schema::of::<Scalars>(),
        ] {
            check_every_offset(&schema);
        }
    }

    #[test]
    fn a_miss_names_the_field_it_landed_in() {
        let error = |offset| Schema::of::<Nested>().scalar_at(offset).unwrap_err();
        assert_eq!(
            error(5).to_string(),
            "offset 5 is inside `inner.x` (u32, bytes 4..8), not at its start"
        );
        // In an array of structs inside a nested struct.
        assert_eq!(
            error(13).to_string(),
            "offset 13 is inside `inner.arr[1].x` (i16, bytes 12..14), not at its start"
        );
        assert_eq!(
            error(32).to_string(),
            "offset 32 is past the end of `Nested` (32 bytes)"
        );
        assert_eq!(
            error(usize::MAX),
            OffsetError::PastTheEnd {
                offset: usize::MAX,
                struct_name: "Nested".to_owned(),
                size: 32
            }
        );
        assert_eq!(
            Schema::of::<Scalars>()
                .scalar_at(17)
                .unwrap_err()
                .to_string(),
            "offset 17 is inside `c` (f64, bytes 16..24), not at its start"
        );
        assert_eq!(
            Schema::of::<Nested>().scalar_at(28),
            Ok(Leaf {
                path: "grid[1][1]".to_owned(),
                offset: 28,
                primitive: Primitive::U8
            })
        );
        // The path found reads back to the same scalar.
        let schema = Schema::of::<Board>();
        let leaf = schema.scalar_at(26).unwrap();
        assert_eq!(leaf.path, "corners[1].y");
        let field = schema.field(&leaf.path).unwrap();
        assert_eq!(
            (field.offset, field.primitive()),
            (26, Some(Primitive::I16))
        );
    }

    #[test]
    fn offsets_in_a_nested_struct_are_its_own() {
        let schema = Schema::of::<Nested>();
        let inner = schema.field("inner").unwrap().ty.as_struct().unwrap();
        let leaf = inner.scalar_at(6).unwrap();
        assert_eq!((leaf.path.as_str(), leaf.offset), ("arr[0].y", 6));
        assert_eq!(
            inner.scalar_at(12).unwrap_err().to_string(),
            "offset 12 is past the end of `Inner` (12 bytes)"
        );
    }

    #[test]
    fn zero_sized_fields_are_passed_over() {
        let desc = StructDesc::repr_c(
            "Gappy",
            vec![
                ("a".to_owned(), Primitive::U64.into()),
                ("none".to_owned(), TypeDesc::array(Primitive::U32.into(), 0)),
                ("b".to_owned(), Primitive::U32.into()),
                ("c".to_owned(), Primitive::U32.into()),
            ],
        )
        .unwrap();
        let schema = Schema::new(desc);
        let found = |offset| schema.scalar_at(offset).map(|l| (l.path, l.primitive));
        assert_eq!(found(8), Ok(("b".to_owned(), Primitive::U32)));
        assert_eq!(found(12), Ok(("c".to_owned(), Primitive::U32)));
        check_every_offset(&schema);
    }
}

#[cfg(test)]
mod properties {
    use super::super::fixtures::arbitrary_type_info;
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// In any valid layout, every scalar is found at its offset, and
        /// every other offset inside the struct falls inside one.
        #[test]
        fn agrees_with_the_leaves(info in arbitrary_type_info()) {
            let schema = Schema::new(StructDesc::try_from(info).unwrap());
            let mut leaves = schema.leaves().peekable();
            for offset in 0..schema.size() {
                while leaves.next_if(|l| l.offset + l.primitive.size() <= offset).is_some() {}
                let found = schema.scalar_at(offset);
                match leaves.peek() {
                    Some(leaf) if leaf.offset == offset => prop_assert_eq!(found, Ok(leaf.clone())),
                    Some(leaf) if leaf.offset < offset => prop_assert_eq!(
                        found,
                        Err(OffsetError::InsideScalar { offset, scalar: leaf.clone() })
                    ),
                    _ => prop_assert!(false, "offset {} is inside no scalar", offset),
                }
            }
            let past = OffsetError::PastTheEnd {
                offset: schema.size(),
                struct_name: schema.name().to_owned(),
                size: schema.size(),
            };
            prop_assert_eq!(schema.scalar_at(schema.size()), Err(past));
        }
    }
}
