use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Text {
    pub initial: char,
    pub grid: [[char; 2]; 2],
}

fn main() {}
