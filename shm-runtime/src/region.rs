//! Opening a region: create-or-open, validation, mapping; [`OpenOptions`]
//! and the handle [`Shared`].
//!
//! # The create-or-open protocol
//!
//! 1. Open the object, or create it with `O_EXCL` (losing that race just
//!    means opening the winner's object).
//! 2. Read its first bytes with `pread`, never through a mapping, and
//!    decode them ([`Header::decode`]). A published region is checked against
//!    the type and the object's length, then mapped: the fast path, with no
//!    lock.
//! 3. Anything else that is ours (an empty object, or our magic with the
//!    `INITIALISING` state) is either being initialised right now or was
//!    abandoned by a creator that died. Take the object's exclusive `flock`
//!    (bounded wait): a live creator holds it until it publishes, and the
//!    kernel releases a dead creator's. Under the lock, decode again: now
//!    either the region is published, or nobody is initialising it and this
//!    call does, from scratch.
//! 4. Initialising writes the header (magic first, state `INITIALISING`),
//!    reserves the whole length with `posix_fallocate`, writes the initial
//!    value and the schema, maps, and publishes with a `Release` store of
//!    `READY`, which every opener pairs with its `pread` of the header and
//!    an `Acquire` fence (see `map_published`).
//!
//! Nothing is written to an object before its first bytes have been read and
//! found to be ours or empty, so a foreign file is never changed.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use memmap2::MmapRaw;

use crate::error::{Error, Location, Result};
use crate::fault;
use crate::header::{self, Decoded, Geometry, Header, HEADER_LEN, STATE_OFFSET, STATE_READY};
use crate::os::{self, OpenMode};
use crate::shared::Shared;
use crate::sync::owner::ObjectId;
use crate::traits::{as_bytes, SharedState};
use crate::TypeInfo;

/// How long an open waits for another process that is initialising the same
/// region, unless [`OpenOptions::timeout`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest schema read back to name the other type in a layout mismatch.
const MAX_SCHEMA_PEEK: u64 = 4096;

/// Options for opening a region of `T`, in the manner of
/// [`std::fs::OpenOptions`]. Also reachable as `T::options()`.
pub struct OpenOptions<T: SharedState> {
    create: bool,
    create_new: bool,
    mode: u32,
    timeout: Duration,
    initial: Option<T>,
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

    /// The value the call that initialises the region writes (default: all
    /// zero bytes).
    pub fn initial(&mut self, value: T) -> &mut Self {
        self.initial = Some(value);
        self
    }

    /// How long to wait for another process that is initialising the region
    /// before giving up with [`Error::Timeout`] (default 5 s).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// Opens or creates a file-backed region at `path`. The file persists
    /// after every process has exited.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::AlreadyExists`] per the options;
    /// [`Error::NotSharedState`] for a non-empty file that is not a region
    /// (left untouched); [`Error::LayoutMismatch`] for a region of another
    /// layout; [`Error::Truncated`] for one shorter than its header records;
    /// [`Error::Timeout`] if a concurrent creator never finishes;
    /// [`Error::Io`] for a failed system call (a full disk included).
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

