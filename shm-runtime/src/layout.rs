//! The layout model of a shared struct: what every field is, where it lives,
//! and the fingerprint that identifies the layout across processes.
//!
//! The derive describes each struct as a `&'static TypeInfo` built in a
//! constant, so the fingerprint is computed at compile time and the same
//! description later feeds the region's embedded schema.

/// A primitive field type: every one is valid for every bit pattern and has a
/// lock-free atomic of the same size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Primitive {
    U8,
    U16,
    U32,
    U64,
    Usize,
    I8,
    I16,
    I32,
    I64,
    Isize,
    F32,
    F64,
}

impl Primitive {
    /// The Rust name of the type, as the schema spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::U8 => "u8",
            Primitive::U16 => "u16",
            Primitive::U32 => "u32",
            Primitive::U64 => "u64",
            Primitive::Usize => "usize",
            Primitive::I8 => "i8",
            Primitive::I16 => "i16",
            Primitive::I32 => "i32",
            Primitive::I64 => "i64",
            Primitive::Isize => "isize",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
        }
    }

    /// Every primitive, in the order of the enum.
    pub const ALL: [Primitive; 12] = [
        Primitive::U8,
        Primitive::U16,
        Primitive::U32,
        Primitive::U64,
        Primitive::Usize,
        Primitive::I8,
        Primitive::I16,
        Primitive::I32,
        Primitive::I64,
        Primitive::Isize,
        Primitive::F32,
        Primitive::F64,
    ];

    /// The primitive the schema spells `name` (`"u32"`, `"f64"`, ...), or
    /// `None` for any other string.
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Size in bytes on this target.
    pub const fn size(self) -> usize {
        match self {
            Primitive::U8 | Primitive::I8 => 1,
            Primitive::U16 | Primitive::I16 => 2,
            Primitive::U32 | Primitive::I32 | Primitive::F32 => 4,
            Primitive::U64 | Primitive::I64 | Primitive::F64 => 8,
            Primitive::Usize | Primitive::Isize => core::mem::size_of::<usize>(),
        }
    }

    /// Alignment in bytes on this target: that of the primitive's atomic
    /// (`AtomicU64` for `u64` and `f64`, ...), which every atomic access
    /// through a raw pointer needs. A field's view is made of those atomics,
    /// so the derive's layouts always honour it; on 64-bit targets it is
    /// also the compiler's alignment of the plain type.
    pub const fn align(self) -> usize {
        use core::mem::align_of;
        use core::sync::atomic::{
            AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicU16, AtomicU32,
            AtomicU64, AtomicU8, AtomicUsize,
        };
        match self {
            Primitive::U8 => align_of::<AtomicU8>(),
            Primitive::U16 => align_of::<AtomicU16>(),
            Primitive::U32 | Primitive::F32 => align_of::<AtomicU32>(),
            Primitive::U64 | Primitive::F64 => align_of::<AtomicU64>(),
            Primitive::Usize => align_of::<AtomicUsize>(),
            Primitive::I8 => align_of::<AtomicI8>(),
            Primitive::I16 => align_of::<AtomicI16>(),
            Primitive::I32 => align_of::<AtomicI32>(),
            Primitive::I64 => align_of::<AtomicI64>(),
            Primitive::Isize => align_of::<AtomicIsize>(),
        }
    }
}

/// The shape of a field type.
#[derive(Debug)]
pub enum TypeInfo {
    /// A scalar.
    Primitive(Primitive),
    /// `[element; len]`.
    Array {
        element: &'static TypeInfo,
        len: usize,
    },
    /// A struct that derives `SharedState`.
    Struct {
        name: &'static str,
        size: usize,
        align: usize,
        fields: &'static [FieldInfo],
    },
}

/// One named field of a struct.
#[derive(Debug)]
pub struct FieldInfo {
    pub name: &'static str,
    pub offset: usize,
    pub ty: &'static TypeInfo,
}

impl TypeInfo {
    /// Size in bytes of a value of this type.
    pub const fn size(&self) -> usize {
        match self {
            TypeInfo::Primitive(p) => p.size(),
            TypeInfo::Array { element, len } => element.size() * *len,
            TypeInfo::Struct { size, .. } => *size,
        }
    }

    /// The layout fingerprint: a hash of field names, primitive types,
    /// offsets, array lengths, sizes and alignments.
    ///
    /// Type names are left out on purpose: renaming a struct or moving it to
    /// another module does not change what its bytes mean. The run-time
    /// description, [`schema::StructDesc`](crate::schema::StructDesc),
    /// hashes through the same steps, so both agree on every layout.
    pub const fn fingerprint(&self) -> u64 {
        self.hash_into(FingerprintHasher::new()).finish()
    }

