// Every mistake is reported in one compile.
use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(packed)]
#[shm(colour = "blue")]
pub struct Foo {
    pub ready: bool,
    pub count: u32,
    pub name: String,
    pub wide: [u128; 2],
    pub pair: (u8, u8),
}

fn main() {}
