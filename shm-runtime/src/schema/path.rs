//! Field paths: `bar`, `inner.x`, `samples[3]` (or `samples.3`, which a
//! shell does not glob), `grid[1][2]`, `inner.arr[0].y`.
//!
//! A path is a field name, followed by any number of `.name`, `.N` or
//! `[N]` steps; `N` is a decimal index. Nothing else is allowed: no spaces,
//! no empty steps.

use std::fmt;
use std::fmt::Write as _;

use super::{Schema, StructDesc, TypeDesc};
use crate::Primitive;

/// A field found by its path: where it is and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// The path in canonical form, indices in brackets: `samples[3]` for
    /// `samples.3`.
    pub path: String,
    /// Byte offset from the start of the top struct.
    pub offset: usize,
    /// The type there: a scalar, an array or a nested struct.
    pub ty: &'a TypeDesc,
}

impl FieldRef<'_> {
    /// The scalar type, when the path names a scalar.
    pub fn primitive(&self) -> Option<Primitive> {
        self.ty.as_primitive()
    }

    /// Size in bytes of what the path names.
    pub fn size(&self) -> usize {
        self.ty.size()
    }
}

/// A path that does not name a field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve field path {path:?}: {kind}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What went wrong, and where.
    pub kind: PathErrorKind,
}

/// What is wrong with a path. Each names the part of the path that resolved
/// (`parent`, canonical; empty for the top struct) and what was there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// An empty path.
    Empty {
        /// The top struct's first field, as an example.
        example: String,
    },
    /// Not a path at all.
    Syntax {
        /// Byte offset in the path where it went wrong.
        position: usize,
        reason: &'static str,
    },
    /// A struct without a field of that name.
    NoSuchField {
        parent: String,
        struct_name: String,
        name: String,
        /// The struct's field names, in order.
        available: Vec<String>,
    },
    /// An index past the end of an array.
    IndexOutOfRange {
        parent: String,
        /// The index as written (it may not even fit in a `usize`).
        index: String,
        len: usize,
    },
    /// An index on something that is not an array.
    NotAnArray {
        parent: String,
        /// What is there: a struct's name or a scalar type.
        ty: String,
    },
    /// A field name after something that is not a struct.
    NotAStruct {
        parent: String,
        /// What is there: a scalar or an array type.
        ty: String,
        name: String,
    },
}

impl fmt::Display for PathErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathErrorKind::Empty { example } => {
                write!(f, "the path is empty; name a field, such as `{example}`")
            }
            PathErrorKind::Syntax { position, reason } => {
                write!(f, "{reason} at byte {position}")
            }
            PathErrorKind::NoSuchField {
                parent,
                struct_name,
                name,
                available,
            } => {
                if parent.is_empty() {
                    write!(f, "`{struct_name}` has no field `{name}`")?;
                } else {
                    write!(f, "`{parent}` (a `{struct_name}`) has no field `{name}`")?;
                }
                write_available(f, available)
            }
            PathErrorKind::IndexOutOfRange { parent, index, len } => match len {
                0 => write!(
                    f,
                    "`{parent}` has no elements, so index {index} is out of range"
                ),
                1 => write!(
                    f,
                    "`{parent}` has 1 element, so index {index} is out of range (only 0)"
                ),
                _ => write!(
                    f,
                    "`{parent}` has {len} elements, so index {index} is out of range (0 to {})",
                    len - 1
                ),
            },
            PathErrorKind::NotAnArray { parent, ty } => {
                let what = if parent.is_empty() {
                    format!("the top struct `{ty}`")
                } else {
                    format!("`{parent}` (a `{ty}`)")
                };
                write!(f, "{what} is not an array and cannot be indexed")
            }
            PathErrorKind::NotAStruct { parent, ty, name } => {
                write!(f, "`{parent}` is a `{ty}`, which has no field `{name}`")?;
                if ty.starts_with('[') {
                    write!(f, "; index it as `{parent}[N]` or `{parent}.N`")?;
                }
                Ok(())
            }
        }
    }
}

