use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
#[shm(rename = "Other", view = "FooCells", krate = "shm_runtime")]
pub struct Foo {
    pub bar: u32,
}

fn main() {}
