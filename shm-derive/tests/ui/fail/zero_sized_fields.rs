// Fields that are all empty arrays: no syntax is wrong, the size is.
use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Nothing {
    pub none: [u32; 0],
}

fn main() {}