    const fn hash_into(&self, h: FingerprintHasher) -> FingerprintHasher {
        match self {
            TypeInfo::Primitive(p) => h.primitive(*p),
            TypeInfo::Array { element, len } => element.hash_into(h.array(*len)),
            TypeInfo::Struct {
                size,
                align,
                fields,
                ..
            } => {
                let mut h = h.struct_start(*size, *align, fields.len());
                let mut i = 0;
                while i < fields.len() {
                    let f = &fields[i];
                    h = f.ty.hash_into(h.field(f.name, f.offset));
                    i += 1;
                }
                h.struct_end()
            }
        }
    }
}

/// The fingerprint's encoding of a layout tree, one step per node, walked
/// depth-first: a primitive; an array's length, then its element; a struct's
/// size, alignment and field count, then each field's name and offset
/// followed by its type, then an end mark.
///
/// The one definition of the encoding: [`TypeInfo::fingerprint`] (in
/// constants) and `schema::TypeDesc` (at run time) both walk their trees
/// through these steps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FingerprintHasher(Fnv1a);

impl FingerprintHasher {
    pub(crate) const fn new() -> Self {
        FingerprintHasher(Fnv1a::new())
    }

    pub(crate) const fn primitive(self, p: Primitive) -> Self {
        FingerprintHasher(self.0.byte(b'P').str(p.name()).usize(p.size()))
    }

    /// An array of `len` elements; the element's type follows.
    pub(crate) const fn array(self, len: usize) -> Self {
        FingerprintHasher(self.0.byte(b'A').usize(len))
    }

    /// A struct; its fields follow, then [`Self::struct_end`].
    pub(crate) const fn struct_start(self, size: usize, align: usize, field_count: usize) -> Self {
        FingerprintHasher(
            self.0
                .byte(b'S')
                .usize(size)
                .usize(align)
                .usize(field_count),
        )
    }

    /// One field of the current struct; its type follows.
    pub(crate) const fn field(self, name: &str, offset: usize) -> Self {
        FingerprintHasher(self.0.str(name).usize(offset))
    }

    pub(crate) const fn struct_end(self) -> Self {
        FingerprintHasher(self.0.byte(b'E'))
    }

    pub(crate) const fn finish(self) -> u64 {
        self.0.finish()
    }
}

