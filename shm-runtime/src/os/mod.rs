//! The system calls, each wrapped once, each returning this crate's
//! [`Error`] with the region's location attached.
//!
//! [`process`]: what `/proc` and `kill` say about other processes, for
//! judging whether a lock holder lives.

pub(crate) mod process;

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::thread;
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;

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

/// How [`open`] should treat a missing object.
#[derive(Clone, Copy, Debug)]
pub(crate) enum OpenMode {
    /// Open an existing object; `NotFound` if missing.
    Existing,
    /// Create it with these permission bits; `AlreadyExists` if present.
    CreateNew { mode: u32 },
}

/// Opens (or exclusively creates) the file or shm object, read-write.
pub(crate) fn open(location: &Location, how: OpenMode) -> Result<File, Error> {
    let result = match location {
        Location::File(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.read(true).write(true);
            if let OpenMode::CreateNew { mode } = how {
                options.create_new(true).mode(mode);
            }
            options.open(path)
        }
        Location::Shm(name) => {
            let (flags, mode) = match how {
                OpenMode::Existing => (OFlag::O_RDWR, Mode::empty()),
                OpenMode::CreateNew { mode } => (
                    OFlag::O_RDWR | OFlag::O_CREAT | OFlag::O_EXCL,
                    Mode::from_bits_truncate(mode),
                ),
            };
            nix::sys::mman::shm_open(name.as_str(), flags, mode)
                .map(File::from)
                .map_err(io::Error::from)
        }
    };
    result.map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            location: location.clone(),
            detail: String::new(),
        },
        io::ErrorKind::AlreadyExists => Error::AlreadyExists {
            location: location.clone(),
        },
        _ => io_error(location, "open", source),
    })
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

/// Removes whatever [`open`] created at `location`, on a failed creation.
/// Best effort: the creation's own error is the one worth reporting.
pub(crate) fn remove_created(location: &Location) {
    let _ = match location {
        Location::File(path) => std::fs::remove_file(path).map_err(drop),
        Location::Shm(name) => nix::sys::mman::shm_unlink(name.as_str()).map_err(drop),
    };
}

/// `fstat` of the object.
pub(crate) fn metadata(location: &Location, file: &File) -> Result<std::fs::Metadata, Error> {
    file.metadata().map_err(|e| io_error(location, "fstat", e))
}

/// The length of the object, refusing anything but a regular file (shm
/// objects are regular files of tmpfs).
pub(crate) fn object_len(location: &Location, file: &File) -> Result<u64, Error> {
    let meta = metadata(location, file)?;
    if !meta.file_type().is_file() {
        return Err(Error::NotSharedState {
            location: location.clone(),
            reason: "not a regular file".to_owned(),
        });
    }
    Ok(meta.len())
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

/// Reserves real storage for `len` bytes, so that a full disk or `/dev/shm`
/// is an error now rather than a SIGBUS on first touch.
pub(crate) fn allocate(location: &Location, file: &File, len: u64) -> Result<(), Error> {
    let len = i64::try_from(len).map_err(|_| {
        io_error(
            location,
            "posix_fallocate",
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })?;
    nix::fcntl::posix_fallocate(file.as_fd(), 0, len)
        .map_err(|errno| errno_error(location, "posix_fallocate", errno))
}

/// Maps the first `len` bytes of `file` shared, read-write. The caller has
/// checked that the object is at least `len` bytes long.
pub(crate) fn map(location: &Location, file: &File, len: u64) -> Result<MmapRaw, Error> {
    let len = usize::try_from(len).map_err(|_| {
        io_error(
            location,
            "mmap",
            io::Error::from(io::ErrorKind::InvalidInput),
        )
    })?;
    MmapOptions::new()
        .len(len)
        .map_raw(file)
        .map_err(|e| io_error(location, "mmap", e))
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
    deadline: Instant,
    waited_since: Instant,
) -> Result<InitLock, Error> {
    let mut file = file;
    let mut pause = Duration::from_micros(20);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) => file = f,
            Err((_, errno)) => return Err(errno_error(location, "flock", errno)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                location: location.clone(),
                waited: now - waited_since,
                waiting_for: "the region's creator to finish initialising it",
            });
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

/// Sleeps while `word` holds `expected`, at most `timeout`. Returns when
/// woken, when the value differs (at once), on a signal, or at the timeout;
/// the caller re-checks its condition in every case. Not private
/// (`FUTEX_PRIVATE_FLAG` left off): the word is in a `MAP_SHARED` mapping
/// and the waker is another process.
pub(crate) fn futex_wait(word: &std::sync::atomic::AtomicU32, expected: u32, timeout: Duration) {
    let timeout = nix::libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as nix::libc::time_t,
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
