//! The per-field atomic cell.
//!
//! A `SharedCell<T>` has exactly the size and alignment of `T` and wraps the
//! atomic of the same width, so a view made of cells overlays the plain
//! struct byte for byte. Every operation is one atomic instruction on the
//! shared memory: no lock, no system call.
//!
//! Orderings: loads are `Acquire`, stores are `Release`, read-modify-writes
//! are `AcqRel` (their failure path in `compare_exchange` is `Acquire`). So a
//! process that reads a value another process stored also sees everything
//! that process wrote before the store: a field can publish other data.
//!
//! A `ReadOnlyCell<T>` is the same atomic seen through a read-only handle:
//! it offers `get` alone, so writing through it does not compile, and that
//! `get` is a load that is defined on memory mapped read-only (see its docs).

use core::fmt;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{
    fence, AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicU16, AtomicU32, AtomicU64,
    AtomicU8, AtomicUsize,
};

use crate::layout::{Primitive, TypeInfo};
use crate::traits::SharedField;

mod sealed {
    pub trait Sealed {}
}

/// A scalar that a [`SharedCell`] can hold: the integers and floats.
///
/// Sealed: the set of scalars is fixed by what has a lock-free atomic of the
/// same size and is valid for every bit pattern.
pub trait Scalar: sealed::Sealed + Copy + 'static {
    /// The atomic type of the same size and alignment that stores it.
    type Atomic: Sync + Send + 'static;
}

/// One field of a shared struct, seen in shared memory: an atomic holding a `T`.
///
/// Obtained through the view that [`Shared`](crate::Shared) dereferences to;
/// never constructed by users.
#[repr(transparent)]
pub struct SharedCell<T: Scalar> {
    atomic: T::Atomic,
}

/// One field of a shared struct, seen through a read-only handle: an atomic
/// holding a `T` that can be read, never written.
///
/// The cell of the view that [`ReadOnly`](crate::ReadOnly) dereferences to;
/// never constructed by users. It has the layout of [`SharedCell<T>`] and
/// offers only [`get`](ReadOnlyCell::get), so a read-only mapping is never
/// written through it: `set`, `swap` and the read-modify-writes do not
/// compile.
#[repr(transparent)]
pub struct ReadOnlyCell<T: Scalar> {
    atomic: T::Atomic,
}

/// Layout checks for a scalar's cells: each is exactly its atomic, which is
/// exactly the scalar, so a view overlays the plain struct.
macro_rules! assert_cell_layout {
    ($t:ident $atomic:ident) => {
        const _: () = {
            use core::mem::{align_of, size_of};
            assert!(size_of::<$atomic>() == size_of::<$t>());
            assert!(align_of::<$atomic>() == align_of::<$t>());
            assert!(size_of::<SharedCell<$t>>() == size_of::<$atomic>());
            assert!(align_of::<SharedCell<$t>>() == align_of::<$atomic>());
            assert!(size_of::<ReadOnlyCell<$t>>() == size_of::<$atomic>());
            assert!(align_of::<ReadOnlyCell<$t>>() == align_of::<$atomic>());
        };
    };
}

/// The load behind [`ReadOnlyCell::get`]: `Acquire` semantics from a
/// `Relaxed` load and an `Acquire` fence.
///
/// The standard library defines atomic loads on read-only memory only for
/// `Relaxed` loads up to a size limit per target, 8 bytes on 64-bit targets
/// (`core::sync::atomic`, "Atomic accesses to read-only memory"), which
/// covers every cell there; a fence touches no memory. The pair
/// synchronises with a `Release` store exactly as an `Acquire` load would,
/// and on x86-64 it is the same single `mov`.
macro_rules! read_only_load {
    ($atomic:expr) => {{
        let value = $atomic.load(Relaxed);
        fence(Acquire);
        value
    }};
}

