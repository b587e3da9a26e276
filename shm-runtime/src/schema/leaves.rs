//! Every scalar of a layout with its full path, in offset order: what a
//! renderer prints, one line per value.

use std::fmt::Write as _;

use super::{FieldDesc, FieldRef, Schema, StructDesc, TypeDesc};
use crate::Primitive;

/// One scalar in a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The full path, as [`Schema::field`] takes it: `bar`, `inner.x`,
    /// `samples[0]`, `corners[1].y`.
    pub path: String,
    /// Byte offset from the start of the top struct.
    pub offset: usize,
    /// The scalar's type.
    pub primitive: Primitive,
}

/// The scalars of a layout, depth first, so in increasing offset order.
///
/// Lazy: an array of a million elements costs nothing until iterated, and
/// memory stays proportional to the nesting depth.
#[derive(Clone, Debug)]
pub struct Leaves<'a> {
    /// A node still to visit before the frames: the start of a walk from a
    /// field rather than from a struct.
    pending: Option<(&'a TypeDesc, usize)>,
    stack: Vec<Frame<'a>>,
    /// The path of the node being visited; each frame truncates it back to
    /// its own prefix before adding a child's name or index.
    path: String,
}

#[derive(Clone, Debug)]
enum Frame<'a> {
    Struct {
        fields: std::slice::Iter<'a, FieldDesc>,
        base: usize,
        prefix: usize,
    },
    Array {
        element: &'a TypeDesc,
        len: usize,
        next: usize,
        base: usize,
        prefix: usize,
    },
}

impl<'a> Leaves<'a> {
    fn of_struct(s: &'a StructDesc) -> Leaves<'a> {
        Leaves {
            pending: None,
            stack: vec![Frame::Struct {
                fields: s.fields().iter(),
                base: 0,
                prefix: 0,
            }],
            path: String::new(),
        }
    }
}

impl Schema {
    /// Every scalar of the struct with its full path, in offset order.
    pub fn leaves(&self) -> Leaves<'_> {
        self.root().leaves()
    }
}

impl StructDesc {
    /// Every scalar of the struct with its full path, in offset order;
    /// offsets are from the start of this struct.
    pub fn leaves(&self) -> Leaves<'_> {
        Leaves::of_struct(self)
    }
}

impl<'a> FieldRef<'a> {
    /// Every scalar at or under this field, with full paths and offsets
    /// from the start of the top struct: the field itself for a scalar.
    pub fn leaves(&self) -> Leaves<'a> {
        Leaves {
            pending: Some((self.ty, self.offset)),
            stack: Vec::new(),
            path: self.path.clone(),
        }
    }
}

impl Iterator for Leaves<'_> {
    type Item = Leaf;

    fn next(&mut self) -> Option<Leaf> {
        loop {
            let (ty, offset) = match self.pending.take() {
                Some(node) => node,
                None => match self.next_child() {
                    Some(node) => node,
                    None if self.stack.is_empty() => return None,
                    None => continue,
                },
            };
            let prefix = self.path.len();
            if ty.size() == 0 {
                // No scalar is zero-sized, so nothing of size 0 holds one:
                // skipping it keeps `[[u8; 0]; 1 << 60]` from spinning
                // through elements that yield nothing.
                continue;
            }
            match ty {
                TypeDesc::Primitive(p) => {
                    return Some(Leaf {
                        path: self.path.clone(),
                        offset,
                        primitive: *p,
                    })
                }
                TypeDesc::Array { element, len } => self.stack.push(Frame::Array {
                    element,
                    len: *len,
                    next: 0,
                    base: offset,
                    prefix,
                }),
                TypeDesc::Struct(s) => self.stack.push(Frame::Struct {
                    fields: s.fields().iter(),
                    base: offset,
                    prefix,
                }),
            }
        }
    }
}

