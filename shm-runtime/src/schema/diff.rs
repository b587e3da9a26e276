//! What differs between two layouts, field by field: for the message of a
//! layout mismatch, where a program meets a region made by another version
//! of it.

use std::fmt;

use super::{FieldDesc, StructDesc, TypeDesc};

/// One difference between an expected layout and a found one (a program's
/// struct and a region's schema, say), in the direction expected → found.
///
/// Paths are dotted from the top struct; `[]` stands for every element of
/// an array of structs (`corners[].x`). An offset is the field's offset in
/// the struct that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// A field that only the found layout has.
    Added {
        path: String,
        ty: String,
        offset: usize,
    },
    /// A field that only the expected layout has.
    Removed {
        path: String,
        ty: String,
        offset: usize,
    },
    /// The same type at the same offset under another name.
    Renamed {
        /// The expected path.
        path: String,
        /// The found field's name.
        to: String,
    },
    /// The same name with another type.
    Retyped {
        path: String,
        expected: String,
        found: String,
    },
    /// The same name at another offset.
    Moved {
        path: String,
        expected: usize,
        found: usize,
    },
    /// A struct of another size; `path` is empty for the top struct.
    Resized {
        path: String,
        expected: usize,
        found: usize,
    },
    /// A struct of another alignment; `path` is empty for the top struct.
    Realigned {
        path: String,
        expected: usize,
        found: usize,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Added { path, ty, offset } => {
                write!(f, "field `{path}` ({ty} at offset {offset}) added")
            }
            Difference::Removed { path, ty, offset } => {
                write!(f, "field `{path}` ({ty} at offset {offset}) removed")
            }
            Difference::Renamed { path, to } => write!(f, "field `{path}` renamed to `{to}`"),
            Difference::Retyped {
                path,
                expected,
                found,
            } => write!(f, "field `{path}` retyped from {expected} to {found}"),
            Difference::Moved {
                path,
                expected,
                found,
            } => write!(f, "field `{path}` moved from offset {expected} to {found}"),
            Difference::Resized {
                path,
                expected,
                found,
            } => {
                write_struct(f, path)?;
                write!(f, " size changed from {expected} to {found} bytes")
            }
            Difference::Realigned {
                path,
                expected,
                found,
            } => {
                write_struct(f, path)?;
                write!(f, " alignment changed from {expected} to {found}")
            }
        }
    }
}

fn write_struct(f: &mut fmt::Formatter<'_>, path: &str) -> fmt::Result {
    if path.is_empty() {
        f.write_str("struct")
    } else {
        write!(f, "`{path}`")
    }
}

impl Difference {
    /// Sorting key for a summary: the differences a reader acts on first,
    /// then the ones that usually follow from them.
    fn rank(&self) -> u8 {
        match self {
            Difference::Renamed { .. }
            | Difference::Retyped { .. }
            | Difference::Added { .. }
            | Difference::Removed { .. } => 0,
            Difference::Moved { .. } => 1,
            Difference::Resized { .. } | Difference::Realigned { .. } => 2,
        }
    }
}

/// What differs from `expected` to `found`, recursing into nested structs
/// (and arrays of them) with dotted paths. Empty when the layouts are the
/// same (struct names aside, as the fingerprint has it).
///
/// Fields are matched by name; a field of one layout with no namesake in
/// the other is a rename when a field of the same type sits at the same
/// offset in the other, otherwise an addition or a removal.
pub fn diff(expected: &StructDesc, found: &StructDesc) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_structs(expected, found, "", &mut out);
    out
}

