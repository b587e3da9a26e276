//! Schemas the unit tests share.

use shm_runtime::schema::StructDesc;
use shm_runtime::Primitive;

/// `struct {name} { x: ty, y: ty }`.
pub(crate) fn point(name: &str, ty: Primitive) -> StructDesc {
    StructDesc::repr_c(
        name,
        vec![("x".to_owned(), ty.into()), ("y".to_owned(), ty.into())],
    )
    .unwrap()
}
