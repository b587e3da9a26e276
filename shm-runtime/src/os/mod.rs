//! The system calls, each wrapped once, each returning this crate's
//! [`Error`] with the region's location attached.
//!
//! [`process`]: what `/proc` and `kill` say about other processes, for
//! judging whether a lock holder lives. [`record`]: the byte-range locks
//! that record which processes hold an object open. [`names`]: renaming and
//! removing a name, exactly.

// Under loom, liveness and the record are the model's: much here is unused.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) mod names;
pub(crate) mod process;
#[cfg_attr(loom, allow(dead_code))]
pub(crate) mod record;

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

use crate::deadline::Deadline;
use crate::error::{Error, Location};

fn io_error(location: &Location, operation: &'static str, source: io::Error) -> Error {
    Error::Io {
        location: location.clone(),
        operation,
        source,
    }
}

fn errno_error(location: &Location, operation: &'static str, errno: Errno) -> Error {
    io_error(location, operation, io::Error::from(errno))
}

/// Whether an object is opened to read only, or to read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    ReadOnly,
    ReadWrite,
}

/// Where POSIX shm objects live on Linux: `shm_open("/x")` is
/// `open("/dev/shm/x")`. Creation goes through the directory (see
/// [`create_unnamed`]).
const SHM_DIR: &str = "/dev/shm";

/// The path of a shm object, for the calls that take paths.
fn shm_path(name: &str) -> PathBuf {
    Path::new(SHM_DIR).join(name.trim_start_matches('/'))
}

/// The path that names the region at `location`: the file's, or the shm
/// object's file in `/dev/shm`.
pub(crate) fn path_of(location: &Location) -> PathBuf {
    match location {
        Location::File(path) => path.clone(),
        Location::Shm(name) => shm_path(name),
    }
}

/// Opens an existing file or shm object, refusing anything that is not a
/// regular file (shm objects are regular files of tmpfs) before it can
/// block: the open does not wait (`O_NONBLOCK`, so a FIFO with no writer
/// opens at once, and `O_NOCTTY`, so a terminal is never adopted), and the
/// caller's first call on the descriptor, [`object_len`], checks the
/// object's type (`fstat`: no window for a rename between the check and
/// the open) before anything else is done with it. The flag stays: on a regular
/// file Linux ignores `O_NONBLOCK` for every call made on it here (`pread`,
/// `pwrite`, `fallocate`, `flock` and record locks, which take their own
/// non-blocking flags, `mmap`), so clearing it would cost two system calls
/// on every open for nothing.
///
/// # Errors
///
/// `NotFound` (saying why when a directory is missing or the path is a
/// dangling symbolic link), `PermissionDenied` naming the access needed,
/// `NotSharedState` for a FIFO, directory, socket or device, `Io`
/// otherwise.
pub(crate) fn open_existing(location: &Location, access: Access) -> Result<File, Error> {
    let never_block = OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let result = match location {
        Location::File(path) => {
            let mut options = std::fs::OpenOptions::new();
            options
                .read(true)
                .write(access == Access::ReadWrite)
                .custom_flags(never_block.bits());
            options.open(path)
        }
        Location::Shm(name) => {
            let flags = match access {
                Access::ReadOnly => OFlag::O_RDONLY,
                Access::ReadWrite => OFlag::O_RDWR,
            };
            nix::sys::mman::shm_open(
                name.as_str(),
                flags | OFlag::O_CLOEXEC | never_block,
                Mode::empty(),
            )
            .map(File::from)
            .map_err(io::Error::from)
        }
    };
    // The caller's first look at the object, `object_len`, refuses what
    // is not a regular file, before anything can block on it.
    result.map_err(|source| open_error(location, source, access))
}

/// `NotSharedState` for an object of type `kind` (not a regular file).
fn not_a_regular_file(location: &Location, kind: &std::fs::FileType) -> Error {
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    Error::NotSharedState {
        location: location.clone(),
        reason: format!("expected a regular file holding a region, found {what}"),
    }
}

