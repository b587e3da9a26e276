//! The traits the derive implements.

use crate::layout::TypeInfo;

/// A type that can be a field of a [`SharedState`] struct: the integers,
/// `f32`, `f64`, arrays of field types, and structs that derive `SharedState`.
///
/// Implemented by this crate for scalars and arrays, and by
/// `#[derive(SharedState)]` for structs; there is no reason to implement it
/// by hand.
///
/// # Safety
///
/// An implementation promises that:
/// - every bit pattern of `size_of::<Self>()` bytes is a valid `Self`, and
///   `Self` has no padding bytes;
/// - `align_of::<Self>()` is at most 4096: a region's payload starts on a
///   page boundary, and nothing larger is guaranteed;
/// - `View` and `ReadOnlyView` each have the size and alignment of `Self`,
///   are valid for every bit pattern, and consist only of atomics (types
///   built on `UnsafeCell`) that cover, at the same offsets, the scalars
///   `TYPE` lists;
/// - no operation of `ReadOnlyView` (through `&ReadOnlyView`, its fields and
///   elements) writes memory or does anything but an access that is defined
///   on memory mapped read-only: a reference to it may point into a
///   read-only mapping;
/// - `TYPE` describes `Self` exactly: its size, alignment, field names,
///   offsets and scalar types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in shared memory",
    label = "not a shared-memory field type",
    note = "use an integer (u8, u16, u32, u64, usize, i8, i16, i32, i64, isize), f32, f64, an array of those, or a struct that derives `SharedState` (add `#[derive(SharedState)]` and `#[repr(C)]` to your own struct)"
)]
pub unsafe trait SharedField: Copy + Send + Sync + 'static {
    /// How a value of this type is seen in shared memory: a
    /// [`SharedCell`](crate::SharedCell) for a scalar, an array of views for
    /// an array, the generated view struct for a struct.
    type View: Send + Sync + 'static;

    /// How a value of this type is seen through a read-only handle: the
    /// same layout as [`View`](SharedField::View), offering reads only (a
    /// [`ReadOnlyCell`](crate::ReadOnlyCell) for a scalar, an array of
    /// read-only views for an array, the generated read-only view struct for
    /// a struct).
    type ReadOnlyView: Send + Sync + 'static;

    /// The layout of `Self`.
    const TYPE: &'static TypeInfo;
}

/// A `#[repr(C)]` struct that can live in a shared region: derive it with
/// `#[derive(SharedState)]`.
///
/// # Safety
///
/// Besides the promises of [`SharedField`], `TYPE` is a
/// [`TypeInfo::Struct`] and `NAME` is the struct's name. The derive checks
/// all of this at compile time.
pub unsafe trait SharedState: SharedField {
    /// The struct's name, for error messages and the region's schema.
    const NAME: &'static str;

    /// The layout fingerprint recorded in every region of this type.
    const FINGERPRINT: u64 = Self::TYPE.fingerprint();
}

/// The bytes of `value`: exactly `size_of::<T>()` of them.
pub fn as_bytes<T: SharedState>(value: &T) -> &[u8] {
    // SAFETY: `value` is a valid reference to `size_of::<T>()` initialised
    // bytes: `T` has no padding bytes (the `SharedField` contract, checked by
    // the derive's padding assertions), so every byte is initialised. The
    // slice borrows `value`, so it cannot outlive it.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

/// A `T` from exactly `size_of::<T>()` bytes, in any alignment.
///
/// # Errors
///
/// [`Error::WrongSize`](crate::Error::WrongSize) when `bytes` has another length.
pub fn from_bytes<T: SharedState>(bytes: &[u8]) -> crate::Result<T> {
    if bytes.len() != size_of::<T>() {
        return Err(crate::Error::WrongSize {
            type_name: T::NAME.to_owned(),
            expected: size_of::<T>(),
            found: bytes.len(),
        });
    }
    // SAFETY: `bytes` holds exactly `size_of::<T>()` readable bytes (checked
    // above); `read_unaligned` needs no alignment; every bit pattern is a
    // valid `T` (the `SharedField` contract).
    Ok(unsafe { bytes.as_ptr().cast::<T>().read_unaligned() })
}
