// The example of the API contract type-checks as written.
use shm_runtime::{OpenOptions, ReadOnly, Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Foo {
    pub bar: i32,
    pub baz: i32,
}

fn open() -> shm_runtime::Result<()> {
    let foo: Shared<Foo> = Foo::open_file("/tmp/suchfoo")?;
    let _: Shared<Foo> = Foo::open_shm("such_foo")?;
    let _ = OpenOptions::<Foo>::new()
        .create(true)
        .create_new(true)
        .mode(0o640)
        .initial(Foo { bar: 42, baz: 98 })
        .open_file("/tmp/suchfoo")?;
    let _: OpenOptions<Foo> = Foo::options();
    foo.bar.get();
    foo.bar.set(31337);
    foo.bar.swap(7);
    foo.bar.fetch_add(1);
    let _: Result<i32, i32> = foo.bar.compare_exchange(7, 8);
    let _: &FooView = &foo;
    Ok(())
}

fn open_read_only() -> shm_runtime::Result<()> {
    let foo: ReadOnly<Foo> = Foo::open_file_read_only("/tmp/suchfoo")?;
    let _: ReadOnly<Foo> = Foo::open_shm_read_only("such_foo")?;
    let _: ReadOnly<Foo> = OpenOptions::<Foo>::new().open_file_read_only("/tmp/suchfoo")?;
    let _: ReadOnly<Foo> = Foo::options().open_shm_read_only("such_foo")?;
    let _: i32 = foo.bar.get();
    let _: &FooReadOnlyView = &foo;
    Ok(())
}

fn main() {
    let _ = (open, open_read_only);
    let value = Foo { bar: 1, baz: 2 };
    let bytes: &[u8] = value.as_bytes();
    let back: Foo = Foo::from_bytes(bytes).unwrap();
    assert_eq!(back, value);
    assert_eq!(<Foo as SharedState>::NAME, "Foo");
}
