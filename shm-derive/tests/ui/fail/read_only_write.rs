// A read-only view offers `get` only: writing through it, to a scalar, an
// array element or a nested struct's field, does not compile.
use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Inner {
    pub x: u64,
}

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Foo {
    pub bar: i32,
    pub ratio: f32,
    pub samples: [u32; 8],
    pub inner: Inner,
}

fn write(foo: &FooReadOnlyView) {
    foo.bar.set(31337);
    foo.bar.fetch_add(1);
    let _ = foo.bar.compare_exchange(7, 8);
    foo.ratio.set(0.5);
    foo.samples[3].set(9);
    foo.inner.x.swap(7);
}

fn main() {
    let _ = write;
}