/// "; its fields are `a`, `b`, `c`", at most 16 of them.
fn write_available(f: &mut fmt::Formatter<'_>, available: &[String]) -> fmt::Result {
    const SHOWN: usize = 16;
    f.write_str("; its fields are ")?;
    for (i, name) in available.iter().take(SHOWN).enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "`{name}`")?;
    }
    if available.len() > SHOWN {
        write!(f, " and {} more", available.len() - SHOWN)?;
    }
    Ok(())
}

/// One step of a parsed path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step<'p> {
    /// `name` or `.name`; all digits (`.3`) indexes an array.
    Name(&'p str),
    /// `[N]`.
    Index(&'p str),
}

fn parse(path: &str) -> Result<Vec<Step<'_>>, PathErrorKind> {
    let syntax = |position, reason| PathErrorKind::Syntax { position, reason };
    let is_name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut steps = Vec::new();
    let mut rest = path;
    loop {
        let at = path.len() - rest.len();
        let name_len = rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
        if name_len == 0 {
            return Err(syntax(at, "expected a field name or an index"));
        }
        steps.push(Step::Name(&rest[..name_len]));
        rest = &rest[name_len..];
        while let Some(after) = rest.strip_prefix('[') {
            let at = path.len() - after.len();
            let digits = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            if digits == 0 {
                return Err(syntax(at, "expected an index (digits) inside `[]`"));
            }
            rest = after[digits..]
                .strip_prefix(']')
                .ok_or_else(|| syntax(at + digits, "expected `]`"))?;
            steps.push(Step::Index(&after[..digits]));
        }
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None if rest.is_empty() => return Ok(steps),
            None => {
                return Err(syntax(
                    path.len() - rest.len(),
                    "expected `.`, `[` or the end of the path",
                ))
            }
        }
    }
}

/// Where a walk along a path has got to.
#[derive(Clone, Copy)]
enum Node<'a> {
    Struct(&'a StructDesc),
    Type(&'a TypeDesc),
}

impl Schema {
    /// The field at `path`: `bar`, `inner.x`, `samples[3]`, `samples.3`,
    /// `grid[1][2]`, `inner.arr[0].y`. A path may stop at a nested struct or
    /// an array as well as at a scalar.
    ///
    /// # Errors
    ///
    /// A [`PathError`] that names the path, the part of it that resolved,
    /// and what was there: the available field names, or the array's
    /// length.
    pub fn field(&self, path: &str) -> Result<FieldRef<'_>, PathError> {
        self.root().field_at(path)
    }
}

