//! The shared structs of the rows, and the names of their regions.

use shm_runtime::SharedState;

/// The contract's example: the field rows, the ping-pongs, opening.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Foo {
    pub bar: i32,
    pub baz: i32,
}

/// One counter, as the baseline's bare `AtomicU64`.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Counter {
    pub count: u64,
}

/// The 16-byte struct of the whole-struct rows: two i32 and a u64, the same
/// shape as the seqlock's and mmap-sync's value.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Small {
    pub a: i32,
    pub b: i32,
    pub c: u64,
}

/// The 4 KiB struct of the whole-struct rows.
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Big {
    pub data: [u64; 512],
}

/// A region name private to this run: `shm-bench-<pid>-<tag>`.
pub fn region_name(tag: &str) -> String {
    format!("shm-bench-{}-{tag}", std::process::id())
}

/// A region of this run that is removed when dropped (the mapping of the
/// `Shared` handles stays valid until they drop).
#[derive(Debug)]
pub struct Scratch(pub String);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let name = region_name(tag);
        let _ = shm_runtime::remove_shm(&name);
        Scratch(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = shm_runtime::remove_shm(&self.0);
    }
}
