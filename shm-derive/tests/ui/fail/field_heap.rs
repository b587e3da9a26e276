// Heap collections point to memory only this process has.
use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Collections {
    pub name: String,
    pub samples: Vec<u32>,
    pub qualified: std::string::String,
}

fn main() {}
