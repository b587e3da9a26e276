//! The shared structs of the rows, and the names of their regions.

use std::fmt;

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

/// A struct of the rows by size: its shape for the table, and the one
/// word that the `update` and `store` rows change.
pub trait Payload: SharedState + PartialEq + fmt::Debug {
    /// The size for the table: "16 B", "4 KiB".
    const SIZE: &'static str;
    /// The fields for the table: "(head: u64, data: [u64; 511])".
    const SHAPE: &'static str;
    /// The name of the field [`head`](Self::head) returns.
    const HEAD: &'static str;
    /// The word the `update` and `store` rows change.
    fn head(&mut self) -> &mut u64;
    /// Gives the struct's words distinct values.
    fn fill(&mut self);
}

impl Payload for Small {
    const SIZE: &'static str = "16 B";
    const SHAPE: &'static str = "(i32, i32, u64)";
    const HEAD: &'static str = "c";
    fn head(&mut self) -> &mut u64 {
        &mut self.c
    }
    fn fill(&mut self) {
        *self = Small { a: 1, b: 2, c: 3 };
    }
}

/// The larger structs of the whole-struct rows: a head word and the rest
/// of the size in `data` (all `u64`, so one run of equal words for the
/// runtime, as a bare array would be).
macro_rules! sized_struct {
    ($(#[$doc:meta])* $name:ident, $len:literal, $size:literal, $shape:literal) => {
        $(#[$doc])*
        #[derive(SharedState, Clone, Copy, Debug, PartialEq)]
        #[repr(C)]
        pub struct $name {
            pub head: u64,
            pub data: [u64; $len],
        }

        impl Payload for $name {
            const SIZE: &'static str = $size;
            const SHAPE: &'static str = $shape;
            const HEAD: &'static str = "head";
            fn head(&mut self) -> &mut u64 {
                &mut self.head
            }
            fn fill(&mut self) {
                self.head = 1;
                for (i, word) in self.data.iter_mut().enumerate() {
                    *word = i as u64 + 2;
                }
            }
        }
    };
}

sized_struct!(
    /// 4 KiB.
    Struct4k,
    511,
    "4 KiB",
    "(head: u64, data: [u64; 511])"
);
sized_struct!(
    /// 64 KiB.
    Struct64k,
    8191,
    "64 KiB",
    "(head: u64, data: [u64; 8191])"
);
sized_struct!(
    /// 1 MiB: never on the stack, in the rows.
    Struct1m,
    131_071,
    "1 MiB",
    "(head: u64, data: [u64; 131071])"
);

const _: () = {
    assert!(size_of::<Small>() == 16);
    assert!(size_of::<Struct4k>() == 4 << 10);
    assert!(size_of::<Struct64k>() == 64 << 10);
    assert!(size_of::<Struct1m>() == 1 << 20);
};

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
