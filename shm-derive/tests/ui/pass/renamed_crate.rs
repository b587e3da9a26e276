// `#[shm(crate = "...")]` points the generated code at a renamed runtime.
extern crate shm_runtime as renamed_shm;

use renamed_shm::SharedState;

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
#[shm(crate = "renamed_shm")]
pub struct Foo {
    pub bar: i32,
    pub baz: [u8; 4],
}

mod nested {
    // An absolute path works from any module.
    #[derive(renamed_shm::SharedState, Clone, Copy)]
    #[repr(C)]
    #[shm(crate = "::renamed_shm")]
    pub struct Bar {
        pub x: u64,
    }
}

fn use_view(foo: &renamed_shm::Shared<Foo>, bar: &renamed_shm::Shared<nested::Bar>) {
    foo.bar.set(1);
    foo.baz[3].set(2);
    bar.x.fetch_add(1);
}

fn open() -> renamed_shm::Result<()> {
    let _: renamed_shm::Shared<Foo> = Foo::options().initial(Foo::default()).open_file("/tmp/f")?;
    let _ = nested::Bar::open_shm("bar")?;
    Ok(())
}

fn main() {
    let _ = (use_view, open);
    assert_eq!(Foo::default().as_bytes().len(), 8);
    assert_eq!(core::mem::size_of::<nested::BarView>(), 8);
}
