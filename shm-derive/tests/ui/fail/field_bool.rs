use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Flags {
    pub ready: bool,
    pub lanes: [bool; 4],
    pub qualified: core::primitive::bool,
}

fn main() {}