fn open_error(location: &Location, source: io::Error, access: Access) -> Error {
    // A directory opened for writing, or a socket: refused by `open`
    // itself, for what they are.
    if matches!(source.raw_os_error(), Some(errno) if errno == Errno::EISDIR as i32 || errno == Errno::ENXIO as i32)
    {
        let path = match location {
            Location::File(path) => path.clone(),
            Location::Shm(name) => shm_path(name),
        };
        if let Ok(meta) = std::fs::metadata(&path) {
            if !meta.file_type().is_file() {
                return not_a_regular_file(location, &meta.file_type());
            }
        }
    }
    match source.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            location: location.clone(),
            detail: why_missing(location),
        },
        io::ErrorKind::AlreadyExists => Error::AlreadyExists {
            location: location.clone(),
        },
        io::ErrorKind::PermissionDenied => match access {
            Access::ReadWrite => Error::PermissionDenied {
                location: location.clone(),
                needed: "opening it read-write needs read and write permission",
                hint: "; to only read it, open it read-only (open_file_read_only / open_shm_read_only)",
            },
            Access::ReadOnly => Error::PermissionDenied {
                location: location.clone(),
                needed: "opening it read-only needs read permission",
                hint: "",
            },
        },
        _ => io_error(location, "open", source),
    }
}

/// Why a path that could not be opened is missing, as a detail for
/// [`Error::NotFound`]: a missing directory or a dangling symbolic link.
fn why_missing(location: &Location) -> String {
    let Location::File(path) = location else {
        return String::new();
    };
    if let Some(target) = dangling_link_target(path) {
        return format!(
            ": it is a symbolic link to {}, which does not exist (regions are never created through a link: create the target, or remove the link)",
            target.display()
        );
    }
    let dir = parent_dir(path);
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            format!(": its directory {} does not exist", dir.display())
        }
        Ok(meta) if !meta.is_dir() => format!(": {} is not a directory", dir.display()),
        _ => String::new(),
    }
}

/// The target of `path` if `path` is a symbolic link whose target does not
/// exist.
fn dangling_link_target(path: &Path) -> Option<PathBuf> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() || path.exists() {
        return None;
    }
    std::fs::read_link(path).ok()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A new object that is not yet visible under its name: built completely,
/// then linked into place with [`link_into_place`], so no other process ever
/// sees it half-made.
pub(crate) struct Unnamed {
    pub(crate) file: File,
    /// The temporary name, where the directory does not support `O_TMPFILE`.
    temp_path: Option<PathBuf>,
}

