// The generated code names nothing the prelude would provide.
#![no_implicit_prelude]

mod shared {
    use ::shm_runtime::SharedState;

    #[derive(SharedState, ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
    #[repr(C)]
    pub struct Inner {
        pub x: u32,
    }

    #[derive(SharedState, ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
    #[repr(C, align(8))]
    pub struct Foo {
        pub bar: i32,
        pub inner: Inner,
        pub samples: [u16; 4],
    }

    pub fn use_view(foo: &::shm_runtime::Shared<Foo>) -> u32 {
        foo.bar.set(1);
        foo.samples[3].set(9);
        foo.inner.x.fetch_add(1)
    }
}

fn main() {
    let _ = shared::use_view;
    let foo = shared::Foo {
        bar: 1,
        inner: shared::Inner { x: 2 },
        samples: [3; 4],
    };
    let bytes: &[u8] = foo.as_bytes();
    ::std::assert_eq!(bytes.len(), 16);
    ::std::assert!(shared::Foo::from_bytes(bytes).is_ok());
    let _ = ::core::mem::size_of::<shared::FooView>();
}
