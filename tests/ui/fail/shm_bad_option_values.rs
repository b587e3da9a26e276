use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
#[shm(crate = "not a path", view = "Foo")]
#[shm(view = "FooCells", view = "Again")]
pub struct Foo {
    #[shm(view = "x")]
    pub bar: u32,
}

#[derive(SharedState)]
#[repr(C)]
#[shm(crate = shm_runtime)]
pub struct Unquoted {
    pub bar: u32,
}

fn main() {}
