//! PLACEHOLDER, to be replaced wholesale at merge by the real read-only
//! handle (being written on another branch). It only gives the surface the
//! derive's `open_file_read_only`/`open_shm_read_only` call, so this branch
//! compiles; nothing here works.

use std::marker::PhantomData;
use std::ops::Deref;
use std::path::Path;

use crate::error::Result;
use crate::region::OpenOptions;
use crate::traits::SharedState;

/// A read-only handle on a region holding a `T`: dereferences to the view
/// that offers `get` but not `set`. PLACEHOLDER.
// The real handle has its own `Debug`.
#[allow(missing_debug_implementations)]
pub struct ReadOnly<T: SharedState> {
    _t: PhantomData<T>,
}

impl<T: SharedState> Deref for ReadOnly<T> {
    type Target = T::ReadOnlyView;

    fn deref(&self) -> &T::ReadOnlyView {
        unimplemented!("placeholder: ReadOnly<T> is written on another branch")
    }
}

impl<T: SharedState> OpenOptions<T> {
    /// Opens the region in the file at `path` read-only. PLACEHOLDER.
    ///
    /// # Errors
    ///
    /// Never: it panics.
    pub fn open_file_read_only<P: AsRef<Path>>(&self, path: P) -> Result<ReadOnly<T>> {
        let _ = path;
        unimplemented!("placeholder: open_file_read_only is written on another branch")
    }

    /// Opens the region in the POSIX shm object `name` read-only.
    /// PLACEHOLDER.
    ///
    /// # Errors
    ///
    /// Never: it panics.
    pub fn open_shm_read_only(&self, name: &str) -> Result<ReadOnly<T>> {
        let _ = name;
        unimplemented!("placeholder: open_shm_read_only is written on another branch")
    }
}
