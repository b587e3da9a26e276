use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Marker;

fn main() {}
