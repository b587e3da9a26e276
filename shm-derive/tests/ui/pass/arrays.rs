// Arrays, nested arrays and arrays of floats: each indexes to cells.
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Arrays {
    pub samples: [u32; 8],
    pub grid: [[u16; 2]; 3],
    pub bytes: [u8; 4],
    pub weights: [f64; 2],
}

fn use_view(a: &Shared<Arrays>) -> u16 {
    a.samples[3].set(9);
    let _: usize = a.samples.len();
    for cell in &a.samples {
        cell.fetch_add(1);
    }
    a.grid[2][1].fetch_add(1);
    let _: usize = a.grid[0].len();
    a.bytes[0].set(b'x');
    a.weights[1].set(0.5);
    a.grid[1][0].get()
}

fn main() {
    let _ = use_view;
    assert_eq!(
        core::mem::size_of::<ArraysView>(),
        core::mem::size_of::<Arrays>()
    );
    let mut value = Arrays::default();
    value.grid[2][1] = 7;
    let bytes = value.as_bytes();
    assert_eq!(bytes.len(), 32 + 12 + 4 + 16);
    assert_eq!(Arrays::from_bytes(bytes).unwrap(), value);
}
