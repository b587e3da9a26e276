use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Foo {
    pub big: u64,
    pub small: u32,
}

fn main() {}
