// Structs nest in structs and in arrays of structs; the view of each is
// reached through the outer view.
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Inner {
    pub x: u64,
    pub y: i32,
    pub z: f32,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Outer {
    pub bar: i32,
    pub samples: [u32; 7],
    pub inner: Inner,
    pub many: [Inner; 3],
}

fn use_view(outer: &Shared<Outer>) -> u64 {
    outer.bar.set(outer.bar.get() + 1);
    outer.samples[3].set(9);
    let _: usize = outer.samples.len();
    outer.inner.x.fetch_add(1);
    outer.inner.z.set(1.5);
    outer.many[2].y.fetch_max(4);
    let _ = outer.many[1].x.compare_exchange(0, 1);
    let _ = format!("{:?}", &**outer);
    outer.many[0].x.get()
}

fn main() {
    let _ = use_view;
    let value = Outer {
        bar: 1,
        inner: Inner { x: 2, y: 3, z: 4.0 },
        ..Outer::default()
    };
    let bytes = value.as_bytes();
    assert_eq!(bytes.len(), core::mem::size_of::<Outer>());
    assert_eq!(Outer::from_bytes(bytes).unwrap(), value);
    assert!(Outer::from_bytes(&bytes[1..]).is_err());
    assert_eq!(
        core::mem::size_of::<OuterView>(),
        core::mem::size_of::<Outer>()
    );
    assert_eq!(core::mem::size_of::<InnerView>(), 16);
    assert_eq!(<Outer as SharedState>::NAME, "Outer");
}