impl<'a> Leaves<'a> {
    /// The next child of the innermost frame, with the path set to it; pops
    /// the frame and returns `None` when it has no more.
    fn next_child(&mut self) -> Option<(&'a TypeDesc, usize)> {
        let frame = self.stack.last_mut()?;
        let child = match frame {
            Frame::Struct {
                fields,
                base,
                prefix,
            } => fields.next().map(|f| {
                self.path.truncate(*prefix);
                if *prefix > 0 {
                    self.path.push('.');
                }
                self.path.push_str(&f.name);
                // In bounds: the struct was validated, and `base` is where
                // it lies inside the top struct.
                (&f.ty, *base + f.offset)
            }),
            Frame::Array {
                element,
                len,
                next,
                base,
                prefix,
            } => (*next < *len).then(|| {
                let index = *next;
                *next += 1;
                self.path.truncate(*prefix);
                let _ = write!(self.path, "[{index}]");
                (*element, *base + index * element.size())
            }),
        };
        if child.is_none() {
            self.stack.pop();
        }
        child
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn listing(leaves: Leaves<'_>) -> Vec<String> {
        leaves
            .map(|l| format!("{} {} {}", l.path, l.primitive.name(), l.offset))
            .collect()
    }

    #[test]
    fn lists_every_scalar_with_its_path() {
        // Every scalar, as `shm show` walks them.
        assert_eq!(
            listing(Schema::of::<Board>().leaves()),
            [
                "total u64 0",
                "id u32 8",
                "temps[0] f32 12",
                "temps[1] f32 16",
                "corners[0].x i16 20",
                "corners[0].y i16 22",
                "corners[1].x i16 24",
                "corners[1].y i16 26",
                "_pad[0] u8 28",
                "_pad[1] u8 29",
                "_pad[2] u8 30",
                "_pad[3] u8 31",
            ]
        );
    }

    #[test]
    fn nested_structs_and_arrays_of_arrays() {
        let schema = Schema::of::<Nested>();
        let all = listing(schema.leaves());
        assert_eq!(all.len(), 1 + 5 + 4 + 6 + 2);
        assert_eq!(
            &all[..6],
            [
                "id u32 0",
                "inner.x u32 4",
                "inner.arr[0].x i16 8",
                "inner.arr[0].y i16 10",
                "inner.arr[1].x i16 12",
                "inner.arr[1].y i16 14",
            ]
        );
        assert_eq!(all[10], "grid[0][0] u8 24");
        assert_eq!(all[15], "grid[1][2] u8 29");
    }

    #[test]
    fn leaves_under_a_field() {
        let schema = Schema::of::<Nested>();
        let arr = schema.field("inner.arr.1").unwrap();
        assert_eq!(
            listing(arr.leaves()),
            ["inner.arr[1].x i16 12", "inner.arr[1].y i16 14"]
        );
        let scalar = schema.field("samples.2").unwrap();
        assert_eq!(listing(scalar.leaves()), ["samples[2] u16 20"]);
    }

    #[test]
    fn huge_arrays_are_walked_lazily() {
        let big = StructDesc::repr_c(
            "Big",
            vec![(
                "bytes".to_owned(),
                TypeDesc::array(Primitive::U8.into(), 1 << 40),
            )],
        )
        .unwrap();
        let last = big.leaves().nth(1_000).unwrap();
        assert_eq!((last.path.as_str(), last.offset), ("bytes[1000]", 1000));
    }

    #[test]
    fn empty_arrays_have_no_leaves() {
        let s = StructDesc::repr_c(
            "S",
            vec![
                ("none".to_owned(), TypeDesc::array(Primitive::U32.into(), 0)),
                ("one".to_owned(), Primitive::U32.into()),
            ],
        )
        .unwrap();
        assert_eq!(listing(s.leaves()), ["one u32 0"]);
        let endless = StructDesc::repr_c(
            "S",
            vec![
                (
                    "none".to_owned(),
                    TypeDesc::array(TypeDesc::array(Primitive::U8.into(), 0), usize::MAX),
                ),
                ("one".to_owned(), Primitive::U8.into()),
            ],
        )
        .unwrap();
        assert_eq!(listing(endless.leaves()), ["one u8 0"]);
    }
}
