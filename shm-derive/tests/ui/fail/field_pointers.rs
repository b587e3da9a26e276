// Addresses mean nothing in another process.
use std::rc::Rc;
use std::sync::Arc;

use shm_runtime::SharedState;

#[derive(SharedState)]
#[repr(C)]
pub struct Pointers {
    pub shared: &'static u32,
    pub exclusive: &'static mut u32,
    pub raw: *const u8,
    pub raw_mut: *mut u8,
    pub callback: fn(u32) -> u32,
    pub boxed: Box<u32>,
    pub counted: Rc<u32>,
    pub atomic_counted: Arc<u32>,
    pub non_null: std::ptr::NonNull<u8>,
}

fn main() {}
