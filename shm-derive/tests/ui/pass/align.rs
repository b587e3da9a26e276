// `align(N)` is mirrored on the view; the fields fill the whole size.
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C, align(16))]
pub struct Aligned {
    pub head: u64,
    pub tail: [u32; 2],
}

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
#[repr(align(32))]
pub struct Line {
    pub words: [u64; 4],
}

fn use_view(a: &Shared<Aligned>, l: &Shared<Line>) {
    a.head.set(1);
    a.tail[1].set(2);
    l.words[3].fetch_or(1);
}

fn main() {
    let _ = use_view;
    assert_eq!(core::mem::align_of::<AlignedView>(), 16);
    assert_eq!(core::mem::size_of::<AlignedView>(), 16);
    assert_eq!(core::mem::align_of::<LineView>(), 32);
}