macro_rules! integer_cell {
    ($($t:ident $atomic:ident $prim:ident;)*) => {$(
        impl sealed::Sealed for $t {}

        impl Scalar for $t {
            type Atomic = $atomic;
        }

        // SAFETY: `SharedCell<$t>` and `ReadOnlyCell<$t>` are
        // `repr(transparent)` over `$atomic`, which has the size and alignment
        // of `$t` (checked below) and is valid for every bit pattern; a
        // `ReadOnlyCell` only loads, with `read_only_load!`. `$t` is valid for
        // every bit pattern, has no padding, and its alignment is at most 8.
        // `TYPE` describes exactly that scalar.
        unsafe impl SharedField for $t {
            type View = SharedCell<$t>;
            type ReadOnlyView = ReadOnlyCell<$t>;
            const TYPE: &'static TypeInfo = &TypeInfo::Primitive(Primitive::$prim);
        }

        assert_cell_layout!($t $atomic);

        impl fmt::Debug for SharedCell<$t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl fmt::Debug for ReadOnlyCell<$t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl ReadOnlyCell<$t> {
            /// Atomically loads the value, with `Acquire` semantics.
            #[inline]
            pub fn get(&self) -> $t {
                read_only_load!(self.atomic)
            }
        }

        impl SharedCell<$t> {
            /// Atomically loads the value (`Acquire`).
            #[inline]
            pub fn get(&self) -> $t {
                self.atomic.load(Acquire)
            }

            /// Atomically stores `value` (`Release`).
            #[inline]
            pub fn set(&self, value: $t) {
                self.atomic.store(value, Release)
            }

            /// Stores `value` and returns the previous value (`AcqRel`).
            #[inline]
            pub fn swap(&self, value: $t) -> $t {
                self.atomic.swap(value, AcqRel)
            }

            /// Stores `new` if the value is `current`. Returns the previous
            /// value: `Ok` if it was `current` and `new` was stored, `Err`
            /// with the value found otherwise (`AcqRel` / `Acquire`).
            #[inline]
            pub fn compare_exchange(&self, current: $t, new: $t) -> Result<$t, $t> {
                self.atomic.compare_exchange(current, new, AcqRel, Acquire)
            }

            /// Adds `value`, wrapping on overflow; returns the previous value.
            #[inline]
            pub fn fetch_add(&self, value: $t) -> $t {
                self.atomic.fetch_add(value, AcqRel)
            }

            /// Subtracts `value`, wrapping on overflow; returns the previous value.
            #[inline]
            pub fn fetch_sub(&self, value: $t) -> $t {
                self.atomic.fetch_sub(value, AcqRel)
            }

            /// Bitwise and; returns the previous value.
            #[inline]
            pub fn fetch_and(&self, value: $t) -> $t {
                self.atomic.fetch_and(value, AcqRel)
            }

            /// Bitwise or; returns the previous value.
            #[inline]
            pub fn fetch_or(&self, value: $t) -> $t {
                self.atomic.fetch_or(value, AcqRel)
            }

            /// Bitwise xor; returns the previous value.
            #[inline]
            pub fn fetch_xor(&self, value: $t) -> $t {
                self.atomic.fetch_xor(value, AcqRel)
            }

            /// Stores the maximum of the value and `value`; returns the previous value.
            #[inline]
            pub fn fetch_max(&self, value: $t) -> $t {
                self.atomic.fetch_max(value, AcqRel)
            }

            /// Stores the minimum of the value and `value`; returns the previous value.
            #[inline]
            pub fn fetch_min(&self, value: $t) -> $t {
                self.atomic.fetch_min(value, AcqRel)
            }
        }
    )*};
}

integer_cell! {
    u8 AtomicU8 U8;
    u16 AtomicU16 U16;
    u32 AtomicU32 U32;
    u64 AtomicU64 U64;
    usize AtomicUsize Usize;
    i8 AtomicI8 I8;
    i16 AtomicI16 I16;
    i32 AtomicI32 I32;
    i64 AtomicI64 I64;
    isize AtomicIsize Isize;
}

macro_rules! float_cell {
    ($($t:ident $atomic:ident $prim:ident;)*) => {$(
        impl sealed::Sealed for $t {}

        impl Scalar for $t {
            type Atomic = $atomic;
        }

        // SAFETY: `SharedCell<$t>` and `ReadOnlyCell<$t>` are
        // `repr(transparent)` over `$atomic`, which has the size and alignment
        // of `$t` (checked below); a `ReadOnlyCell` only loads, with
        // `read_only_load!`. Every bit pattern is a valid float, with no
        // padding, and its alignment is at most 8. `TYPE` describes exactly
        // that scalar.
        unsafe impl SharedField for $t {
            type View = SharedCell<$t>;
            type ReadOnlyView = ReadOnlyCell<$t>;
            const TYPE: &'static TypeInfo = &TypeInfo::Primitive(Primitive::$prim);
        }

        assert_cell_layout!($t $atomic);

        impl fmt::Debug for SharedCell<$t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl fmt::Debug for ReadOnlyCell<$t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        /// Floats are stored by their bits.
        impl ReadOnlyCell<$t> {
            /// Atomically loads the value, with `Acquire` semantics.
            #[inline]
            pub fn get(&self) -> $t {
                $t::from_bits(read_only_load!(self.atomic))
            }
        }

        /// Floats are stored by their bits: `compare_exchange` compares bits,
        /// so `-0.0` and `0.0` differ and a NaN matches the same NaN.
        impl SharedCell<$t> {
            /// Atomically loads the value (`Acquire`).
            #[inline]
            pub fn get(&self) -> $t {
                $t::from_bits(self.atomic.load(Acquire))
            }

            /// Atomically stores `value` (`Release`).
            #[inline]
            pub fn set(&self, value: $t) {
                self.atomic.store(value.to_bits(), Release)
            }

            /// Stores `value` and returns the previous value (`AcqRel`).
            #[inline]
            pub fn swap(&self, value: $t) -> $t {
                $t::from_bits(self.atomic.swap(value.to_bits(), AcqRel))
            }

            /// Stores `new` if the value has the bits of `current`. `Ok` with
            /// the previous value on success, `Err` with the value found
            /// otherwise (`AcqRel` / `Acquire`).
            #[inline]
            pub fn compare_exchange(&self, current: $t, new: $t) -> Result<$t, $t> {
                self.atomic
                    .compare_exchange(current.to_bits(), new.to_bits(), AcqRel, Acquire)
                    .map($t::from_bits)
                    .map_err($t::from_bits)
            }
        }
    )*};
}

