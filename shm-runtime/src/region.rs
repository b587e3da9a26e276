//! [`OpenOptions`], the typed builder of an open (`T::options()`), and
//! region names. The open protocol itself is `open.rs`.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Location, Result};
use crate::open::{open_published, open_region, Expect, LayoutSource, Request, TypeSpec};
use crate::os::{self, Access};
use crate::read_only::ReadOnly;
use crate::shared::Shared;
use crate::traits::{as_bytes, SharedState};

/// How long an open waits for another process that is initialising the same
/// region, unless [`OpenOptions::timeout`] says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for opening a region of `T`, in the manner of
/// [`std::fs::OpenOptions`]. Also reachable as `T::options()`.
///
/// It holds the initial value (if any) on the heap, so options for a struct
/// of any size can be built and passed around on a small stack.
pub struct OpenOptions<T: SharedState> {
    create: bool,
    create_new: bool,
    mode: u32,
    timeout: Duration,
    initial: Option<Box<T>>,
}

impl<T: SharedState> OpenOptions<T> {
    /// The defaults: create when missing, all-zero initial value, mode
    /// `0o600`, wait up to 5 s for a concurrent creator.
    pub fn new() -> Self {
        OpenOptions {
            create: true,
            create_new: false,
            mode: 0o600,
            timeout: DEFAULT_TIMEOUT,
            initial: None,
        }
    }

    /// Create the region when it is missing (default `true`). With `false`,
    /// a missing region is [`Error::NotFound`].
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Require that this call creates the region: [`Error::AlreadyExists`]
    /// if it exists. Implies `create`.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// Permission bits of a region this call creates (default `0o600`);
    /// the process umask applies, as with [`std::fs::OpenOptions`].
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The value written by the call that creates the region (default: all
    /// zero bytes). A region that already exists keeps its contents: ask
    /// [`Shared::created`] whether this call made it.
    ///
    /// `value` passes through the stack once; for a struct too large for
    /// that, use [`initial_boxed`](Self::initial_boxed) or
    /// [`initial_from`](Self::initial_from).
    pub fn initial(&mut self, value: T) -> &mut Self {
        self.initial = Some(Box::new(value));
        self
    }

    /// Like [`initial`](Self::initial), for a value already on the heap.
    pub fn initial_boxed(&mut self, value: Box<T>) -> &mut Self {
        self.initial = Some(value);
        self
    }

    /// Like [`initial`](Self::initial), copying from a reference straight to
    /// the heap (no `T` on the stack).
    pub fn initial_from(&mut self, value: &T) -> &mut Self {
        self.initial = Some(boxed_copy(value));
        self
    }

    /// How long to wait for another process that is initialising the region
    /// before giving up with [`Error::Timeout`] (default 5 s).
    /// `Duration::MAX` waits without a deadline.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// Opens or creates a file-backed region at `path`. The file persists
    /// after every process has exited.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::AlreadyExists`] per the options (also
    /// `NotFound` for a missing directory, or a symbolic link to nothing:
    /// regions are never created through a link);
    /// [`Error::PermissionDenied`] without read and write permission;
    /// [`Error::NotSharedState`] for a non-empty file that is not a region
    /// (left untouched); [`Error::LayoutMismatch`] for a region of another
    /// layout, naming what differs; [`Error::Truncated`] for one shorter
    /// than its header records; [`Error::Timeout`] if a concurrent
    /// initialiser never finishes; [`Error::Io`] for a failed system call (a
    /// full disk included).
    pub fn open_file<P: AsRef<Path>>(&self, path: P) -> Result<Shared<T>> {
        self.open_at(Location::File(path.as_ref().to_path_buf()))
    }

    /// Opens or creates a POSIX shared memory region named `name` (leading
    /// `/` optional). It lives until [`remove_shm`] or reboot.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] before any system call for a name POSIX does
    /// not allow; otherwise as [`open_file`](Self::open_file).
    pub fn open_shm(&self, name: &str) -> Result<Shared<T>> {
        self.open_at(Location::Shm(shm_name(name)?))
    }

    /// Opens an existing file-backed region to read only: read permission
    /// suffices, the mapping is read-only, and nothing is ever created,
    /// initialised, written or recovered. Of the options, only
    /// [`timeout`](Self::timeout) applies (the wait for a creator that has
    /// not published the region yet).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if missing, [`Error::PermissionDenied`] without
    /// read permission, [`Error::Timeout`] if the region is empty or
    /// unpublished past the timeout; otherwise as
    /// [`open_file`](Self::open_file).
    pub fn open_file_read_only<P: AsRef<Path>>(&self, path: P) -> Result<ReadOnly<T>> {
        self.open_read_only_at(Location::File(path.as_ref().to_path_buf()))
    }

    /// Opens an existing POSIX shm region to read only; see
    /// [`open_file_read_only`](Self::open_file_read_only).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] before any system call for a name POSIX does
    /// not allow; otherwise as
    /// [`open_file_read_only`](Self::open_file_read_only).
    pub fn open_shm_read_only(&self, name: &str) -> Result<ReadOnly<T>> {
        self.open_read_only_at(Location::Shm(shm_name(name)?))
    }

    fn spec(&self) -> TypeSpec<'_> {
        TypeSpec {
            name: T::NAME,
            fingerprint: T::FINGERPRINT,
            size: size_of::<T>(),
            align: align_of::<T>(),
            layout: LayoutSource::Derived(T::TYPE),
            initial: self.initial.as_deref().map(as_bytes),
        }
    }

