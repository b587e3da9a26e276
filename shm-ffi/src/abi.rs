//! The exported C functions, declared in `include/shm.h`.
//!
//! Each one checks its arguments ([`crate::args`]), calls the runtime's
//! [`Region`], and runs inside [`status::run`], which turns an error or a
//! panic into a status code and this thread's last error message. Nothing
//! here reads or writes shared memory itself.

use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use shm_runtime::{FieldOp, Primitive, Region};

use crate::args::{self, write_optional, Out, ShmRegion};
use crate::number::{suffix_for, CNumber};
use crate::status::{self, Failure, SHM_E_LAYOUT};

/// Opens the existing region at `location` read-write, whatever its layout.
/// A location with a `/` is a file path, else a POSIX shm name (as the `shm`
/// command line reads a REGION).
///
/// # Safety
///
/// `location` is null or a NUL-terminated string; `region` is null or valid
/// for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn shm_region_open(
    location: *const c_char,
    region: *mut *mut ShmRegion,
) -> c_int {
    // SAFETY: passed on from this function's contract.
    unsafe { open(location, region, false) }
}

/// As [`shm_region_open`], to read only.
///
/// # Safety
///
/// As [`shm_region_open`].
#[no_mangle]
pub unsafe extern "C" fn shm_region_open_read_only(
    location: *const c_char,
    region: *mut *mut ShmRegion,
) -> c_int {
    // SAFETY: passed on from this function's contract.
    unsafe { open(location, region, true) }
}

/// # Safety
///
/// As [`shm_region_open`].
unsafe fn open(location: *const c_char, out: *mut *mut ShmRegion, read_only: bool) -> c_int {
    status::run(|| {
        // SAFETY: `out` is null or valid for writing a pointer (the
        // caller's promise).
        let out = unsafe { Out::required(out, "the region output pointer") }?;
        // Written first, so a failed open leaves NULL, never garbage.
        out.write(std::ptr::null_mut());
        // SAFETY: `location` is null or NUL-terminated (the caller's
        // promise), and C does not change it during the call.
        let location = unsafe { args::string(location, "the location") }?;
        let region = if location.contains('/') {
            if read_only {
                Region::open_file_read_only(location)
            } else {
                Region::open_file(location)
            }
        } else if read_only {
            Region::open_shm_read_only(location)
        } else {
            Region::open_shm(location)
        }?;
        out.write(Box::into_raw(Box::new(ShmRegion { region })));
        Ok(())
    })
}

/// Closes a region handle; null does nothing.
///
/// # Safety
///
/// `region` is null or a handle from `shm_region_open*` that was not closed
/// yet; no other call uses it at the same time or afterwards.
#[no_mangle]
pub unsafe extern "C" fn shm_region_close(region: *mut ShmRegion) -> c_int {
    status::run(|| {
        if !region.is_null() {
            // SAFETY: made by `Box::into_raw` in `open`, not freed yet, and
            // nobody else uses it now or later (the caller's promise).
            drop(unsafe { Box::from_raw(region) });
        }
        Ok(())
    })
}

/// The struct's size in bytes.
///
/// # Safety
///
/// `region` is null or an open handle; `size` is null or valid for writing
/// a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_size(region: *const ShmRegion, size: *mut usize) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promises, passed on.
        let (region, size) = unsafe { (args::region(region)?, Out::required(size, "size")?) };
        size.write(region.size());
        Ok(())
    })
}

/// The layout fingerprint.
///
/// # Safety
///
/// `region` is null or an open handle; `fingerprint` is null or valid for
/// writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_fingerprint(region: *const ShmRegion, fingerprint: *mut u64) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promises, passed on.
        let (region, out) = unsafe {
            (
                args::region(region)?,
                Out::required(fingerprint, "fingerprint")?,
            )
        };
        out.write(region.schema().fingerprint());
        Ok(())
    })
}

/// OK if the region holds a struct of this fingerprint and size, else
/// `SHM_E_LAYOUT`.
///
/// # Safety
///
/// `region` is null or an open handle.
#[no_mangle]
pub unsafe extern "C" fn shm_check_layout(
    region: *const ShmRegion,
    fingerprint: u64,
    size: usize,
) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promise, passed on.
        let region = unsafe { args::region(region) }?;
        let schema = region.schema();
        if schema.fingerprint() == fingerprint && schema.size() == size {
            return Ok(());
        }
        Err(Failure::new(
            SHM_E_LAYOUT,
            format!(
                "{}: layout mismatch: the program expects a struct of {size} bytes with \
                 fingerprint {fingerprint:#018x}, the region holds `{}` ({} bytes, fingerprint \
                 {:#018x}); regenerate the C declaration from the region \
                 (shm codegen REGION --lang c)",
                region.location(),
                schema.name(),
                schema.size(),
                schema.fingerprint()
            ),
        ))
    })
}

