use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(transparent)]
pub struct Foo {
    pub bar: u32,
}

fn main() {}
