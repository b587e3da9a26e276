//! Fields by byte offset: the scalar that starts at an offset, found by
//! descending the schema (one step per struct or array level, not a walk over
//! every scalar), so C can name a field with `offsetof`.

use shm_runtime::{Primitive, Schema, TypeDesc};

/// The scalar that starts `offset` bytes into the struct: its canonical path
/// (`sensors[1].pos.y`) and type. Otherwise why not, naming the field that
/// covers the offset.
pub(crate) fn scalar_at(schema: &Schema, offset: usize) -> Result<(String, Primitive), String> {
    let root = schema.root();
    if offset >= root.size() {
        return Err(format!(
            "offset {offset} is past the end of `{}` ({} bytes)",
            root.name(),
            root.size()
        ));
    }
    let mut path = String::new();
    // The start of the node being looked into, from the start of the struct.
    let mut base = 0usize;
    let mut fields = root.fields();
    loop {
        // Fields are in offset order without overlap, so their ends only
        // grow: the first that ends after `offset` is the only one that can
        // cover it. A zero-sized field covers nothing and is passed over.
        let first_after = fields.partition_point(|f| base + f.offset + f.ty.size() <= offset);
        let Some(field) = fields
            .get(first_after)
            .filter(|f| base + f.offset <= offset)
        else {
            // Unreachable for a validated schema (no gaps between fields),
            // but an answer all the same.
            return Err(format!("no field covers offset {offset}"));
        };
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&field.name);
        base += field.offset;
        let mut ty = &field.ty;
        // Down through arrays to the element that covers the offset, to a
        // nested struct (looked into by the outer loop), or to the scalar.
        fields = loop {
            match ty {
                TypeDesc::Array { element, .. } => {
                    // Not zero: a zero-sized array covers nothing, so it was
                    // passed over above.
                    let stride = element.size().max(1);
                    let index = (offset - base) / stride;
                    path.push_str(&format!("[{index}]"));
                    base += index * stride;
                    ty = element;
                }
                TypeDesc::Struct(inner) => break inner.fields(),
                TypeDesc::Primitive(primitive) if base == offset => return Ok((path, *primitive)),
                TypeDesc::Primitive(primitive) => {
                    return Err(format!(
                    "offset {offset} is inside `{path}` ({}, bytes {base}..{}), not at its start",
                    primitive.name(),
                    base + primitive.size()
                ))
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm_runtime::{SharedState, StructDesc};

    #[derive(SharedState, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct Point {
        x: i16,
        y: i16,
    }

    #[derive(SharedState, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct Shape {
        id: u32,
        corners: [Point; 2],
        grid: [[u8; 3]; 2],
        _pad: [u8; 6],
        weight: f64,
    }

    #[test]
    fn every_scalar_is_found_at_its_offset_and_nothing_else_is() {
        let schema = Schema::of::<Shape>();
        let mut starts = std::collections::HashMap::new();
        for leaf in schema.leaves() {
            starts.insert(leaf.offset, (leaf.path, leaf.primitive));
        }
        for offset in 0..schema.size() + 3 {
            match (scalar_at(&schema, offset), starts.get(&offset)) {
                (Ok(found), Some(expected)) => assert_eq!(&found, expected),
                (Err(_), None) => {}
                (found, expected) => panic!("offset {offset}: {found:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn a_miss_names_the_field_it_landed_in() {
        let schema = Schema::of::<Shape>();
        assert_eq!(
            scalar_at(&schema, 9).unwrap_err(),
            "offset 9 is inside `corners[1].x` (i16, bytes 8..10), not at its start"
        );
        assert_eq!(
            scalar_at(&schema, 25).unwrap_err(),
            "offset 25 is inside `weight` (f64, bytes 24..32), not at its start"
        );
        assert_eq!(
            scalar_at(&schema, 32).unwrap_err(),
            "offset 32 is past the end of `Shape` (32 bytes)"
        );
        assert_eq!(
            scalar_at(&schema, usize::MAX).unwrap_err(),
            format!(
                "offset {} is past the end of `Shape` (32 bytes)",
                usize::MAX
            )
        );
        assert_eq!(
            scalar_at(&schema, 16),
            Ok(("grid[1][1]".to_owned(), Primitive::U8))
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
        assert_eq!(scalar_at(&schema, 8), Ok(("b".to_owned(), Primitive::U32)));
        assert_eq!(scalar_at(&schema, 12), Ok(("c".to_owned(), Primitive::U32)));
    }
}
