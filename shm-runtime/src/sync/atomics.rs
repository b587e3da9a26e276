//! The atomics the protocols use: `std`'s, or loom's when the crate is built
//! with `--cfg loom` to model-check the protocols (`loom_tests.rs`,
//! `docs/loom.md`).
//!
//! The sync area's words are atomics of the types re-exported here. The
//! payload and the journal are bytes of a mapping shared with other
//! processes, reached through pointers: [`Word`] loads and stores one scalar
//! of them in place. Under loom there is no such memory the checker can see,
//! so each scalar is a loom atomic of the model instead (`model`).
//!
//! Without loom every item is `std`'s own or an `#[inline(always)]` cast to
//! it, so the protocols compile to the code they compiled to when they named
//! `std` directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64};
// loom's `Ordering` is this one.
pub(crate) use std::sync::atomic::Ordering;

/// A scalar of a region's payload or journal, loaded or stored in place by
/// one atomic access of its own width.
pub(crate) trait Word: Copy + PartialEq {
    /// Loads the scalar at `at`.
    ///
    /// # Safety
    ///
    /// `at` is valid for `size_of::<Self>()` bytes, aligned to that size,
    /// and only ever accessed atomically while this runs.
    unsafe fn load(at: *const u8, order: Ordering) -> Self;

    /// Stores `value` at `at`.
    ///
    /// # Safety
    ///
    /// As [`load`](Word::load), and `at` is writable.
    unsafe fn store(at: *const u8, value: Self, order: Ordering);
}

macro_rules! word {
    ($($t:ident $atomic:ident),*) => {$(
        impl Word for $t {
            #[cfg(not(loom))]
            #[inline(always)]
            unsafe fn load(at: *const u8, order: Ordering) -> $t {
                // SAFETY: the caller's promise; the atomic has the size and
                // alignment of the scalar.
                unsafe { (*at.cast::<std::sync::atomic::$atomic>()).load(order) }
            }

            #[cfg(not(loom))]
            #[inline(always)]
            unsafe fn store(at: *const u8, value: $t, order: Ordering) {
                // SAFETY: as in `load`.
                unsafe { (*at.cast::<std::sync::atomic::$atomic>()).store(value, order) }
            }

            #[cfg(loom)]
            unsafe fn load(at: *const u8, order: Ordering) -> $t {
                super::model::load(at, size_of::<$t>(), order) as $t
            }

            #[cfg(loom)]
            unsafe fn store(at: *const u8, value: $t, order: Ordering) {
                super::model::store(at, size_of::<$t>(), u64::from(value), order)
            }
        }
    )*};
}
word!(u8 AtomicU8, u16 AtomicU16, u32 AtomicU32, u64 AtomicU64);
