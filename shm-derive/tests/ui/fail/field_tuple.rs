use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Tuples {
    pub pair: (u32, u32),
    pub nothing: (),
}

fn main() {}
