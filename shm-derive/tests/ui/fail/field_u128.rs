use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Wide {
    pub unsigned: u128,
    pub signed: i128,
}

fn main() {}