    fn open_at(&self, location: Location) -> Result<Shared<T>> {
        let request = Request {
            create: self.create || self.create_new,
            create_new: self.create_new,
            mode: self.mode,
            timeout: self.timeout,
        };
        let mapping = open_region(&location, &request, &self.spec())?;
        Shared::new(mapping)
    }

    fn open_read_only_at(&self, location: Location) -> Result<ReadOnly<T>> {
        let spec = self.spec();
        let (mapping, _) = open_published(
            &location,
            Access::ReadOnly,
            self.timeout,
            &Expect::Type(&spec),
        )?;
        ReadOnly::new(mapping)
    }
}

/// A heap copy of `value` that never holds a `T` on the stack.
pub(crate) fn boxed_copy<T: SharedState>(value: &T) -> Box<T> {
    let mut boxed = Box::<T>::new_uninit();
    // SAFETY: `boxed` is a fresh allocation for one `T`, so it cannot overlap
    // `value`; copying all its bytes initialises it, and every bit pattern
    // of `T` is valid (the `SharedField` contract).
    unsafe {
        std::ptr::copy_nonoverlapping(value as *const T, boxed.as_mut_ptr(), 1);
        boxed.assume_init()
    }
}

impl<T: SharedState> Default for OpenOptions<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SharedState> Clone for OpenOptions<T> {
    fn clone(&self) -> Self {
        OpenOptions {
            initial: self.initial.as_deref().map(boxed_copy),
            ..*self
        }
    }
}

impl<T: SharedState + fmt::Debug> fmt::Debug for OpenOptions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenOptions")
            .field("type", &T::NAME)
            .field("create", &self.create)
            .field("create_new", &self.create_new)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("timeout", &self.timeout)
            .field("initial", &self.initial)
            .finish()
    }
}

/// Removes the POSIX shm object `name` (leading `/` optional). Processes
/// that have it open keep their mapping; the next open creates a new one.
///
/// # Errors
///
/// [`Error::InvalidName`], [`Error::NotFound`] if there is no such object,
/// [`Error::Io`] otherwise.
pub fn remove_shm(name: &str) -> Result<()> {
    let name = shm_name(name)?;
    let location = Location::Shm(name.clone());
    os::shm_unlink(&location, &name)
}

/// Checks a shm name and returns it with its leading `/`.
pub(crate) fn shm_name(name: &str) -> Result<String> {
    let invalid = |reason| {
        Err(Error::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() {
        return invalid("a name needs at least one character after the optional leading '/'");
    }
    if bare.contains('/') {
        return invalid("'/' is only allowed as the first character");
    }
    if bare.contains('\0') {
        return invalid("a name cannot contain a NUL byte");
    }
    if bare.len() > 255 {
        return invalid("a name is at most 255 bytes, not counting the leading '/'");
    }
    if bare == "." || bare == ".." {
        return invalid("'.' and '..' are not object names");
    }
    Ok(format!("/{bare}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_names() {
        assert_eq!(shm_name("foo").unwrap(), "/foo");
        assert_eq!(shm_name("/foo").unwrap(), "/foo");
        assert_eq!(shm_name(&"a".repeat(255)).unwrap().len(), 256);
        for bad in ["", "/", "a/b", "/a/b", "a\0b", ".", "/..", &"a".repeat(256)] {
            assert!(
                matches!(shm_name(bad), Err(Error::InvalidName { .. })),
                "{bad:?} accepted"
            );
        }
    }
}
