//! Laying a struct out at run time, by the rules of `#[repr(C)]` and
//! `#[derive(SharedState)]`: for structs declared in Python or C.

use super::{FieldDesc, LayoutError, StructDesc, TypeDesc};

impl StructDesc {
    /// Lays `fields` out in order as `#[repr(C)]` does: each at the next
    /// offset aligned for its type, the struct aligned to its most aligned
    /// field and sized to a multiple of that.
    ///
    /// As the derive does, it refuses a layout that would need implicit
    /// padding, with the derive's own message, so the result is the layout
    /// the same struct gets in Rust: `StructDesc::repr_c` of a derived
    /// struct's field names and types equals [`Schema::of`](super::Schema::of)
    /// of it.
    ///
    /// # Errors
    ///
    /// [`LayoutError::PaddingBefore`] or [`LayoutError::PaddingAfter`] where
    /// `#[repr(C)]` would insert padding, [`LayoutError::ZeroSized`] for no
    /// bytes at all, [`LayoutError::InvalidName`] and
    /// [`LayoutError::DuplicateField`] for names, and the limits of the
    /// [module docs](super).
    pub fn repr_c(
        name: impl Into<String>,
        fields: Vec<(String, TypeDesc)>,
    ) -> Result<StructDesc, LayoutError> {
        StructDesc::repr_c_aligned(name, fields, 1)
    }

