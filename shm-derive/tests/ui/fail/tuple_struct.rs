use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Point(pub i32, pub i32);

fn main() {}
