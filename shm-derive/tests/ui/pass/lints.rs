// The generated code triggers no lint in a strict crate, for a private
// struct whose view is never used.
#![deny(
    warnings,
    unused,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub
)]
//! A strict crate.

use shm_runtime::SharedState;

/// Private shared state.
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
struct Private {
    /// A counter.
    count: u64,
    /// Samples.
    samples: [u16; 4],
}

/// Public shared state.
#[derive(SharedState, Clone, Copy, Debug)]
#[repr(C)]
pub struct Public {
    /// Nested.
    pub private_inner: u32,
    /// More.
    pub(crate) more: u32,
}

/// Private shared state with a named view.
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
#[shm(view = "NamedCells")]
struct Named {
    /// A flag.
    flag: u32,
}

fn main() {
    let _ = core::mem::size_of::<Named>();
    let _ = core::mem::size_of::<Private>();
}
