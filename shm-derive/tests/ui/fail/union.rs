use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub union Value {
    pub int: u32,
    pub float: f32,
}

fn main() {}