    /// [`StructDesc::repr_c`] for `#[repr(C, align(N))]` with `N` =
    /// `min_align`: the struct is aligned to at least `min_align`, and its
    /// size rounded up to that, which is padding unless the fields fill it.
    ///
    /// # Errors
    ///
    /// As [`StructDesc::repr_c`], and [`LayoutError::BadAlign`] when
    /// `min_align` is not a power of two up to [`MAX_ALIGN`](super::MAX_ALIGN).
    pub fn repr_c_aligned(
        name: impl Into<String>,
        fields: Vec<(String, TypeDesc)>,
        min_align: usize,
    ) -> Result<StructDesc, LayoutError> {
        let name = name.into();
        if !min_align.is_power_of_two() || min_align > super::MAX_ALIGN {
            return Err(LayoutError::BadAlign {
                struct_name: name,
                align: min_align,
            });
        }
        let mut end = 0usize;
        let mut align = min_align;
        let mut laid_out = Vec::with_capacity(fields.len());
        for (field_name, ty) in fields {
            // `repr(C)` starts the field at the next offset aligned for it;
            // `from_parts` reports any gap that leaves as padding. An
            // alignment is never zero (a primitive's, or a valid struct's).
            let field_align = ty.align();
            let offset = end.div_ceil(field_align).saturating_mul(field_align);
            end = offset.saturating_add(ty.size());
            align = align.max(field_align);
            laid_out.push(FieldDesc::new(field_name, offset, ty));
        }
        let size = end.div_ceil(align).saturating_mul(align);
        // Overflows and alignments past the limit saturate above; the checks
        // in `from_parts` then refuse them with their own errors.
        StructDesc::from_parts(name, size, align, laid_out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::Schema;
    use super::*;
    use crate::Primitive;

    /// The fields of a derived struct as `repr_c` takes them: names and types.
    fn declaration(desc: &StructDesc) -> Vec<(String, TypeDesc)> {
        desc.fields()
            .iter()
            .map(|f| (f.name.clone(), f.ty.clone()))
            .collect()
    }

    #[test]
    fn equals_the_derived_layout() {
        for derived in [
            Schema::of::<Scalars>(),
            Schema::of::<Point>(),
            Schema::of::<Board>(),
            Schema::of::<Nested>(),
        ] {
            let root = derived.root();
            let built = StructDesc::repr_c(root.name(), declaration(root)).unwrap();
            assert_eq!(&built, root);
            assert_eq!(built.fingerprint(), derived.fingerprint());
        }
    }

    #[test]
    fn over_aligned_equals_the_derived_layout() {
        // `#[repr(C, align(16))]`
        let derived = Schema::of::<Grid>();
        let root = derived.root();
        let built = StructDesc::repr_c_aligned(root.name(), declaration(root), 16).unwrap();
        assert_eq!(&built, root);
        assert!(matches!(
            StructDesc::repr_c(root.name(), declaration(root)),
            Ok(s) if s.align() == 4
        ));
        for bad in [0, 3, 8192] {
            assert!(matches!(
                StructDesc::repr_c_aligned("Grid", declaration(root), bad),
                Err(LayoutError::BadAlign { .. })
            ));
        }
        // Over-alignment that the fields do not fill is trailing padding.
        let fields = vec![("x".to_owned(), Primitive::U32.into())];
        assert!(matches!(
            StructDesc::repr_c_aligned("Small", fields, 8),
            Err(LayoutError::PaddingAfter { gap: 4, .. })
        ));
    }

    #[test]
    fn refuses_padding_with_the_derives_message() {
        let fields = vec![
            ("a".to_owned(), Primitive::U8.into()),
            ("x".to_owned(), Primitive::U32.into()),
        ];
        let err = StructDesc::repr_c("Foo", fields).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Foo` has implicit padding before field `x`: add an explicit field such as `_pad: \
             [u8; N]` in front of it to fill the gap"
        );
        assert!(matches!(err, LayoutError::PaddingBefore { gap: 3, .. }));

        let fields = vec![
            ("x".to_owned(), Primitive::U32.into()),
            ("a".to_owned(), Primitive::U8.into()),
        ];
        let err = StructDesc::repr_c("Foo", fields).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Foo` has implicit padding after its last field `a`: add an explicit trailing field \
             such as `_pad: [u8; N]`"
        );
        assert!(matches!(err, LayoutError::PaddingAfter { gap: 3, .. }));
    }

    #[test]
    fn refuses_zero_sized_structs_with_the_derives_message() {
        let err = StructDesc::repr_c("Empty", vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Empty` is zero-sized, and zero-sized structs cannot be shared; add a field that \
             holds data"
        );
        let only_empty_array = vec![("a".to_owned(), TypeDesc::array(Primitive::U8.into(), 0))];
        assert!(matches!(
            StructDesc::repr_c("Empty", only_empty_array),
            Err(LayoutError::ZeroSized { .. })
        ));
    }

    #[test]
    fn refuses_bad_and_duplicate_names() {
        let u8_field = |name: &str| (name.to_owned(), TypeDesc::from(Primitive::U8));
        assert!(matches!(
            StructDesc::repr_c("Foo", vec![u8_field("a"), u8_field("a")]),
            Err(LayoutError::DuplicateField { .. })
        ));
        for bad in ["", "2x", "x.y", "x y"] {
            assert!(matches!(
                StructDesc::repr_c("Foo", vec![u8_field(bad)]),
                Err(LayoutError::InvalidName { what: "field", .. })
            ));
        }
        assert!(matches!(
            StructDesc::repr_c("", vec![u8_field("a")]),
            Err(LayoutError::InvalidName { what: "struct", .. })
        ));
    }

    #[test]
    fn nests_and_aligns_like_the_compiler() {
        let inner = StructDesc::repr_c(
            "Inner",
            vec![
                ("a".to_owned(), Primitive::U32.into()),
                ("b".to_owned(), Primitive::U32.into()),
            ],
        )
        .unwrap();
        let outer = StructDesc::repr_c(
            "Outer",
            vec![
                ("x".to_owned(), Primitive::U64.into()),
                ("inner".to_owned(), TypeDesc::array(inner.into(), 3)),
            ],
        )
        .unwrap();
        assert_eq!((outer.size(), outer.align()), (32, 8));
        assert_eq!(outer.fields()[1].offset, 8);
    }

    #[test]
    fn huge_arrays_are_refused_not_wrapped() {
        let fields = vec![
            ("a".to_owned(), Primitive::U8.into()),
            (
                "b".to_owned(),
                TypeDesc::array(Primitive::U8.into(), usize::MAX),
            ),
        ];
        assert!(matches!(
            StructDesc::repr_c("Huge", fields),
            Err(LayoutError::TooLarge { .. })
        ));
    }
}
