//! A schema's scalars as runs of equal widths, from its type tree.

use crate::schema::{Schema, StructDesc, TypeDesc};
use crate::sync::runs::{self, Run};

/// The scalars of a schema as runs of equal widths, as `runs::runs` makes
/// them from a derived type. Walks the type tree, not the leaves: an array
/// of scalars is one run, whatever its length, and an array whose element
/// is one run (`[[u8; 4]; N]`, `[Point; N]` of one width) is one run too,
/// so opening costs time in the schema's fields, not its elements. Only an
/// array of structs of mixed widths costs a run per element's run.
pub(super) fn runs_of(schema: &Schema) -> Box<[Run]> {
    let mut out = Vec::new();
    push_struct_runs(schema.root(), 0, &mut out);
    out.into_boxed_slice()
}

fn push_struct_runs(desc: &StructDesc, base: usize, out: &mut Vec<Run>) {
    for field in desc.fields() {
        push_runs(&field.ty, base + field.offset, out);
    }
}

fn push_runs(ty: &TypeDesc, base: usize, out: &mut Vec<Run>) {
    match ty {
        TypeDesc::Primitive(p) => runs::add(
            out,
            Run {
                offset: base,
                width: p.size(),
                count: 1,
            },
        ),
        TypeDesc::Struct(desc) => push_struct_runs(desc, base, out),
        TypeDesc::Array { element, len } => {
            let mut one = Vec::new();
            push_runs(element, 0, &mut one);
            let size = element.size();
            match one.as_slice() {
                // One run filling the element: the array is one run. (A
                // validated struct has no padding, so every element is
                // covered by its runs.)
                [run] if run.offset == 0 && run.width * run.count == size => runs::add(
                    out,
                    Run {
                        offset: base,
                        width: run.width,
                        count: run.count * len,
                    },
                ),
                runs_of_one => {
                    for i in 0..*len {
                        for run in runs_of_one {
                            runs::add(
                                out,
                                Run {
                                    offset: base + i * size + run.offset,
                                    ..*run
                                },
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fixtures::arbitrary_type_info;
    use crate::Primitive;
    use proptest::prelude::*;

    /// The runs as the leaves list them, one scalar at a time: the slow
    /// reading `runs_of` must agree with.
    fn runs_of_leaves(schema: &Schema) -> Vec<Run> {
        let mut out = Vec::new();
        for leaf in schema.leaves() {
            let run = Run {
                offset: leaf.offset,
                width: leaf.primitive.size(),
                count: 1,
            };
            runs::add(&mut out, run);
        }
        out
    }

    proptest! {
        /// From the type tree, the same runs as from the leaves, and as
        /// the typed path makes from the derive's `TypeInfo`.
        #[test]
        fn runs_from_the_tree_are_the_runs_of_the_leaves(info in arbitrary_type_info()) {
            let schema = Schema::new(StructDesc::try_from(info).unwrap());
            let runs = runs_of(&schema);
            prop_assert_eq!(&runs[..], &runs_of_leaves(&schema)[..]);
            prop_assert_eq!(&runs[..], &runs::runs(info)[..]);
        }
    }

    /// An array's runs cost nothing per element: `[u8; 2^40]` (and an
    /// array of one-width structs of that size) is one run, found at once;
    /// walking its leaves would take hours.
    #[test]
    fn huge_arrays_are_one_run() {
        let pair = StructDesc::repr_c(
            "Pair",
            vec![
                ("x".to_owned(), Primitive::U32.into()),
                ("y".to_owned(), Primitive::U32.into()),
            ],
        )
        .unwrap();
        let root = StructDesc::repr_c(
            "Huge",
            vec![
                ("head".to_owned(), Primitive::U64.into()),
                (
                    "bytes".to_owned(),
                    TypeDesc::array(Primitive::U8.into(), 1 << 40),
                ),
                ("pairs".to_owned(), TypeDesc::array(pair.into(), 1 << 36)),
            ],
        )
        .unwrap();
        let runs = runs_of(&Schema::new(root));
        let expected = [
            Run {
                offset: 0,
                width: 8,
                count: 1,
            },
            Run {
                offset: 8,
                width: 1,
                count: 1 << 40,
            },
            Run {
                offset: 8 + (1 << 40),
                width: 4,
                count: 1 << 37,
            },
        ];
        assert_eq!(&runs[..], &expected);
    }
}
