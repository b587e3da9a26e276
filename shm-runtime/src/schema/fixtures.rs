//! Test fixtures for the schema module: derived structs of every shape, and
//! strategies that make random `TypeInfo`s.

use proptest::prelude::*;

use crate::layout::{FieldInfo, Primitive, TypeInfo};
use crate::SharedState;

/// Every scalar type once, ordered so that no padding is needed.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C)]
pub struct Scalars {
    pub a: u64,
    pub b: i64,
    pub c: f64,
    pub d: usize,
    pub e: isize,
    pub f: u32,
    pub g: i32,
    pub h: f32,
    pub i: u16,
    pub j: i16,
    pub k: u8,
    pub l: i8,
    pub _pad: [u8; 6],
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C)]
pub struct Point {
    pub x: i16,
    pub y: i16,
}

/// shm-testing's `Board`: scalars, an array of scalars, an array of
/// structs, explicit padding.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C)]
pub struct Board {
    pub total: u64,
    pub id: u32,
    pub temps: [f32; 2],
    pub corners: [Point; 2],
    pub _pad: [u8; 4],
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C)]
pub struct Inner {
    pub x: u32,
    pub arr: [Point; 2],
}

/// A nested struct, an array of scalars and an array of arrays.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C)]
pub struct Nested {
    pub id: u32,
    pub inner: Inner,
    pub samples: [u16; 4],
    pub grid: [[u8; 3]; 2],
    pub _pad: [u8; 2],
}

/// Over-aligned, with a two-dimensional array.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[shm(crate = "crate")]
#[repr(C, align(16))]
pub struct Grid {
    pub cells: [[i32; 3]; 2],
    pub _pad: [u8; 8],
}

/// A type as declared, before it is laid out.
#[derive(Clone, Debug)]
enum Decl {
    Scalar(Primitive),
    Array(Box<Decl>, usize),
    /// Field names (made unique when laid out) and types, and a factor that
    /// over-aligns the struct (`repr(align)`): 1, 2, 4, 8 or 16.
    Struct(Vec<(String, Decl)>, usize),
}

fn decl() -> impl Strategy<Value = Decl> {
    let scalar = prop::sample::select(Primitive::ALL.to_vec()).prop_map(Decl::Scalar);
    scalar.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            (inner.clone(), 0usize..5).prop_map(|(d, len)| Decl::Array(Box::new(d), len)),
            (
                prop::collection::vec(("[a-z][a-z0-9_]{0,6}", inner), 1..6),
                prop::sample::select(vec![1usize, 1, 1, 2, 4, 8, 16]),
            )
                .prop_map(|(fields, over)| Decl::Struct(fields, over)),
        ]
    })
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Lays a declaration out by `repr(C)` rules, filling every gap with an
/// explicit `_padN: [u8; N]` field as a user would.
fn lay_out(decl: &Decl, name: &str) -> &'static TypeInfo {
    match decl {
        Decl::Scalar(p) => leak(TypeInfo::Primitive(*p)),
        Decl::Array(element, len) => leak(TypeInfo::Array {
            element: lay_out(element, name),
            len: *len,
        }),
        Decl::Struct(decls, over) => {
            let mut fields = Vec::new();
            let mut end = 0usize;
            let mut align = *over;
            let pad = |fields: &mut Vec<FieldInfo>, at: usize, gap: usize| {
                fields.push(FieldInfo {
                    name: leak_str(format!("_pad{}", fields.len())),
                    offset: at,
                    ty: leak(TypeInfo::Array {
                        element: leak(TypeInfo::Primitive(Primitive::U8)),
                        len: gap,
                    }),
                });
            };
            for (i, (field, decl)) in decls.iter().enumerate() {
                let ty = lay_out(decl, &format!("{name}F{i}"));
                let field_align = align_of_info(ty);
                let offset = end.div_ceil(field_align) * field_align;
                if offset > end {
                    pad(&mut fields, end, offset - end);
                }
                fields.push(FieldInfo {
                    name: leak_str(format!("{field}{i}")),
                    offset,
                    ty,
                });
                end = offset + ty.size();
                align = align.max(field_align);
            }
            let size = end.max(1).div_ceil(align) * align;
            if size > end {
                pad(&mut fields, end, size - end);
            }
            leak(TypeInfo::Struct {
                name: leak_str(name.to_owned()),
                size,
                align,
                fields: Box::leak(fields.into_boxed_slice()),
            })
        }
    }
}

fn align_of_info(ty: &TypeInfo) -> usize {
    match ty {
        TypeInfo::Primitive(p) => p.align(),
        TypeInfo::Array { element, .. } => align_of_info(element),
        TypeInfo::Struct { align, .. } => *align,
    }
}

/// Random valid struct layouts, nested up to four levels, with over-aligned
/// structs, arrays of arrays and empty arrays among them.
pub fn arbitrary_type_info() -> impl Strategy<Value = &'static TypeInfo> {
    (
        prop::collection::vec(("[a-z][a-z0-9_]{0,6}", decl()), 1..6),
        prop::sample::select(vec![1usize, 1, 2, 8]),
    )
        .prop_map(|(fields, over)| lay_out(&Decl::Struct(fields, over), "Root"))
}

/// Random trees whose sizes, alignments and offsets are arbitrary numbers:
/// nothing a compiler would produce, but the fingerprint hashes them all.
pub fn unrealistic_type_info() -> impl Strategy<Value = &'static TypeInfo> {
    let scalar = prop::sample::select(Primitive::ALL.to_vec())
        .prop_map(|p| leak(TypeInfo::Primitive(p)) as &'static TypeInfo);
    let tree = scalar.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            (inner.clone(), any::<usize>()).prop_map(|(element, len)| {
                leak(TypeInfo::Array { element, len }) as &'static TypeInfo
            }),
            unrealistic_struct(inner),
        ]
    });
    unrealistic_struct(tree.boxed())
}

fn unrealistic_struct(
    inner: BoxedStrategy<&'static TypeInfo>,
) -> impl Strategy<Value = &'static TypeInfo> {
    (
        prop::collection::vec(("\\PC{0,6}", any::<usize>(), inner), 0..5),
        any::<usize>(),
        any::<usize>(),
    )
        .prop_map(|(fields, size, align)| {
            let fields: Vec<FieldInfo> = fields
                .into_iter()
                .map(|(name, offset, ty)| FieldInfo {
                    name: leak_str(name),
                    offset,
                    ty,
                })
                .collect();
            leak(TypeInfo::Struct {
                name: "S",
                size,
                align,
                fields: Box::leak(fields.into_boxed_slice()),
            }) as &'static TypeInfo
        })
}

#[test]
fn fixtures_are_what_they_claim() {
    assert_eq!(size_of::<Scalars>(), 64);
    assert_eq!(size_of::<Board>(), 32);
    assert_eq!(size_of::<Nested>(), 32);
    assert_eq!((size_of::<Grid>(), align_of::<Grid>()), (32, 16));
}
