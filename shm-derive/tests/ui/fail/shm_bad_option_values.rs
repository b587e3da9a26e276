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

#[derive(SharedState)]
#[repr(C)]
#[shm(view = "Cells", read_only_view = "Cells")]
pub struct SameViews {
    pub bar: u32,
}

#[derive(SharedState)]
#[repr(C)]
#[shm(view = "DefaultClashReadOnlyView")]
pub struct DefaultClash {
    pub bar: u32,
}

#[derive(SharedState)]
#[repr(C)]
#[shm(read_only_view = "Bad", read_only_view = "not a name")]
pub struct Bad {
    pub bar: u32,
}

fn main() {}