/// A consistent copy of the struct into `buffer`.
///
/// # Safety
///
/// `region` is null or an open handle; `buffer` is null or valid for
/// writing `len` bytes, which nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn shm_snapshot(
    region: *const ShmRegion,
    buffer: *mut c_void,
    len: usize,
) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promise, passed on.
        let region = unsafe { args::region(region) }?;
        check_len(region, len)?;
        // SAFETY: the caller's promise, passed on.
        let buffer = unsafe { args::bytes_mut(buffer, len) }?;
        Ok(region.snapshot_into(buffer)?)
    })
}

/// Replaces the whole struct with `buffer`'s bytes, all or nothing.
///
/// # Safety
///
/// `region` is null or an open handle; `buffer` is null or valid for
/// reading `len` initialised bytes, which nothing writes during the call.
#[no_mangle]
pub unsafe extern "C" fn shm_store(
    region: *mut ShmRegion,
    buffer: *const c_void,
    len: usize,
) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promise, passed on.
        let region = unsafe { args::region(region) }?;
        check_len(region, len)?;
        // SAFETY: the caller's promise, passed on.
        let bytes = unsafe { args::bytes(buffer, len) }?;
        Ok(region.store(bytes)?)
    })
}

/// The region's version.
///
/// # Safety
///
/// `region` is null or an open handle; `version` is null or valid for
/// writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_version(region: *const ShmRegion, version: *mut u64) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promises, passed on.
        let (region, out) = unsafe { (args::region(region)?, Out::required(version, "version")?) };
        out.write(region.version());
        Ok(())
    })
}

/// Moves the version and wakes the waiters.
///
/// # Safety
///
/// `region` is null or an open handle; `version` is null or valid for
/// writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_notify(region: *mut ShmRegion, version: *mut u64) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promises, passed on.
        let (region, out) = unsafe { (args::region(region)?, Out::optional(version)) };
        write_optional(out, region.notify()?);
        Ok(())
    })
}

/// Waits until the version differs from `seen`; a negative timeout waits
/// without a deadline.
///
/// # Safety
///
/// `region` is null or an open handle; `version` is null or valid for
/// writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_wait_for_change(
    region: *const ShmRegion,
    seen: u64,
    timeout_ms: i64,
    version: *mut u64,
) -> c_int {
    status::run(|| {
        // SAFETY: the caller's promises, passed on.
        let (region, out) = unsafe { (args::region(region)?, Out::optional(version)) };
        let timeout = u64::try_from(timeout_ms).map_or(Duration::MAX, Duration::from_millis);
        write_optional(out, region.wait_for_change(seen, timeout)?);
        Ok(())
    })
}

/// The message of this thread's last failed call; never null.
#[no_mangle]
pub extern "C" fn shm_last_error() -> *const c_char {
    status::last_error()
}

/// A buffer of another length than the struct is the C side's struct
/// disagreeing with the region: checked before the buffer is touched.
fn check_len(region: &Region, len: usize) -> Result<(), Failure> {
    if len == region.size() {
        return Ok(());
    }
    Err(Failure::new(
        SHM_E_LAYOUT,
        format!(
            "{}: the buffer holds {len} bytes, the region's struct `{}` has {}",
            region.location(),
            region.schema().name(),
            region.size()
        ),
    ))
}

/// A field as C names it: by path, or by the offset where it starts.
#[derive(Clone, Copy, Debug)]
enum Field<'a> {
    Path(&'a str),
    Offset(usize),
}

/// A scalar found by the runtime: where it starts and its type, which the
/// by-offset calls take, and its path for messages.
#[derive(Debug)]
struct Scalar<'a> {
    offset: usize,
    primitive: Primitive,
    path: Cow<'a, str>,
}

impl<'a> Field<'a> {
    /// Finds the scalar, parsing a path once; an offset is looked up in the
    /// schema, with no path parsed at all.
    fn resolve(self, region: &Region) -> Result<Scalar<'a>, Failure> {
        Ok(match self {
            Field::Path(path) => {
                let (offset, primitive) = region.scalar(path)?;
                Scalar {
                    offset,
                    primitive,
                    path: Cow::Borrowed(path),
                }
            }
            Field::Offset(offset) => {
                let scalar = region.scalar_at(offset)?;
                Scalar {
                    offset,
                    primitive: scalar.primitive,
                    path: Cow::Owned(scalar.path),
                }
            }
        })
    }
}

/// Refuses to read a field as a C type that cannot hold all its values.
fn check_type<T: CNumber>(
    region: &Region,
    path: &str,
    primitive: Primitive,
    call: &str,
) -> Result<(), Failure> {
    if T::holds_every(primitive) {
        return Ok(());
    }
    Err(Failure::invalid(format!(
        "{}: field `{path}` is a {}, and {} cannot hold every {}; use {call}{}",
        region.location(),
        primitive.name(),
        T::C_TYPE,
        primitive.name(),
        suffix_for(primitive)
    )))
}

fn get<T: CNumber>(region: &Region, field: Field<'_>) -> Result<T, Failure> {
    let scalar = field.resolve(region)?;
    check_type::<T>(region, &scalar.path, scalar.primitive, "shm_get")?;
    Ok(T::from_value(
        region.get_at(scalar.offset, scalar.primitive)?,
    ))
}

