// The read-only view reads every field: scalars, arrays (indexed, iterated,
// with `len`) and nested structs through their own read-only views. It
// overlays the struct exactly as the read-write view does.
use core::mem::{align_of, size_of};

use shm_runtime::{ReadOnlyCell, SharedField, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Inner {
    pub x: u64,
    pub y: i32,
    pub z: f32,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(16))]
pub struct Outer {
    pub bar: i32,
    pub ratio: f32,
    pub samples: [u32; 8],
    pub grid: [[u16; 2]; 2],
    pub inner: Inner,
    pub many: [Inner; 2],
    pub weight: f64,
    pub _pad: [u8; 8],
}

fn read(ro: &OuterReadOnlyView) -> u64 {
    let _: i32 = ro.bar.get();
    let _: f32 = ro.ratio.get();
    let _: u32 = ro.samples[3].get();
    let _: usize = ro.samples.len();
    let _: u32 = ro.samples.iter().map(|cell| cell.get()).sum();
    let _: u16 = ro.grid[1][0].get();
    let _: usize = ro.grid[0].len();
    let _: f32 = ro.inner.z.get();
    let _: &InnerReadOnlyView = &ro.inner;
    let _: &InnerReadOnlyView = &ro.many[1];
    let _: f64 = ro.weight.get();
    let _: String = format!("{ro:?}");
    ro.many[1].x.get()
}

// The view that `ReadOnly<Outer>` dereferences to.
fn through_the_trait(ro: &<Outer as SharedField>::ReadOnlyView) -> &OuterReadOnlyView {
    ro
}

fn main() {
    let _ = (read, through_the_trait);
    assert_eq!(size_of::<OuterReadOnlyView>(), size_of::<Outer>());
    assert_eq!(align_of::<OuterReadOnlyView>(), 16);
    assert_eq!(size_of::<InnerReadOnlyView>(), size_of::<InnerView>());
    assert_eq!(size_of::<ReadOnlyCell<u64>>(), 8);
}
