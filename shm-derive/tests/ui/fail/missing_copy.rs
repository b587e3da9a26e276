use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Foo {
    pub x: u32,
}

fn main() {}
