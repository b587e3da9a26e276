// Types without a fixed size (each the last and only field, which Rust
// itself allows).
use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Text {
    pub text: str,
}

#[derive(SharedState)]
#[repr(C)]
pub struct Slice {
    pub values: [u32],
}

pub trait Shape {}

#[derive(SharedState)]
#[repr(C)]
pub struct Object {
    pub shape: dyn Shape,
}

fn main() {}
