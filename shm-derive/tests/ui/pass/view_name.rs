// `#[shm(view = "...")]` and `#[shm(read_only_view = "...")]` name the
// views; raw identifiers keep their names.
use shm_runtime::{Shared, SharedField, SharedState, TypeInfo};

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
#[shm(view = "FooCells", read_only_view = "FooReader")]
pub struct Foo {
    pub r#type: u32,
    pub value: u32,
}

// A user type already called `FooView` or `FooReadOnlyView` does not clash.
pub struct FooView;
pub struct FooReadOnlyView;

// Only one of the two named: the other keeps its default name.
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
#[shm(read_only_view = "BarReader")]
pub struct Bar {
    pub value: u32,
}

fn use_view(foo: &Shared<Foo>) -> &FooCells {
    foo.r#type.set(1);
    foo
}

fn read(foo: &FooReader, bar: &BarReader, _: &BarView) -> u32 {
    foo.r#type.get() + bar.value.get()
}

fn main() {
    let _ = (use_view, read, FooView, FooReadOnlyView);
    assert_eq!(core::mem::size_of::<FooCells>(), 8);
    assert_eq!(core::mem::size_of::<FooReader>(), 8);
    match <Foo as SharedField>::TYPE {
        TypeInfo::Struct { name, fields, .. } => {
            assert_eq!(*name, "Foo");
            assert_eq!(fields[0].name, "type");
            assert_eq!(fields[1].offset, 4);
        }
        _ => unreachable!(),
    }
}
