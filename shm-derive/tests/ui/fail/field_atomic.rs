use std::sync::atomic::{AtomicBool, AtomicU32};

use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Atomics {
    pub count: AtomicU32,
    pub ready: AtomicBool,
    pub qualified: std::sync::atomic::AtomicI64,
}

fn main() {}
