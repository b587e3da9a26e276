use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C, packed)]
pub struct Packed {
    pub small: u8,
    pub big: u64,
}

#[derive(SharedState)]
#[repr(C)]
#[repr(packed(2))]
pub struct PackedTwo {
    pub small: u8,
    pub big: u64,
}

fn main() {}