fn set<T: CNumber>(region: &Region, field: Field<'_>, value: T) -> Result<(), Failure> {
    let scalar = field.resolve(region)?;
    Ok(region.set_at(scalar.offset, scalar.primitive, value.into_value())?)
}

fn fetch_add<T: CNumber>(region: &Region, field: Field<'_>, operand: T) -> Result<T, Failure> {
    let scalar = field.resolve(region)?;
    check_type::<T>(region, &scalar.path, scalar.primitive, "shm_fetch_add")?;
    let old = region.fetch_at(
        scalar.offset,
        scalar.primitive,
        FieldOp::Add,
        operand.into_value(),
    )?;
    Ok(T::from_value(old))
}

/// The get, set and fetch_add functions of one C type, by path and by
/// offset.
macro_rules! field_functions {
    (
        $t:ty, $c:literal,
        $get:ident, $set:ident, $fetch_add:ident,
        $get_at:ident, $set_at:ident, $fetch_add_at:ident
    ) => {
        #[doc = concat!("Reads the scalar at `path` as `", $c, "`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle; `path` is null or a
        /// NUL-terminated string; `value` is null or valid for writing one.
        #[no_mangle]
        pub unsafe extern "C" fn $get(
            region: *const ShmRegion,
            path: *const c_char,
            value: *mut $t,
        ) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promises, passed on.
                let (region, path, out) = unsafe {
                    (
                        args::region(region)?,
                        args::string(path, "the field path")?,
                        Out::required(value, "the value output pointer")?,
                    )
                };
                out.write(get::<$t>(region, Field::Path(path))?);
                Ok(())
            })
        }

        #[doc = concat!("Stores a `", $c, "` into the scalar at `path`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle; `path` is null or a
        /// NUL-terminated string.
        #[no_mangle]
        pub unsafe extern "C" fn $set(
            region: *mut ShmRegion,
            path: *const c_char,
            value: $t,
        ) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promise, passed on.
                let region = unsafe { args::region(region) }?;
                // SAFETY: the caller's promise, passed on.
                let path = unsafe { args::string(path, "the field path") }?;
                set(region, Field::Path(path), value)
            })
        }

        #[doc = concat!("Adds a `", $c, "` to the scalar at `path`; the old value goes to `old`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle; `path` is null or a
        /// NUL-terminated string; `old` is null or valid for writing one.
        #[no_mangle]
        pub unsafe extern "C" fn $fetch_add(
            region: *mut ShmRegion,
            path: *const c_char,
            operand: $t,
            old: *mut $t,
        ) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promises, passed on.
                let (region, path, out) = unsafe {
                    (
                        args::region(region)?,
                        args::string(path, "the field path")?,
                        Out::optional(old),
                    )
                };
                write_optional(out, fetch_add(region, Field::Path(path), operand)?);
                Ok(())
            })
        }

        #[doc = concat!("Reads the scalar starting at `offset` as `", $c, "`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle; `value` is null or valid for
        /// writing one.
        #[no_mangle]
        pub unsafe extern "C" fn $get_at(
            region: *const ShmRegion,
            offset: usize,
            value: *mut $t,
        ) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promises, passed on.
                let (region, out) = unsafe {
                    (
                        args::region(region)?,
                        Out::required(value, "the value output pointer")?,
                    )
                };
                out.write(get::<$t>(region, Field::Offset(offset))?);
                Ok(())
            })
        }

        #[doc = concat!("Stores a `", $c, "` into the scalar starting at `offset`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle.
        #[no_mangle]
        pub unsafe extern "C" fn $set_at(region: *mut ShmRegion, offset: usize, value: $t) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promise, passed on.
                let region = unsafe { args::region(region) }?;
                set(region, Field::Offset(offset), value)
            })
        }

        #[doc = concat!("Adds a `", $c, "` to the scalar starting at `offset`; the old value goes to `old`.")]
        ///
        /// # Safety
        ///
        /// `region` is null or an open handle; `old` is null or valid for
        /// writing one.
        #[no_mangle]
        pub unsafe extern "C" fn $fetch_add_at(
            region: *mut ShmRegion,
            offset: usize,
            operand: $t,
            old: *mut $t,
        ) -> c_int {
            status::run(|| {
                // SAFETY: the caller's promises, passed on.
                let (region, out) = unsafe { (args::region(region)?, Out::optional(old)) };
                write_optional(out, fetch_add(region, Field::Offset(offset), operand)?);
                Ok(())
            })
        }
    };
}

field_functions!(
    i64,
    "int64_t",
    shm_get_i64,
    shm_set_i64,
    shm_fetch_add_i64,
    shm_get_i64_at,
    shm_set_i64_at,
    shm_fetch_add_i64_at
);
field_functions!(
    u64,
    "uint64_t",
    shm_get_u64,
    shm_set_u64,
    shm_fetch_add_u64,
    shm_get_u64_at,
    shm_set_u64_at,
    shm_fetch_add_u64_at
);
field_functions!(
    f64,
    "double",
    shm_get_f64,
    shm_set_f64,
    shm_fetch_add_f64,
    shm_get_f64_at,
    shm_set_f64_at,
    shm_fetch_add_f64_at
);
