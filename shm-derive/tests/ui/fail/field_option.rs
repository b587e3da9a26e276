use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Maybe {
    pub limit: Option<u32>,
}

fn main() {}
