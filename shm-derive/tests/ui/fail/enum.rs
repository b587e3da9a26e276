use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub enum Mode {
    Idle,
    Running { speed: u32 },
}

fn main() {}
