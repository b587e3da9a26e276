use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(Rust)]
pub struct Foo {
    pub bar: u32,
}

fn main() {}
