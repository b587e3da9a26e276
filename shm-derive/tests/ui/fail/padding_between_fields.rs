use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Foo {
    pub flag: u8,
    pub count: u32,
}

fn main() {}