/// Creates a nameless object in the directory the region will live in
/// (`O_TMPFILE`), with permission bits `mode` (the umask applies). Where the
/// filesystem lacks `O_TMPFILE`, a uniquely named temporary file in the same
/// directory stands in.
pub(crate) fn create_unnamed(location: &Location, mode: u32) -> Result<Unnamed, Error> {
    let final_path = match location {
        Location::File(path) => path.clone(),
        Location::Shm(name) => shm_path(name),
    };
    let dir = parent_dir(&final_path);
    let tmpfile = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(mode)
        .custom_flags(nix::libc::O_TMPFILE)
        .open(dir);
    match tmpfile {
        Ok(file) => {
            return Ok(Unnamed {
                file,
                temp_path: None,
            })
        }
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(nix::libc::EOPNOTSUPP | nix::libc::EISDIR)
            ) => {}
        Err(source) => return Err(open_error(location, source, Access::ReadWrite)),
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let file_name = final_path.file_name().unwrap_or_default().to_string_lossy();
    let temp_path = dir.join(format!(
        ".{file_name}.shm-creating-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temp_path)
        .map_err(|source| open_error(location, source, Access::ReadWrite))?;
    Ok(Unnamed {
        file,
        temp_path: Some(temp_path),
    })
}

/// Gives `unnamed` its name. `AlreadyExists` if something (a region, a
/// file, a link) already has it: nothing is replaced.
pub(crate) fn link_into_place(location: &Location, unnamed: &Unnamed) -> Result<(), Error> {
    let final_path = match location {
        Location::File(path) => path.clone(),
        Location::Shm(name) => shm_path(name),
    };
    let linked = match &unnamed.temp_path {
        Some(temp) => std::fs::hard_link(temp, &final_path),
        None => {
            let proc_path = format!("/proc/self/fd/{}", unnamed.file.as_raw_fd());
            nix::unistd::linkat(
                nix::fcntl::AT_FDCWD,
                proc_path.as_str(),
                nix::fcntl::AT_FDCWD,
                &final_path,
                nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
            )
            .map_err(io::Error::from)
        }
    };
    linked.map_err(|source| open_error(location, source, Access::ReadWrite))
}

impl Drop for Unnamed {
    /// A temporary name never outlives the creation (linked or not).
    fn drop(&mut self) {
        if let Some(temp) = &self.temp_path {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Whether `path` is a symbolic link whose target does not exist, with an
/// error that says so: an exclusive create finds the name taken, an open
/// finds nothing behind it.
pub(crate) fn check_not_dangling(location: &Location) -> Result<(), Error> {
    match location {
        Location::File(path) if dangling_link_target(path).is_some() => Err(Error::NotFound {
            location: location.clone(),
            detail: why_missing(location),
        }),
        _ => Ok(()),
    }
}

/// Removes a shm object by name.
pub(crate) fn shm_unlink(location: &Location, name: &str) -> Result<(), Error> {
    nix::sys::mman::shm_unlink(name).map_err(|errno| match errno {
        Errno::ENOENT => Error::NotFound {
            location: location.clone(),
            detail: String::new(),
        },
        errno => errno_error(location, "shm_unlink", errno),
    })
}

/// `fstat` of the object.
pub(crate) fn metadata(location: &Location, file: &File) -> Result<std::fs::Metadata, Error> {
    file.metadata().map_err(|e| io_error(location, "fstat", e))
}

/// The length of the object, refusing anything but a regular file (shm
/// objects are regular files of tmpfs).
pub(crate) fn object_len(location: &Location, file: &File) -> Result<u64, Error> {
    Ok(regular_file_metadata(location, file)?.len())
}

/// `fstat` of the object, refusing anything but a regular file.
pub(crate) fn regular_file_metadata(
    location: &Location,
    file: &File,
) -> Result<std::fs::Metadata, Error> {
    let meta = metadata(location, file)?;
    if !meta.file_type().is_file() {
        return Err(not_a_regular_file(location, &meta.file_type()));
    }
    Ok(meta)
}

/// Reads up to `buf.len()` bytes at `offset`, fewer only at the end of the
/// object. Returns how many were read.
pub(crate) fn read_at(
    location: &Location,
    file: &File,
    buf: &mut [u8],
    offset: u64,
) -> Result<usize, Error> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(location, "pread", e)),
        }
    }
    Ok(done)
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_at(
    location: &Location,
    file: &File,
    buf: &[u8],
    offset: u64,
) -> Result<(), Error> {
    file.write_all_at(buf, offset)
        .map_err(|e| io_error(location, "pwrite", e))
}

/// Sets the object's length (growing with zeros, or shrinking).
pub(crate) fn set_len(location: &Location, file: &File, len: u64) -> Result<(), Error> {
    file.set_len(len)
        .map_err(|e| io_error(location, "ftruncate", e))
}

/// Reserves real storage for the first `len` bytes, so that a full disk or
/// `/dev/shm` is an error now rather than a SIGBUS on first touch.
///
/// `fallocate(2)` with mode 0: it grows the object if shorter, allocates
/// the blocks of any holes (a sparse copy of a region has them) and changes
/// no byte, so it is safe on a live region other processes write. It is
/// cheap when the blocks exist, and skipped when `fstat` already counts
/// them. (glibc's `posix_fallocate` is not used: where the filesystem lacks
/// `fallocate`, it falls back to writing zeros, which could overwrite
/// concurrent writes.) Where the filesystem does not support `fallocate`,
/// nothing can be reserved without writing, and the region is used as is.
///
/// Returns the object's metadata, as read before any allocation (so its
/// length may be the old one): what the caller would `fstat` for next.
pub(crate) fn reserve(
    location: &Location,
    file: &File,
    len: u64,
) -> Result<std::fs::Metadata, Error> {
    reserve_from(location, file, metadata(location, file)?, len)
}

/// [`reserve`], given the object's `meta` from an `fstat` just made.
pub(crate) fn reserve_from(
    location: &Location,
    file: &File,
    meta: std::fs::Metadata,
    len: u64,
) -> Result<std::fs::Metadata, Error> {
    if meta.len() >= len && meta.blocks().saturating_mul(512) >= len {
        return Ok(meta);
    }
    let len = i64::try_from(len).map_err(|_| {
        io_error(
            location,
            "fallocate",
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })?;
    match nix::fcntl::fallocate(file.as_fd(), nix::fcntl::FallocateFlags::empty(), 0, len) {
        // The object's device and inode, its type and mode are as read
        // above; only its length and blocks moved.
        Ok(()) | Err(Errno::EOPNOTSUPP) => Ok(meta),
        Err(Errno::EINTR) => reserve(location, file, len as u64),
        Err(errno) => Err(errno_error(location, "fallocate", errno)),
    }
}

/// Maps the first `len` bytes of `file` shared, read-write or read-only.
/// The caller has checked that the object is at least `len` bytes long.
pub(crate) fn map(
    location: &Location,
    file: &File,
    len: u64,
    access: Access,
) -> Result<MmapRaw, Error> {
    let len = usize::try_from(len).map_err(|_| {
        io_error(
            location,
            "mmap",
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })?;
    let options = {
        let mut options = MmapOptions::new();
        options.len(len);
        options
    };
    match access {
        Access::ReadWrite => options.map_raw(file),
        Access::ReadOnly => options.map_raw_read_only(file),
    }
    .map_err(|e| io_error(location, "mmap", e))
}

/// A descriptor of its own for a handle, on the same open file description
/// as `file` (`dup`, close-on-exec): the handle keeps it for as long as it
/// lives, and with it its entry in the record of who holds the object open.
pub(crate) fn keep_open(location: &Location, file: &File) -> Result<File, Error> {
    file.try_clone()
        .map_err(|e| io_error(location, "fcntl(F_DUPFD_CLOEXEC)", e))
}

/// A new open file description of exactly the object `file` is open on
/// (`open("/proc/self/fd/N")`, which names the object itself, whatever
/// has become of its name), for reading and writing. Permission is checked
/// as for any open.
///
/// # Errors
///
/// `PermissionDenied` naming `needed` when write permission is missing,
/// `Io` otherwise.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn reopen_read_write(
    location: &Location,
    file: &File,
    needed: &'static str,
) -> Result<File, Error> {
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(proc_path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::PermissionDenied => Error::PermissionDenied {
                location: location.clone(),
                needed,
                hint: "",
            },
            _ => io_error(location, "open(/proc/self/fd)", source),
        })
}

/// The exclusive `flock` that guards a region's initialisation. Held by the
/// creator from before its first write until the region is published; the
/// kernel drops it when the holder dies, which is how an abandoned creation
/// is told apart from one in progress.
pub(crate) type InitLock = Flock<File>;

/// Takes the init lock, waiting until `deadline`.
pub(crate) fn lock_exclusive(
    location: &Location,
    file: File,
    deadline: &Deadline,
) -> Result<InitLock, Error> {
    let mut file = file;
    let mut pause = Duration::from_micros(20);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) => file = f,
            Err((_, errno)) => return Err(errno_error(location, "flock", errno)),
        }
        let Some(left) = deadline.remaining() else {
            return Err(Error::Timeout {
                location: location.clone(),
                waited: deadline.waited(),
                waiting_for: "the region's creator to finish initialising it",
            });
        };
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

// Under loom, the model's futex: the words are loom's atomics then.
#[cfg(loom)]
pub(crate) use crate::sync::model::{futex_wait, futex_wake};

/// Sleeps while `word` holds `expected`, at most `timeout`. Returns when
/// woken, when the value differs (at once), on a signal, or at the timeout;
/// the caller re-checks its condition in every case. Not private
/// (`FUTEX_PRIVATE_FLAG` left off): the word is in a `MAP_SHARED` mapping
/// and the waker is another process.
#[cfg(not(loom))]
pub(crate) fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32, timeout: Duration) {
    // A relative timeout; clamped far below where the kernel's arithmetic
    // could overflow (callers loop and re-check anyway).
    let timeout = timeout.min(Duration::from_secs(1 << 31));
    let timeout = nix::libc::timespec {
        tv_sec: timeout.as_secs() as nix::libc::time_t,
        tv_nsec: timeout.subsec_nanos() as nix::libc::c_long,
    };
    // SAFETY: FUTEX_WAIT reads the aligned u32 at `word`, which lives for the
    // call (a reference), and the timespec, a local. Every outcome (woken,
    // EAGAIN, EINTR, ETIMEDOUT) is handled by the caller's re-check, so the
    // return value carries nothing needed.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_futex,
            word.as_ptr(),
            nix::libc::FUTEX_WAIT,
            expected,
            &timeout as *const nix::libc::timespec,
        );
    }
}

/// Wakes up to `count` waiters of `word`, in any process.
#[cfg(not(loom))]
pub(crate) fn futex_wake(word: &std::sync::atomic::AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses `word` as a key (its address); it never
    // writes user memory. A failure can only mean no waiter was woken,
    // which the waiters' timeouts tolerate.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_futex,
            word.as_ptr(),
            nix::libc::FUTEX_WAKE,
            count,
        );
    }
}
