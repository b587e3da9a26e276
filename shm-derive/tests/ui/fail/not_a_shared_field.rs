use shm_runtime::SharedState;

// A plain struct, without `#[derive(SharedState)]`.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Plain {
    pub x: u32,
}

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Foo {
    pub plain: Plain,
    pub plains: [Plain; 2],
}

fn main() {}
