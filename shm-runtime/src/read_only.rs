//! [`ReadOnly<T>`]: a region opened to read only.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::time::Duration;

use crate::error::{Location, Result};
use crate::mapping::Mapping;
use crate::raw::RawRegion;
use crate::sync::runs;
use crate::traits::SharedState;

/// A region holding a `T`, opened to read only: with
/// `T::open_file_read_only(path)`, `T::open_shm_read_only(name)` or
/// [`OpenOptions::open_file_read_only`](crate::OpenOptions::open_file_read_only).
///
/// It needs only read permission and maps the region read-only. It
/// dereferences to `T`'s read-only view, whose cells offer `get` and no way
/// to write; it never creates, initialises, writes or recovers anything.
///
/// A [`snapshot`](Self::snapshot) never returns a torn value and never
/// hangs on a dead or stopped writer: after a few milliseconds it returns
/// the state the writer's committed journal entry describes, which is the
/// state a recovery will leave.
pub struct ReadOnly<T: SharedState> {
    raw: RawRegion,
    _type: PhantomData<T>,
}

impl<T: SharedState> ReadOnly<T> {
    pub(crate) fn new(mapping: Mapping) -> Result<Self> {
        let runs = runs::runs(T::TYPE).into_boxed_slice();
        Ok(ReadOnly {
            raw: RawRegion::new(mapping, size_of::<T>(), align_of::<T>(), runs)?,
            _type: PhantomData,
        })
    }

    /// Where this region lives.
    pub fn location(&self) -> &Location {
        self.raw.location()
    }

    /// A consistent copy of the whole struct, as
    /// [`Shared::snapshot`](crate::Shared::snapshot). Needs one `T` of
    /// stack; see [`snapshot_boxed`](Self::snapshot_boxed).
    #[inline]
    pub fn snapshot(&self) -> T {
        // SAFETY: this handle's region was made for `T` (`new`).
        unsafe { self.raw.snapshot() }
    }

    /// Like [`snapshot`](Self::snapshot), into an existing value: no copy
    /// through the stack.
    #[inline]
    pub fn snapshot_into(&self, out: &mut T) {
        // SAFETY: as in `snapshot`.
        unsafe { self.raw.snapshot_into(out) }
    }

    /// Like [`snapshot`](Self::snapshot), straight into a new heap
    /// allocation: for structs too large for the stack.
    pub fn snapshot_boxed(&self) -> Box<T> {
        // SAFETY: as in `snapshot`.
        unsafe { self.raw.snapshot_boxed() }
    }

    /// The region's version, as [`Shared::version`](crate::Shared::version).
    pub fn version(&self) -> u64 {
        self.raw.version()
    }

    /// Waits until the version differs from `seen` and returns it. A
    /// read-only handle cannot register as a waiter (that is a write), so it
    /// looks again at least every millisecond: it wakes within about a
    /// millisecond of a change. `Duration::MAX` waits without a deadline.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout) if the version is still
    /// `seen` after `timeout`.
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        self.raw.wait_for_change(seen, timeout)
    }
}

impl<T: SharedState> Deref for ReadOnly<T> {
    type Target = T::ReadOnlyView;

    #[inline]
    fn deref(&self) -> &T::ReadOnlyView {
        // SAFETY: the payload is `size_of::<T>()` bytes inside the mapping,
        // aligned for `T` (checked by `RawRegion::new`) and so for
        // `T::ReadOnlyView` (same size and alignment, by the `SharedField`
        // contract), and the mapping lives as long as `self`. The view is
        // made only of atomics, valid for every bit pattern, and it only
        // loads: the mapping is read-only, and atomic loads of at most 8
        // bytes are plain loads on every supported target, which read-only
        // memory allows.
        unsafe { self.raw.payload().cast::<T::ReadOnlyView>().as_ref() }
    }
}

impl<T: SharedState> fmt::Debug for ReadOnly<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOnly")
            .field("type", &T::NAME)
            .field("location", self.location())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}
