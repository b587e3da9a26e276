//! Arguments from C, checked: handles, strings, buffers and output
//! pointers. Null pointers and invalid UTF-8 become errors here; what cannot
//! be checked (that a pointer is valid) is each function's `# Safety`
//! contract, which the entry points pass on to their C callers.

use std::ffi::{c_char, c_void, CStr};
use std::ptr::NonNull;

use shm_runtime::Region;

use crate::status::Failure;

/// What a `shm_region *` points to: a region opened by
/// `shm_region_open`/`shm_region_open_read_only`, boxed.
#[derive(Debug)]
pub struct ShmRegion {
    pub(crate) region: Region,
}

/// The region behind a handle.
///
/// # Safety
///
/// `handle` is null or was returned by `shm_region_open*` and not yet
/// closed, and is not closed while the returned reference lives.
pub(crate) unsafe fn region<'a>(handle: *const ShmRegion) -> Result<&'a Region, Failure> {
    if handle.is_null() {
        return Err(Failure::invalid("the region handle is NULL"));
    }
    // SAFETY: not null, and by the caller's promise a live `ShmRegion` made
    // by `Box::into_raw` that outlives `'a`; only shared references to it
    // are ever made (every operation takes `&Region`).
    Ok(unsafe { &(*handle).region })
}

/// A NUL-terminated UTF-8 string argument named `what`.
///
/// # Safety
///
/// `text` is null or points to a NUL-terminated string that is not
/// changed while the returned reference lives.
pub(crate) unsafe fn string<'a>(text: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if text.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: not null, and by the caller's promise NUL-terminated and
    // unchanged for `'a`.
    let bytes = unsafe { CStr::from_ptr(text) };
    bytes.to_str().map_err(|e| {
        Failure::invalid(format!(
            "{what} is not valid UTF-8 ({e}): {:?}",
            bytes.to_string_lossy()
        ))
    })
}

/// A buffer of `len` bytes that C gives to be read.
///
/// # Safety
///
/// `buffer` is null or valid for reads of `len` initialised bytes that
/// nothing writes while the returned slice lives.
pub(crate) unsafe fn bytes<'a>(buffer: *const c_void, len: usize) -> Result<&'a [u8], Failure> {
    if buffer.is_null() {
        return Err(Failure::invalid("the buffer is NULL"));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("a buffer of {len} bytes")));
    }
    // SAFETY: not null, `len` within `isize::MAX`, and by the caller's
    // promise valid for `len` initialised bytes, unchanged for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(buffer.cast::<u8>(), len) })
}

/// A buffer of `len` bytes that C gives to be written, zeroed first (C may
/// hand over uninitialised memory, which a `&mut [u8]` must not cover).
///
/// # Safety
///
/// `buffer` is null or valid for writes of `len` bytes, and nothing else
/// reads or writes them while the returned slice lives.
pub(crate) unsafe fn bytes_mut<'a>(
    buffer: *mut c_void,
    len: usize,
) -> Result<&'a mut [u8], Failure> {
    if buffer.is_null() {
        return Err(Failure::invalid("the buffer is NULL"));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("a buffer of {len} bytes")));
    }
    let start = buffer.cast::<u8>();
    // SAFETY: not null, valid for writes of `len` bytes (the caller's
    // promise); a `u8` needs no alignment.
    unsafe { start.write_bytes(0, len) };
    // SAFETY: as above, and now initialised; exclusive for `'a` by the
    // caller's promise; `len` within `isize::MAX`.
    Ok(unsafe { std::slice::from_raw_parts_mut(start, len) })
}

/// An output parameter, checked for null before the call does anything.
#[derive(Debug)]
pub(crate) struct Out<T> {
    to: NonNull<T>,
}

impl<T> Out<T> {
    /// The required output `to`, named `what` in the error.
    ///
    /// # Safety
    ///
    /// `to` is null or valid for writes of `size_of::<T>()` bytes (any
    /// alignment) for as long as the `Out` lives.
    pub(crate) unsafe fn required(to: *mut T, what: &str) -> Result<Out<T>, Failure> {
        NonNull::new(to)
            .map(|to| Out { to })
            .ok_or_else(|| Failure::invalid(format!("{what} is NULL")))
    }

    /// The output `to`, which C may leave NULL: then nothing is written.
    ///
    /// # Safety
    ///
    /// As [`required`](Self::required).
    pub(crate) unsafe fn optional(to: *mut T) -> Option<Out<T>> {
        NonNull::new(to).map(|to| Out { to })
    }

    pub(crate) fn write(&self, value: T) {
        // SAFETY: valid for writes of a `T` (the promise made to
        // `required`/`optional`); unaligned, so no alignment is assumed.
        unsafe { self.to.as_ptr().write_unaligned(value) }
    }
}

/// Writes `value` through an optional output.
pub(crate) fn write_optional<T>(out: Option<Out<T>>, value: T) {
    if let Some(out) = out {
        out.write(value);
    }
}
