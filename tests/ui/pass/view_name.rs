// `#[shm(view = "...")]` names the view; raw identifiers keep their names.
use shm_runtime::{Shared, SharedField, SharedState, TypeInfo};

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
#[shm(view = "FooCells")]
pub struct Foo {
    pub r#type: u32,
    pub value: u32,
}

// A user type already called `FooView` does not clash.
pub struct FooView;

fn use_view(foo: &Shared<Foo>) -> &FooCells {
    foo.r#type.set(1);
    foo
}

fn main() {
    let _ = (use_view, FooView);
    assert_eq!(core::mem::size_of::<FooCells>(), 8);
    match <Foo as SharedField>::TYPE {
        TypeInfo::Struct { name, fields, .. } => {
            assert_eq!(*name, "Foo");
            assert_eq!(fields[0].name, "type");
            assert_eq!(fields[1].offset, 4);
        }
        _ => unreachable!(),
    }
}
