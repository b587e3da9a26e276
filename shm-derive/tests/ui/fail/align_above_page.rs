// A region's payload is only page-aligned: a larger `align` would give a
// misaligned view.
use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C, align(8192))]
pub struct Huge {
    pub words: [u64; 1024],
}

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
#[repr(align(0x10000))]
pub struct Hex {
    pub words: [u64; 8192],
}

// The limit itself is accepted.
#[derive(SharedState, Clone, Copy)]
#[repr(C, align(4096))]
pub struct Page {
    pub words: [u64; 512],
}

fn main() {}