/// One line for an error message: the differences that matter most first,
/// at most six of them, then a count of the rest. For example "field `baz`
/// renamed to `bazz`; field `x` retyped from u32 to u64 (the region was made
/// by another version of the program)".
pub fn summarize(differences: &[Difference]) -> String {
    const SHOWN: usize = 6;
    if differences.is_empty() {
        return "no field differs".to_owned();
    }
    let mut ranked: Vec<&Difference> = differences.iter().collect();
    ranked.sort_by_key(|d| d.rank());
    let mut line = ranked
        .iter()
        .take(SHOWN)
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if ranked.len() > SHOWN {
        line.push_str(&format!("; and {} more", ranked.len() - SHOWN));
    }
    line.push_str(" (the region was made by another version of the program)");
    line
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn diff_structs(
    expected: &StructDesc,
    found: &StructDesc,
    prefix: &str,
    out: &mut Vec<Difference>,
) {
    let mut unmatched_found: Vec<&FieldDesc> = found
        .fields()
        .iter()
        .filter(|f| expected.field(&f.name).is_none())
        .collect();
    for e in expected.fields() {
        let path = join(prefix, &e.name);
        match found.field(&e.name) {
            Some(f) => {
                diff_types(&e.ty, &f.ty, &path, out);
                if e.offset != f.offset {
                    out.push(Difference::Moved {
                        path,
                        expected: e.offset,
                        found: f.offset,
                    });
                }
            }
            None => {
                let renamed_to = unmatched_found
                    .iter()
                    .position(|f| f.offset == e.offset && f.ty.same_layout(&e.ty));
                match renamed_to {
                    Some(i) => out.push(Difference::Renamed {
                        path,
                        to: unmatched_found.remove(i).name.clone(),
                    }),
                    None => out.push(Difference::Removed {
                        path,
                        ty: e.ty.to_string(),
                        offset: e.offset,
                    }),
                }
            }
        }
    }
    for f in unmatched_found {
        out.push(Difference::Added {
            path: join(prefix, &f.name),
            ty: f.ty.to_string(),
            offset: f.offset,
        });
    }
    if expected.size() != found.size() {
        out.push(Difference::Resized {
            path: prefix.to_owned(),
            expected: expected.size(),
            found: found.size(),
        });
    }
    if expected.align() != found.align() {
        out.push(Difference::Realigned {
            path: prefix.to_owned(),
            expected: expected.align(),
            found: found.align(),
        });
    }
}

/// Differences between two fields' types at `path`: inside them when both
/// are structs, or arrays of the same length of structs; otherwise the
/// whole type, if it differs.
fn diff_types(expected: &TypeDesc, found: &TypeDesc, path: &str, out: &mut Vec<Difference>) {
    // Peel arrays of equal lengths together, down to two structs.
    let (mut e, mut f) = (expected, found);
    let mut inner_path = path.to_owned();
    loop {
        match (e, f) {
            (
                TypeDesc::Array {
                    element: e_element,
                    len: e_len,
                },
                TypeDesc::Array {
                    element: f_element,
                    len: f_len,
                },
            ) if e_len == f_len => {
                e = e_element;
                f = f_element;
                inner_path.push_str("[]");
            }
            (TypeDesc::Struct(e), TypeDesc::Struct(f)) => {
                return diff_structs(e, f, &inner_path, out);
            }
            _ => break,
        }
    }
    if !expected.same_layout(found) {
        out.push(Difference::Retyped {
            path: path.to_owned(),
            expected: expected.to_string(),
            found: found.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Primitive;

    fn fields(list: &[(&str, TypeDesc)]) -> Vec<(String, TypeDesc)> {
        list.iter()
            .map(|(n, t)| ((*n).to_owned(), t.clone()))
            .collect()
    }

    fn s(name: &str, list: &[(&str, TypeDesc)]) -> StructDesc {
        StructDesc::repr_c(name, fields(list)).unwrap()
    }

    fn text(expected: &StructDesc, found: &StructDesc) -> Vec<String> {
        diff(expected, found)
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    const I32: TypeDesc = TypeDesc::Primitive(Primitive::I32);
    const U32: TypeDesc = TypeDesc::Primitive(Primitive::U32);
    const U64: TypeDesc = TypeDesc::Primitive(Primitive::U64);

    #[test]
    fn same_layout_no_differences() {
        let a = s("Foo", &[("bar", I32), ("baz", I32)]);
        let b = s("Other", &[("bar", I32), ("baz", I32)]);
        assert_eq!(diff(&a, &b), []);
        assert_eq!(summarize(&[]), "no field differs");
    }

    #[test]
    fn renamed() {
        let a = s("Foo", &[("bar", I32), ("baz", I32)]);
        let b = s("Foo", &[("bar", I32), ("bazz", I32)]);
        assert_eq!(
            diff(&a, &b),
            [Difference::Renamed {
                path: "baz".into(),
                to: "bazz".into()
            }]
        );
    }

    #[test]
    fn retyped_and_what_follows() {
        let a = s("Foo", &[("x", U32), ("y", U32)]);
        let b = s(
            "Foo",
            &[
                ("x", U64),
                ("y", U32),
                ("_pad", TypeDesc::array(Primitive::U8.into(), 4)),
            ],
        );
        assert_eq!(
            text(&a, &b),
            [
                "field `x` retyped from u32 to u64",
                "field `y` moved from offset 4 to 8",
                "field `_pad` ([u8; 4] at offset 12) added",
                "struct size changed from 8 to 16 bytes",
                "struct alignment changed from 4 to 8",
            ]
        );
    }

    #[test]
    fn added_and_removed() {
        let a = s("Foo", &[("bar", I32), ("baz", I32)]);
        let b = s("Foo", &[("bar", I32)]);
        assert_eq!(
            text(&a, &b),
            [
                "field `baz` (i32 at offset 4) removed",
                "struct size changed from 8 to 4 bytes",
            ]
        );
        assert_eq!(
            text(&b, &a),
            [
                "field `baz` (i32 at offset 4) added",
                "struct size changed from 4 to 8 bytes",
            ]
        );
    }

    #[test]
    fn a_rename_needs_the_same_type_and_offset() {
        let a = s("Foo", &[("bar", I32), ("baz", I32)]);
        let b = s("Foo", &[("bar", I32), ("qux", U32)]);
        assert_eq!(
            text(&a, &b),
            [
                "field `baz` (i32 at offset 4) removed",
                "field `qux` (u32 at offset 4) added",
            ]
        );
    }

    #[test]
    fn moved() {
        let a = s("Foo", &[("a", I32), ("b", I32)]);
        let b = s("Foo", &[("b", I32), ("a", I32)]);
        assert_eq!(
            text(&a, &b),
            [
                "field `a` moved from offset 0 to 4",
                "field `b` moved from offset 4 to 0",
            ]
        );
    }

    #[test]
    fn arrays_of_another_length_are_retyped() {
        let a = s("Foo", &[("samples", TypeDesc::array(U32, 4))]);
        let b = s("Foo", &[("samples", TypeDesc::array(U32, 6))]);
        assert_eq!(
            text(&a, &b),
            [
                "field `samples` retyped from [u32; 4] to [u32; 6]",
                "struct size changed from 16 to 24 bytes",
            ]
        );
        let c = s("Foo", &[("samples", TypeDesc::array(I32, 4))]);
        assert_eq!(
            text(&a, &c),
            ["field `samples` retyped from [u32; 4] to [i32; 4]"]
        );
    }

    #[test]
    fn recurses_into_nested_structs_and_arrays_of_them() {
        let inner = s("Inner", &[("x", I32), ("y", I32)]);
        let inner2 = s("Inner", &[("x", I32), ("yy", I32)]);
        let a = s(
            "Foo",
            &[
                ("inner", inner.clone().into()),
                ("pts", TypeDesc::array(inner.clone().into(), 2)),
            ],
        );
        let b = s(
            "Foo",
            &[
                ("inner", inner2.clone().into()),
                ("pts", TypeDesc::array(inner2.into(), 2)),
            ],
        );
        assert_eq!(
            text(&a, &b),
            [
                "field `inner.y` renamed to `yy`",
                "field `pts[].y` renamed to `yy`",
            ]
        );
        let wide = s(
            "Inner",
            &[
                ("x", U64),
                ("y", I32),
                ("_pad", TypeDesc::array(Primitive::U8.into(), 4)),
            ],
        );
        let c = s(
            "Foo",
            &[
                ("inner", wide.into()),
                ("pts", TypeDesc::array(inner.into(), 2)),
            ],
        );
        assert_eq!(
            text(&a, &c),
            [
                "field `inner.x` retyped from i32 to u64",
                "field `inner.y` moved from offset 4 to 8",
                "field `inner._pad` ([u8; 4] at offset 12) added",
                "`inner` size changed from 8 to 16 bytes",
                "`inner` alignment changed from 4 to 8",
                "field `pts` moved from offset 8 to 16",
                "struct size changed from 24 to 32 bytes",
                "struct alignment changed from 4 to 8",
            ]
        );
    }

    #[test]
    fn struct_against_scalar_is_a_retype() {
        let inner = s("Inner", &[("x", U64)]);
        let a = s("Foo", &[("v", inner.into())]);
        let b = s("Foo", &[("v", U64)]);
        assert_eq!(text(&a, &b), ["field `v` retyped from Inner to u64"]);
    }

    #[test]
    fn summary_puts_causes_first_and_caps_the_list() {
        let a = s("Foo", &[("baz", U64), ("x", U32), ("y", U32)]);
        let b = s("Foo", &[("bazz", U64), ("x", U64)]);
        assert_eq!(
            summarize(&diff(&a, &b)),
            "field `baz` renamed to `bazz`; field `x` retyped from u32 to u64; field `y` (u32 at \
             offset 12) removed (the region was made by another version of the program)"
        );
        // The moves and the size change that follow from a retype come
        // after it, even when they are found first.
        let a = s("Foo", &[("p", U32), ("q", U32), ("r", U64)]);
        let b = s(
            "Foo",
            &[
                ("q", U32),
                ("p", U32),
                ("r", TypeDesc::Primitive(Primitive::I64)),
            ],
        );
        assert_eq!(
            summarize(&diff(&a, &b)),
            "field `r` retyped from u64 to i64; field `p` moved from offset 0 to 4; field `q` \
             moved from offset 4 to 0 (the region was made by another version of the program)"
        );
        let many: Vec<(String, TypeDesc)> = (0..10).map(|i| (format!("f{i}"), U32)).collect();
        let a = StructDesc::repr_c("A", many.clone()).unwrap();
        let renamed: Vec<(String, TypeDesc)> = (0..10).map(|i| (format!("g{i}"), U32)).collect();
        let b = StructDesc::repr_c("A", renamed).unwrap();
        let line = summarize(&diff(&a, &b));
        assert!(line.contains("; and 4 more ("), "{line}");
    }
}
