//! Where a view's bytes are: a shared region (every access atomic, through
//! the runtime) or a plain value's private buffer.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;
use shm_runtime::{Primitive, Region, Value};

use crate::convert;
use crate::errors;
use crate::update;

/// The bytes of a plain value (and of every view into it: `v.inner`,
/// `v.samples`). Touched only while attached to the interpreter; the mutex
/// makes that sound without a GIL too (free-threaded Python).
#[derive(Debug, Default)]
pub(crate) struct LocalBytes(Mutex<Vec<u8>>);

impl LocalBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Arc<LocalBytes> {
        Arc::new(LocalBytes(Mutex::new(bytes)))
    }

    /// The bytes. A panic while holding the lock cannot leave them
    /// invalid (every bit pattern is a value), so a poisoned lock is used
    /// as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `len` zero bytes, or `MemoryError` (never an abort) when they cannot
/// be had: a struct may be declared far larger than memory.
pub(crate) fn zeroed(len: usize) -> PyResult<Vec<u8>> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| {
        PyMemoryError::new_err(format!("cannot allocate {len} bytes for a struct value"))
    })?;
    bytes.resize(len, 0);
    Ok(bytes)
}

/// A view's memory.
#[derive(Clone)]
pub(crate) enum Mem {
    Region(Arc<Region>),
    Local(Arc<LocalBytes>),
}

impl Mem {
    /// Loads the scalar at `offset` (an atomic load in a region).
    #[inline]
    pub(crate) fn load(&self, offset: usize, primitive: Primitive) -> PyResult<Value> {
        match self {
            Mem::Region(region) => region.get_at(offset, primitive).map_err(errors::to_py),
            Mem::Local(bytes) => {
                let bytes = bytes.lock();
                Ok(convert::read_scalar(&bytes[offset..], primitive))
            }
        }
    }

    /// Stores a scalar at `offset` (an atomic store in a region). `value`
    /// was checked against `primitive` by [`convert::to_value`].
    #[inline]
    pub(crate) fn store(&self, offset: usize, primitive: Primitive, value: Value) -> PyResult<()> {
        match self {
            Mem::Region(region) => region
                .set_at(offset, primitive, value)
                .map_err(errors::to_py),
            Mem::Local(bytes) => {
                let bits = value.to_bits(primitive).map_err(|e| {
                    errors::overflow(format!("{} does not fit {}", e.found, e.expected))
                })?;
                convert::write_bits(&mut bytes.lock()[offset..], primitive, bits);
                Ok(())
            }
        }
    }

    /// A consistent copy of `len` bytes at `offset` (from one snapshot of a
    /// region).
    pub(crate) fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        match self {
            // Only the range. A view's offset and size come from the
            // schema, so the range lies inside the struct, which is all
            // `snapshot_range` checks.
            Mem::Region(region) => region
                .snapshot_range(offset, len)
                .unwrap_or_else(|_| region.snapshot()[offset..offset + len].to_vec()),
            Mem::Local(bytes) => bytes.lock()[offset..offset + len].to_vec(),
        }
    }

    /// Writes `bytes` at `offset`: in a region, one update (all or
    /// nothing, moving the version), waiting for the writer lock with the
    /// interpreter released.
    pub(crate) fn write(&self, py: Python<'_>, offset: usize, bytes: &[u8]) -> PyResult<()> {
        match self {
            Mem::Region(region) => {
                let mut transaction = update::begin(py, region, std::time::Duration::MAX)?;
                transaction.bytes()[offset..offset + bytes.len()].copy_from_slice(bytes);
                transaction.commit().map_err(errors::to_py)
            }
            Mem::Local(local) => {
                local.lock()[offset..offset + bytes.len()].copy_from_slice(bytes);
                Ok(())
            }
        }
    }
}
