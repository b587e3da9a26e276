// A struct declared by a `macro_rules!` macro: lengths and types that
// arrive as macro fragments keep their grouping in the generated code
// (`$bytes / 8 - 1` with `$bytes = 1 << 20` is `(1 << 20) / 8 - 1`), and the
// parentheses that keep it trigger no lint.
#![deny(warnings)]
use shm_runtime::SharedState;

macro_rules! sized {
    ($name:ident, $bytes:expr) => {
        #[derive(SharedState, Clone, Copy)]
        #[repr(C)]
        pub struct $name {
            pub head: u64,
            pub rest: [u64; $bytes / 8 - 1],
        }
    };
}

sized!(OneMiB, 1 << 20);

// A type fragment, a length fragment used inside a nested array, and field
// attributes passed as fragments (copied onto the view).
macro_rules! typed {
    ($name:ident, $elem:ty, $len:expr) => {
        typed!($name, $elem, $len, #[doc = "The first."]);
    };
    ($name:ident, $elem:ty, $len:expr, $(#[$attr:meta])*) => {
        #[derive(SharedState, Clone, Copy)]
        #[repr(C)]
        pub struct $name {
            $(#[$attr])*
            pub first: $elem,
            pub grid: [[$elem; $len * 2 - 1]; $len],
        }
    };
}

typed!(Grid, u32, 1 + 1);
typed!(Single, u8, 4);

// An `align` given as a fragment is mirrored on the view.
macro_rules! aligned {
    ($name:ident, $align:expr) => {
        #[derive(SharedState, Clone, Copy)]
        #[repr(C, align($align))]
        pub struct $name {
            pub words: [u64; $align / 8],
        }
    };
}

aligned!(Line, 64);

fn main() {
    assert!(core::mem::size_of::<OneMiB>() == 1 << 20);
    assert!(core::mem::size_of::<OneMiBView>() == 1 << 20);
    assert!(core::mem::size_of::<Grid>() == 4 * (1 + 3 * 2));
    assert!(core::mem::size_of::<GridView>() == 4 * (1 + 3 * 2));
    assert!(core::mem::size_of::<SingleView>() == 1 + 7 * 4);
    assert!(core::mem::align_of::<LineView>() == 64);
}
