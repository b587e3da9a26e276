use shm_runtime::SharedState;

#[derive(SharedState)]
pub struct Foo {
    pub bar: i32,
}

// `align` alone does not fix the layout either.
#[derive(SharedState)]
#[repr(align(8))]
pub struct Aligned {
    pub bar: i32,
}

fn main() {}