impl StructDesc {
    /// The field at `path` under this struct, as [`Schema::field`] finds it;
    /// offsets are from the start of this struct.
    ///
    /// # Errors
    ///
    /// As [`Schema::field`].
    pub fn field_at(&self, path: &str) -> Result<FieldRef<'_>, PathError> {
        self.resolve(path).map_err(|kind| PathError {
            path: path.to_owned(),
            kind,
        })
    }

    fn resolve(&self, path: &str) -> Result<FieldRef<'_>, PathErrorKind> {
        if path.is_empty() {
            return Err(PathErrorKind::Empty {
                example: self
                    .fields()
                    .first()
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
            });
        }
        let mut node = Node::Struct(self);
        let mut offset = 0usize;
        let mut canonical = String::with_capacity(path.len());
        for step in parse(path)? {
            // Arithmetic cannot overflow: every offset reached is inside a
            // validated struct of at most `MAX_SIZE` bytes.
            let (ty, step_offset) = match (step, node) {
                (Step::Name(name), Node::Struct(s) | Node::Type(TypeDesc::Struct(s))) => {
                    let field = s.field(name).ok_or_else(|| PathErrorKind::NoSuchField {
                        parent: canonical.clone(),
                        struct_name: s.name().to_owned(),
                        name: name.to_owned(),
                        available: s.fields().iter().map(|f| f.name.clone()).collect(),
                    })?;
                    if !canonical.is_empty() {
                        canonical.push('.');
                    }
                    canonical.push_str(name);
                    (&field.ty, field.offset)
                }
                (
                    Step::Index(index) | Step::Name(index),
                    Node::Type(TypeDesc::Array { element, len }),
                ) if index.bytes().all(|b| b.is_ascii_digit()) => {
                    let i = index
                        .parse::<usize>()
                        .ok()
                        .filter(|i| i < len)
                        .ok_or_else(|| PathErrorKind::IndexOutOfRange {
                            parent: canonical.clone(),
                            index: index.to_owned(),
                            len: *len,
                        })?;
                    let _ = write!(canonical, "[{i}]");
                    (&**element, i * element.size())
                }
                (Step::Index(_), Node::Struct(s)) => {
                    return Err(PathErrorKind::NotAnArray {
                        parent: canonical,
                        ty: s.name().to_owned(),
                    })
                }
                (Step::Index(_), Node::Type(ty)) => {
                    return Err(PathErrorKind::NotAnArray {
                        parent: canonical,
                        ty: ty.to_string(),
                    })
                }
                (Step::Name(name), Node::Type(ty)) => {
                    return Err(PathErrorKind::NotAStruct {
                        parent: canonical,
                        ty: ty.to_string(),
                        name: name.to_owned(),
                    })
                }
            };
            offset += step_offset;
            node = Node::Type(ty);
        }
        match node {
            Node::Type(ty) => Ok(FieldRef {
                path: canonical,
                offset,
                ty,
            }),
            // A non-empty path has a first step, which either moved to a
            // field or returned an error.
            Node::Struct(_) => Err(PathErrorKind::Empty {
                example: String::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn resolve(path: &str) -> (String, usize, String) {
        let schema = Schema::of::<Nested>();
        let found = schema.field(path).unwrap();
        (found.path.clone(), found.offset, found.ty.to_string())
    }

    fn error(path: &str) -> String {
        Schema::of::<Nested>().field(path).unwrap_err().to_string()
    }

    #[test]
    fn resolves_every_form() {
        let r = |p: &str, o: usize, t: &str| (p.to_owned(), o, t.to_owned());
        assert_eq!(resolve("id"), r("id", 0, "u32"));
        assert_eq!(resolve("inner"), r("inner", 4, "Inner"));
        assert_eq!(resolve("inner.x"), r("inner.x", 4, "u32"));
        assert_eq!(resolve("samples"), r("samples", 16, "[u16; 4]"));
        assert_eq!(resolve("samples[3]"), r("samples[3]", 22, "u16"));
        assert_eq!(resolve("samples.3"), r("samples[3]", 22, "u16"));
        assert_eq!(resolve("grid[1]"), r("grid[1]", 27, "[u8; 3]"));
        assert_eq!(resolve("grid[1][2]"), r("grid[1][2]", 29, "u8"));
        assert_eq!(resolve("grid.1.2"), r("grid[1][2]", 29, "u8"));
        assert_eq!(resolve("grid[1].2"), r("grid[1][2]", 29, "u8"));
        assert_eq!(resolve("inner.arr[1].y"), r("inner.arr[1].y", 14, "i16"));
        assert_eq!(resolve("inner.arr.1.y"), r("inner.arr[1].y", 14, "i16"));
        assert_eq!(resolve("samples[03]"), r("samples[3]", 22, "u16"));
    }

    #[test]
    fn scalar_refs_give_their_primitive() {
        let schema = Schema::of::<Board>();
        let temp = schema.field("temps[1]").unwrap();
        assert_eq!((temp.offset, temp.primitive()), (16, Some(Primitive::F32)));
        assert_eq!(temp.size(), 4);
        assert_eq!(schema.field("corners").unwrap().primitive(), None);
    }

    #[test]
    fn unknown_fields_list_the_available_ones() {
        assert_eq!(
            error("nope"),
            r#"cannot resolve field path "nope": `Nested` has no field `nope`; its fields are `id`, `inner`, `samples`, `grid`, `_pad`"#
        );
        assert_eq!(
            error("inner.z"),
            r#"cannot resolve field path "inner.z": `inner` (a `Inner`) has no field `z`; its fields are `x`, `arr`"#
        );
        assert_eq!(
            error("inner.arr[0].z"),
            r#"cannot resolve field path "inner.arr[0].z": `inner.arr[0]` (a `Point`) has no field `z`; its fields are `x`, `y`"#
        );
    }

    #[test]
    fn indices_out_of_range_give_the_length() {
        assert_eq!(
            error("samples[4]"),
            r#"cannot resolve field path "samples[4]": `samples` has 4 elements, so index 4 is out of range (0 to 3)"#
        );
        assert_eq!(
            error("grid.1.99999999999999999999999"),
            r#"cannot resolve field path "grid.1.99999999999999999999999": `grid[1]` has 3 elements, so index 99999999999999999999999 is out of range (0 to 2)"#
        );
    }

    #[test]
    fn wrong_kinds_of_step() {
        assert_eq!(
            error("id.x"),
            r#"cannot resolve field path "id.x": `id` is a `u32`, which has no field `x`"#
        );
        assert_eq!(
            error("samples.x"),
            r#"cannot resolve field path "samples.x": `samples` is a `[u16; 4]`, which has no field `x`; index it as `samples[N]` or `samples.N`"#
        );
        assert_eq!(
            error("inner[0]"),
            r#"cannot resolve field path "inner[0]": `inner` (a `Inner`) is not an array and cannot be indexed"#
        );
        assert_eq!(
            error("id[0]"),
            r#"cannot resolve field path "id[0]": `id` (a `u32`) is not an array and cannot be indexed"#
        );
        assert_eq!(
            error("0"),
            r#"cannot resolve field path "0": `Nested` has no field `0`; its fields are `id`, `inner`, `samples`, `grid`, `_pad`"#
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        for (path, message) in [
            ("", "the path is empty; name a field, such as `id`"),
            (".id", "expected a field name or an index at byte 0"),
            ("inner.", "expected a field name or an index at byte 6"),
            ("inner..x", "expected a field name or an index at byte 6"),
            (
                "samples[",
                "expected an index (digits) inside `[]` at byte 8",
            ),
            (
                "samples[]",
                "expected an index (digits) inside `[]` at byte 8",
            ),
            (
                "samples[-1]",
                "expected an index (digits) inside `[]` at byte 8",
            ),
            ("samples[1", "expected `]` at byte 9"),
            (
                "samples[1]x",
                "expected `.`, `[` or the end of the path at byte 10",
            ),
            (
                "inner x",
                "expected `.`, `[` or the end of the path at byte 5",
            ),
            ("[0]", "expected a field name or an index at byte 0"),
        ] {
            assert_eq!(
                error(path),
                format!("cannot resolve field path {path:?}: {message}")
            );
        }
    }

    #[test]
    fn every_leaf_path_resolves_to_its_leaf() {
        for schema in [
            Schema::of::<Nested>(),
            Schema::of::<Board>(),
            Schema::of::<Grid>(),
        ] {
            for leaf in schema.leaves() {
                let found = schema.field(&leaf.path).unwrap();
                assert_eq!(found.path, leaf.path);
                assert_eq!(found.offset, leaf.offset);
                assert_eq!(found.primitive(), Some(leaf.primitive));
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No string makes path resolution panic.
        #[test]
        fn arbitrary_paths_never_panic(path in r"[a-z_0-9.\[\]]{0,24}|\PC{0,24}") {
            let schema = Schema::of::<super::super::fixtures::Nested>();
            if let Ok(found) = schema.field(&path) {
                prop_assert!(found.offset + found.size() <= schema.size());
                prop_assert_eq!(&schema.field(&found.path).unwrap(), &found);
            }
        }
    }
}
