use std::marker::PhantomData;

use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Marked {
    pub value: u32,
    pub marker: PhantomData<u32>,
}

fn main() {}