float_cell! {
    f32 AtomicU32 F32;
    f64 AtomicU64 F64;
}

// SAFETY: an array of views (read-only or not) is laid out as `N`
// consecutive views with no padding between them, exactly as `[T; N]` lays
// out `N` values of `T`, since each view has the size and alignment of its
// `T` (the trait's contract); an array offers no operation of its own, so a
// `[T::ReadOnlyView; N]` writes nothing. `[T; N]` has the alignment of `T`,
// at most 4096, and no padding besides `T`'s, which has none.
unsafe impl<T: SharedField, const N: usize> SharedField for [T; N] {
    type View = [T::View; N];
    type ReadOnlyView = [T::ReadOnlyView; N];
    const TYPE: &'static TypeInfo = &TypeInfo::Array {
        element: T::TYPE,
        len: N,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_operations() {
        let c = SharedCell::<i32> {
            atomic: AtomicI32::new(5),
        };
        assert_eq!(c.get(), 5);
        c.set(7);
        assert_eq!(c.swap(9), 7);
        assert_eq!(c.fetch_add(1), 9);
        assert_eq!(c.fetch_sub(2), 10);
        assert_eq!(c.fetch_max(20), 8);
        assert_eq!(c.fetch_min(3), 20);
        assert_eq!(c.fetch_or(0b100), 3);
        assert_eq!(c.fetch_and(0b110), 7);
        assert_eq!(c.fetch_xor(0b010), 6);
        assert_eq!(c.compare_exchange(4, 1), Ok(4));
        assert_eq!(c.compare_exchange(4, 2), Err(1));
        assert_eq!(format!("{c:?}"), "1");
    }

    #[test]
    fn float_operations_go_by_bits() {
        let c = SharedCell::<f64> {
            atomic: AtomicU64::new(1.5f64.to_bits()),
        };
        assert_eq!(c.get(), 1.5);
        assert_eq!(c.swap(-0.0), 1.5);
        assert_eq!(c.compare_exchange(0.0, 1.0), Err(-0.0));
        assert_eq!(c.compare_exchange(-0.0, 1.0), Ok(-0.0));
        c.set(f64::NAN);
        assert!(c.get().is_nan());
    }

    #[test]
    fn read_only_cells_load() {
        let c = ReadOnlyCell::<i64> {
            atomic: AtomicI64::new(-5),
        };
        assert_eq!(c.get(), -5);
        assert_eq!(format!("{c:?}"), "-5");
        let c = ReadOnlyCell::<f32> {
            atomic: AtomicU32::new((-0.0f32).to_bits()),
        };
        assert_eq!(c.get().to_bits(), (-0.0f32).to_bits());
        assert_eq!(format!("{c:?}"), "-0.0");
    }

    #[test]
    fn views_overlay_their_values() {
        use core::mem::{align_of, size_of};
        assert_eq!(size_of::<<[u16; 3] as SharedField>::View>(), 6);
        assert_eq!(align_of::<<[u64; 2] as SharedField>::View>(), 8);
        assert_eq!(size_of::<<[u16; 3] as SharedField>::ReadOnlyView>(), 6);
        assert_eq!(align_of::<<[u64; 2] as SharedField>::ReadOnlyView>(), 8);
        assert_eq!(<[[u8; 2]; 3] as SharedField>::TYPE.size(), 6);
    }
}