    fn open_at(&self, location: Location) -> Result<Shared<T>> {
        let spec = TypeSpec {
            name: T::NAME,
            fingerprint: T::FINGERPRINT,
            size: size_of::<T>(),
            align: align_of::<T>(),
            ty: T::TYPE,
            initial: self.initial.as_ref().map(as_bytes),
        };
        let request = Request {
            create: self.create || self.create_new,
            create_new: self.create_new,
            mode: self.mode,
            timeout: self.timeout,
        };
        let region = open_region(&location, &request, &spec)?;
        Shared::new(region)
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
            initial: self.initial,
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
fn shm_name(name: &str) -> Result<String> {
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

/// What the type being opened needs of a region; not generic, so the open
/// protocol is compiled once.
struct TypeSpec<'a> {
    name: &'static str,
    fingerprint: u64,
    size: usize,
    align: usize,
    ty: &'static TypeInfo,
    initial: Option<&'a [u8]>,
}

/// The open options with the type left out.
struct Request {
    create: bool,
    create_new: bool,
    mode: u32,
    timeout: Duration,
}

/// A validated, mapped, published region.
pub(crate) struct Region {
    pub(crate) map: MmapRaw,
    pub(crate) geometry: Geometry,
    pub(crate) location: Location,
    /// The mapped object's device and inode: what names its lock's holders.
    pub(crate) object: ObjectId,
}

fn open_region(location: &Location, request: &Request, spec: &TypeSpec<'_>) -> Result<Region> {
    let started = Instant::now();
    let deadline = started + request.timeout;
    let (file, created) = open_or_create(location, request, deadline)?;
    if created {
        fault::pause_point("created");
    }
    if let Some(header) = inspect(location, &file, spec)? {
        return map_published(location, &file, header);
    }
    let lock = os::lock_exclusive(location, file, deadline, started)?;
    match inspect(location, &lock, spec)? {
        Some(header) => map_published(location, &lock, header),
        None if !(created || request.create) => Err(Error::NotFound {
            location: location.clone(),
            detail: ": the object exists but holds no initialised region, and create(false) forbids initialising it".to_owned(),
        }),
        None => initialise(location, &lock, spec, created),
    }
}

/// Opens the object, or creates it if the request allows. Returns whether
/// this call created it.
fn open_or_create(
    location: &Location,
    request: &Request,
    deadline: Instant,
) -> Result<(std::fs::File, bool)> {
    let create = OpenMode::CreateNew { mode: request.mode };
    if request.create_new {
        return os::open(location, create).map(|file| (file, true));
    }
    loop {
        match os::open(location, OpenMode::Existing) {
            Ok(file) => return Ok((file, false)),
            Err(Error::NotFound { .. }) if request.create => {}
            Err(e) => return Err(e),
        }
        match os::open(location, create) {
            Ok(file) => return Ok((file, true)),
            // Another process created it between our two calls: open theirs,
            // unless it keeps vanishing (someone is removing it in a loop).
            Err(Error::AlreadyExists { .. }) if Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads and checks the header. `Some` for a published region of the right
/// type and length; `None` for an empty or unpublished one.
fn inspect(
    location: &Location,
    file: &std::fs::File,
    spec: &TypeSpec<'_>,
) -> Result<Option<Header>> {
    let len = os::object_len(location, file)?;
    let mut first = [0u8; HEADER_LEN];
    let want = len.min(HEADER_LEN as u64) as usize;
    let got = os::read_at(location, file, &mut first[..want], 0)?;
    let header = match Header::decode(&first[..got], len) {
        Decoded::Ready(header) => header,
        Decoded::Uninitialised => return Ok(None),
        Decoded::Foreign(reason) => {
            return Err(Error::NotSharedState {
                location: location.clone(),
                reason,
            })
        }
        Decoded::ShortHeader { found } => {
            return Err(Error::Truncated {
                location: location.clone(),
                expected: HEADER_LEN as u64,
                found,
            })
        }
    };
    let g = &header.geometry;
    if header.fingerprint != spec.fingerprint
        || g.payload_size != spec.size as u64
        || g.payload_align != spec.align as u64
    {
        return Err(Error::LayoutMismatch {
            location: location.clone(),
            expected: spec.name,
            expected_fingerprint: spec.fingerprint,
            expected_size: spec.size as u64,
            expected_align: spec.align as u64,
            found: recorded_type_name(location, file, g, len),
            found_fingerprint: header.fingerprint,
            found_size: g.payload_size,
            found_align: g.payload_align,
        });
    }
    if len < g.total_len {
        return Err(Error::Truncated {
            location: location.clone(),
            expected: g.total_len,
            found: len,
        });
    }
    Ok(Some(header))
}

/// The type name in a region's schema, if it can be read without going past
/// the object's end.
fn recorded_type_name(
    location: &Location,
    file: &std::fs::File,
    g: &Geometry,
    len: u64,
) -> Option<String> {
    let peek = g.schema_len.min(MAX_SCHEMA_PEEK);
    if g.schema_offset.checked_add(peek)? > len {
        return None;
    }
    let mut schema = vec![0u8; peek as usize];
    let got = os::read_at(location, file, &mut schema, g.schema_offset).ok()?;
    header::schema_type_name(&schema[..got])
}

fn map_published(location: &Location, file: &std::fs::File, header: Header) -> Result<Region> {
    let map = os::map(location, file, header.geometry.total_len)?;
    let region = Region {
        map,
        geometry: header.geometry,
        location: location.clone(),
        object: ObjectId::of(&os::metadata(location, file)?),
    };
    // The creator wrote everything it publishes with pwrite before its
    // `Release` store of READY, and `inspect` read READY with pread. This
    // fence orders that read before every later access through the mapping
    // (x86_64 never reorders loads with older loads; on arm64 it is a
    // `dmb ishld`, which orders all earlier loads, the kernel's copy
    // included). Loading the state word through the mapping instead would
    // say the same in Rust's model but fault the header page in on every
    // open, a cost a process that only uses fields would never pay.
    std::sync::atomic::fence(Ordering::Acquire);
    Ok(region)
}

/// Initialises the region from scratch. The caller holds the init lock and
/// has seen the object empty or unpublished.
fn initialise(
    location: &Location,
    file: &std::fs::File,
    spec: &TypeSpec<'_>,
    created: bool,
) -> Result<Region> {
    fault::pause_point("initialising");
    let schema = header::schema_json(spec.name, spec.fingerprint, spec.ty);
    let geometry = Geometry::for_payload(spec.size, spec.align, schema.len());
    let header = Header {
        fingerprint: spec.fingerprint,
        geometry,
    };
    let written = (|| {
        // Leftovers of an abandoned creation go first; the magic goes in
        // before the length grows, so the object is never a run of foreign-
        // looking zeros.
        os::set_len(location, file, 0)?;
        os::write_at(location, file, &header.encode(), 0)?;
        fault::pause_point("header-written");
        os::allocate(location, file, geometry.total_len)?;
        fault::pause_point("allocated");
        if let Some(initial) = spec.initial {
            os::write_at(location, file, initial, geometry.payload_offset)?;
        }
        os::write_at(location, file, schema.as_bytes(), geometry.schema_offset)?;
        os::map(location, file, geometry.total_len)
    })();
    let map = match written {
        Ok(map) => map,
        Err(e) => {
            if created {
                os::remove_created(location);
            } else {
                // Leave it as we found it: empty (or unpublished, now empty).
                let _ = os::set_len(location, file, 0);
            }
            return Err(e);
        }
    };
    let region = Region {
        map,
        geometry,
        location: location.clone(),
        object: ObjectId::of(&os::metadata(location, file)?),
    };
    fault::pause_point("before-publish");
    // Publishes the header, initial value and schema written above.
    region.state().store(STATE_READY, Ordering::Release);
    Ok(region)
}

impl Region {
    /// The header's `state` word, in the mapping.
    fn state(&self) -> &AtomicU32 {
        // SAFETY: the mapping is at least one page long (every geometry puts
        // the payload past the first page), page-aligned, and lives as long
        // as `self`; STATE_OFFSET is a multiple of 4 inside the header. The
        // word is only ever accessed atomically, by every process.
        unsafe { &*self.map.as_mut_ptr().add(STATE_OFFSET).cast::<AtomicU32>() }
    }
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
