// `align(N)` larger than the fields leaves padding at the end.
use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy)]
#[repr(C, align(16))]
pub struct Foo {
    pub value: u64,
}

fn main() {}
