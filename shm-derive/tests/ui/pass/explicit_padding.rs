// Gaps filled by explicit fields are accepted, in the middle and at the end.
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Padded {
    pub flag: u8,
    pub _pad0: [u8; 7],
    pub count: u64,
    pub small: u16,
    pub _pad1: [u8; 6],
}

fn use_view(p: &Shared<Padded>) -> u64 {
    p.flag.set(1);
    p.count.get()
}

fn main() {
    let _ = use_view;
    assert_eq!(core::mem::size_of::<Padded>(), 24);
    assert_eq!(Padded::default().as_bytes(), &[0u8; 24][..]);
}
