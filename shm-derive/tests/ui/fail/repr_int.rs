use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(u32)]
pub struct Foo {
    pub bar: u32,
}

fn main() {}