/// 64-bit FNV-1a, usable in constants. Not a cryptographic hash: it tells
/// layouts apart, it does not defend against a forger.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    pub(crate) const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) const fn byte(self, b: u8) -> Self {
        Fnv1a((self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
    }

    pub(crate) const fn bytes(mut self, bytes: &[u8]) -> Self {
        let mut i = 0;
        while i < bytes.len() {
            self = self.byte(bytes[i]);
            i += 1;
        }
        self
    }

    /// A length-prefixed string, so that ("ab", "c") and ("a", "bc") differ.
    const fn str(self, s: &str) -> Self {
        self.usize(s.len()).bytes(s.as_bytes())
    }

    /// Always 8 bytes, whatever the target's pointer width.
    pub(crate) const fn usize(self, n: usize) -> Self {
        self.bytes(&(n as u64).to_le_bytes())
    }

    pub(crate) const fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I32: TypeInfo = TypeInfo::Primitive(Primitive::I32);
    const U32: TypeInfo = TypeInfo::Primitive(Primitive::U32);

    static FOO: TypeInfo = TypeInfo::Struct {
        name: "Foo",
        size: 8,
        align: 4,
        fields: &[
            FieldInfo {
                name: "bar",
                offset: 0,
                ty: &I32,
            },
            FieldInfo {
                name: "baz",
                offset: 4,
                ty: &I32,
            },
        ],
    };
    static FOO_RENAMED_TYPE: TypeInfo = TypeInfo::Struct {
        name: "Other",
        size: 8,
        align: 4,
        fields: &[
            FieldInfo {
                name: "bar",
                offset: 0,
                ty: &I32,
            },
            FieldInfo {
                name: "baz",
                offset: 4,
                ty: &I32,
            },
        ],
    };
    static FOO_RENAMED_FIELD: TypeInfo = TypeInfo::Struct {
        name: "Foo",
        size: 8,
        align: 4,
        fields: &[
            FieldInfo {
                name: "bar",
                offset: 0,
                ty: &I32,
            },
            FieldInfo {
                name: "qux",
                offset: 4,
                ty: &I32,
            },
        ],
    };
    static FOO_OTHER_TYPE: TypeInfo = TypeInfo::Struct {
        name: "Foo",
        size: 8,
        align: 4,
        fields: &[
            FieldInfo {
                name: "bar",
                offset: 0,
                ty: &I32,
            },
            FieldInfo {
                name: "baz",
                offset: 4,
                ty: &U32,
            },
        ],
    };

    #[test]
    fn fingerprint_ignores_type_names_only() {
        assert_eq!(FOO.fingerprint(), FOO_RENAMED_TYPE.fingerprint());
        assert_ne!(FOO.fingerprint(), FOO_RENAMED_FIELD.fingerprint());
        assert_ne!(FOO.fingerprint(), FOO_OTHER_TYPE.fingerprint());
    }

    #[test]
    fn primitives_by_name_size_and_alignment() {
        for p in Primitive::ALL {
            assert_eq!(Primitive::from_name(p.name()), Some(p));
            assert!(p.align().is_power_of_two() && p.size() % p.align() == 0);
        }
        assert_eq!(Primitive::from_name("bool"), None);
        assert_eq!(Primitive::from_name("U32"), None);
        assert_eq!(Primitive::U64.align(), align_of::<u64>());
        assert_eq!(Primitive::F64.align(), align_of::<f64>());
        assert_eq!(Primitive::Isize.size(), size_of::<isize>());
    }

    #[test]
    fn array_length_changes_fingerprint() {
        static A4: TypeInfo = TypeInfo::Array {
            element: &I32,
            len: 4,
        };
        static A5: TypeInfo = TypeInfo::Array {
            element: &I32,
            len: 5,
        };
        assert_ne!(A4.fingerprint(), A5.fingerprint());
        assert_eq!(A4.size(), 16);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const SCALARS: [Primitive; 12] = Primitive::ALL;

    /// A field as (name, scalar index, array length or 0 for a scalar).
    type FieldSpec = (String, usize, usize);

    fn leak(ty: TypeInfo) -> &'static TypeInfo {
        Box::leak(Box::new(ty))
    }

    /// Lays the fields out back to back (offsets need not be realistic for
    /// hashing) under the given type name.
    fn build(name: &str, fields: &[FieldSpec]) -> &'static TypeInfo {
        let mut offset = 0;
        let infos: Vec<FieldInfo> = fields
            .iter()
            .map(|(field, scalar, len)| {
                let scalar = leak(TypeInfo::Primitive(SCALARS[*scalar]));
                let ty = if *len == 0 {
                    scalar
                } else {
                    leak(TypeInfo::Array {
                        element: scalar,
                        len: *len,
                    })
                };
                let info = FieldInfo {
                    name: Box::leak(field.clone().into_boxed_str()),
                    offset,
                    ty,
                };
                offset += ty.size();
                info
            })
            .collect();
        leak(TypeInfo::Struct {
            name: Box::leak(name.to_owned().into_boxed_str()),
            size: offset.max(1),
            align: 1,
            fields: Box::leak(infos.into_boxed_slice()),
        })
    }

    fn fields() -> impl Strategy<Value = Vec<FieldSpec>> {
        prop::collection::vec(("[a-z_][a-z0-9_]{0,8}", 0..SCALARS.len(), 0usize..4), 1..8)
    }

    proptest! {
        #[test]
        fn type_name_does_not_matter(fields in fields(), a in "[A-Z][a-z]{0,6}", b in "[A-Z][a-z]{0,6}") {
            prop_assert_eq!(build(&a, &fields).fingerprint(), build(&b, &fields).fingerprint());
        }

        /// Changing one field's name, scalar type or array length changes
        /// the fingerprint.
        #[test]
        fn any_field_change_is_seen(fields in fields(), which in any::<prop::sample::Index>(), what in 0u8..3, other in "[a-z]{1,9}", scalar in 0..SCALARS.len(), len in 0usize..4) {
            let mut changed = fields.clone();
            let field = &mut changed[which.index(fields.len())];
            match what {
                0 => field.0 = other,
                1 => field.1 = scalar,
                _ => field.2 = len,
            }
            prop_assume!(changed != fields);
            // usize and u64 (isize and i64) differ by name, so they count.
            prop_assert_ne!(build("S", &fields).fingerprint(), build("S", &changed).fingerprint());
        }
    }
}
