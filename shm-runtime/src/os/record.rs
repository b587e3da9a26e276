//! The record of which processes hold an object open through this library:
//! shared open-file-description locks on one byte per pid, far past the
//! object's end (`sync/object.rs` says what they mean; `DESIGN.md`, "The
//! record of who holds an object open", why they can be trusted).
//!
//! Every call here is one `fcntl` (or, in a forked child, a few calls that
//! are all async-signal-safe).

use std::fs::File;
use std::io;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::fcntl::FcntlArg;
use nix::libc;

use super::errno_error;
use crate::error::{Error, Location};

/// Where the record starts: the byte of process `pid` is at
/// `HOLDER_RECORD + pid`. Byte-range locks may lie past an object's end
/// and change nothing in it; nothing else here takes byte-range locks
/// (creation's init lock is a whole-file `flock`, which Linux keeps apart
/// from them).
const HOLDER_RECORD: i64 = 1 << 62;

/// Every pid is below this: Linux's `PID_MAX_LIMIT` on 64-bit systems
/// (`pid_max` can be set no higher). The record is this many bytes long.
pub(crate) const PID_LIMIT: u32 = 1 << 22;

/// The range of the record from pid `first` (included) to `end` (excluded),
/// as a lock of `kind`.
fn record_range(first: u32, end: u32, kind: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers (and, on some
    // targets, padding), for which all-zero bytes are a valid value.
    let mut range: libc::flock = unsafe { std::mem::zeroed() };
    range.l_type = kind as libc::c_short;
    range.l_whence = libc::SEEK_SET as libc::c_short;
    range.l_start = HOLDER_RECORD + i64::from(first);
    range.l_len = i64::from(end) - i64::from(first);
    range
}

/// Registers process `pid` (the caller) as holding `file`'s object open: a
/// shared open-file-description lock (`F_OFD_SETLK`, `F_RDLCK`) on its byte
/// of the record. It belongs to `file`'s open file description and lasts
/// until the last descriptor of that description closes; a read lock needs
/// only read access, and writes nothing.
///
/// Returns `false`, registering nothing, while another description holds
/// the byte exclusively: a removal of the region ([`lock_exclusively`]) is
/// under way; the caller waits for it to end.
pub(crate) fn register_holder(location: &Location, file: &File, pid: u32) -> Result<bool, Error> {
    let byte = record_range(pid, pid + 1, libc::F_RDLCK);
    match nix::fcntl::fcntl(file, FcntlArg::F_OFD_SETLK(&byte)) {
        Ok(_) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
        Err(errno) => Err(errno_error(location, "fcntl(F_OFD_SETLK)", errno)),
    }
}

/// Whether some open file description holds a lock on process `pid`'s byte
/// of the record of `file`'s object: whether `pid` registered as holding
/// it open, through a description still open somewhere.
///
/// The query is a traditional `F_GETLK` for a write lock, not
/// `F_OFD_GETLK`: the kernel reports open-file-description locks as
/// conflicting with a traditional lock even when they sit on the querying
/// description itself, so one query sees every entry, those on `file`'s own
/// description included (a forked parent's entry on a handle its child
/// inherited, say). It takes no lock.
#[cfg_attr(loom, allow(dead_code))] // liveness is the model's under loom
pub(crate) fn holder_registered(file: &File, pid: u32) -> io::Result<bool> {
    let mut range = record_range(pid, pid + 1, libc::F_WRLCK);
    nix::fcntl::fcntl(file, FcntlArg::F_GETLK(&mut range))?;
    Ok(i32::from(range.l_type) != libc::F_UNLCK)
}

/// One lock found in the record: the pids `first..end`, shared (a handle's
/// registration, or several merged: the kernel joins one description's
/// locks on adjacent bytes) or exclusive (a removal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordLock {
    pub first: u32,
    pub end: u32,
    pub exclusive: bool,
}

/// Every lock in the record of `file`'s object, by any open file
/// description (`file`'s own included, see [`holder_registered`]), in pid
/// order; overlapping locks of several descriptions come out as one of
/// them, so the union of the ranges is exactly the set of locked bytes.
///
/// `F_GETLK` answers one conflicting lock of the range asked about, not
/// necessarily the first, so the walk splits the range around each answer
/// and asks again on both sides: `2k + 1` queries for `k` locks. OFD locks
/// are reported with `l_pid` -1: the byte, not the pid field, names the
/// process. Locks taken or dropped during the walk may or may not be seen.
///
/// # Errors
///
/// `Io` when the kernel does not answer (a filesystem without byte-range
/// locks).
pub(crate) fn holder_record(location: &Location, file: &File) -> Result<Vec<RecordLock>, Error> {
    let mut found = Vec::new();
    let mut ranges = vec![(0u32, PID_LIMIT)];
    while let Some((first, end)) = ranges.pop() {
        if first >= end {
            continue;
        }
        let mut range = record_range(first, end, libc::F_WRLCK);
        nix::fcntl::fcntl(file, FcntlArg::F_GETLK(&mut range))
            .map_err(|errno| errno_error(location, "fcntl(F_GETLK)", errno))?;
        if i32::from(range.l_type) == libc::F_UNLCK {
            continue;
        }
        // The answer as pids, clipped to the range asked about (a lock may
        // reach further; `l_len` 0 is "to the end of any file").
        let lock_end = if range.l_len <= 0 {
            i64::MAX
        } else {
            range.l_start.saturating_add(range.l_len)
        };
        let pid_at = |offset: i64| {
            let pid = offset.saturating_sub(HOLDER_RECORD);
            pid.clamp(i64::from(first), i64::from(end)) as u32
        };
        let (lock_first, lock_stop) = (pid_at(range.l_start), pid_at(lock_end));
        if lock_first >= lock_stop {
            // An answer outside the range asked about: no kernel gives
            // one, and splitting around it would make no progress.
            return Err(errno_error(location, "fcntl(F_GETLK)", Errno::EINVAL));
        }
        found.push(RecordLock {
            first: lock_first,
            end: lock_stop,
            exclusive: i32::from(range.l_type) == libc::F_WRLCK,
        });
        ranges.push((first, lock_first));
        ranges.push((lock_stop, end));
    }
    found.sort_unstable_by_key(|lock| lock.first);
    Ok(found)
}

/// Locks the whole record of `file`'s object exclusively (`F_OFD_SETLK`,
/// `F_WRLCK`, without waiting), for a removal: `true` if taken, `false` if
/// another open file description holds any entry (a handle of some
/// process). While it is held, no handle can register ([`register_holder`]
/// returns `false`). `file` must be open for writing, as any write lock
/// needs; the lock lasts until its description closes.
pub(crate) fn lock_exclusively(location: &Location, file: &File) -> Result<bool, Error> {
    let whole = record_range(0, PID_LIMIT, libc::F_WRLCK);
    match nix::fcntl::fcntl(file, FcntlArg::F_OFD_SETLK(&whole)) {
        Ok(_) => Ok(true),
        Err(Errno::EAGAIN | Errno::EACCES) => Ok(false),
        Err(errno) => Err(errno_error(location, "fcntl(F_OFD_SETLK)", errno)),
    }
}

/// In a forked child: gives descriptor `fd` (a handle's, inherited) an open
/// file description of the child's own, holding the child's entry `pid`,
/// in place of the one it shares with its parent. It reopens the object
/// through `/proc/self/fd/<fd>` (the object itself, whatever its name is
/// now), registers on the new description, and puts it at `fd` (`dup3`);
/// so the child's entry goes when the child closes the handle, execs or
/// exits, and the parent's entry no longer depends on the child. If any
/// step fails (no `/proc`, no read permission any more), it registers `pid`
/// on the inherited description instead, where the entry lasts as long as
/// that description (see `DESIGN.md`).
///
/// Only async-signal-safe calls (`open`, `fcntl`, `dup3`, `close`), no
/// allocation: it runs in a `pthread_atfork` child handler, where another
/// thread of the parent may have held any lock.
///
/// # Safety
///
/// `fd` is an open descriptor that the caller owns (a live handle's), and
/// no other thread can use it meanwhile (the child has one thread).
pub(crate) unsafe fn own_entry_after_fork(fd: RawFd, pid: u32) {
    let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0\0";
    let (prefix, room) = (b"/proc/self/fd/".len(), path.len() - 1);
    let Some(digits) = write_decimal(fd, &mut path[prefix..room]) else {
        return;
    };
    // The NUL after the digits is already there: `path` ends in zeros.
    debug_assert_eq!(path[prefix + digits], 0);
    let byte = record_range(pid, pid + 1, libc::F_RDLCK);
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    // SAFETY: `path` is a NUL-terminated byte string on this stack frame.
    let own = unsafe { libc::open(path.as_ptr().cast(), flags) };
    if own >= 0 {
        // SAFETY: `own` is the descriptor just opened, and `byte` a valid
        // `flock` that the call only reads. `dup3` onto `fd` replaces the
        // description behind a descriptor the caller owns (the safety
        // contract), atomically, with one of the same object.
        let moved = unsafe {
            libc::fcntl(own, libc::F_OFD_SETLK, &byte as *const libc::flock) == 0
                && libc::dup3(own, fd, libc::O_CLOEXEC) == fd
        };
        // SAFETY: `own` is ours; after a successful `dup3`, `fd` keeps the
        // description open.
        unsafe { libc::close(own) };
        if moved {
            return;
        }
    }
    // SAFETY: `fd` is open (the safety contract) and `byte` a valid `flock`
    // that the call only reads. A failure leaves the child unregistered
    // until its first lock through the handle, which registers it then.
    unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &byte as *const libc::flock) };
}

/// Writes `n` in decimal at the start of `out`; the number of digits, or
/// `None` if it is negative or does not fit.
fn write_decimal(n: RawFd, out: &mut [u8]) -> Option<usize> {
    let mut n = u32::try_from(n).ok()?;
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let out = out.get_mut(..len)?;
    for (slot, digit) in out.iter_mut().zip(digits[..len].iter().rev()) {
        *slot = *digit;
    }
    Some(len)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A file of its own, removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "shm-record-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, b"").unwrap();
            Scratch(path)
        }

        fn open(&self) -> File {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.0)
                .unwrap()
        }

        fn location(&self) -> Location {
            Location::File(self.0.clone())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn shared(first: u32, end: u32) -> RecordLock {
        RecordLock {
            first,
            end,
            exclusive: false,
        }
    }

    #[test]
    fn decimals() {
        let mut out = [0u8; 10];
        assert_eq!(write_decimal(0, &mut out), Some(1));
        assert_eq!(&out[..1], b"0");
        assert_eq!(write_decimal(1234, &mut out), Some(4));
        assert_eq!(&out[..4], b"1234");
        assert_eq!(write_decimal(-1, &mut out), None);
        assert_eq!(write_decimal(12345, &mut out[..4]), None);
    }

    /// Every entry is found, whatever the order the kernel keeps them in,
    /// including those on the querying description; adjacent entries of
    /// one description come out merged.
    #[test]
    fn the_walk_finds_every_entry() {
        let scratch = Scratch::new();
        let location = scratch.location();
        let (a, b, query) = (scratch.open(), scratch.open(), scratch.open());
        assert_eq!(holder_record(&location, &query).unwrap(), []);
        for pid in [500, 7, PID_LIMIT - 1, 501, 1] {
            assert!(register_holder(&location, &a, pid).unwrap());
        }
        for pid in [7, 300, 2] {
            assert!(register_holder(&location, &b, pid).unwrap());
        }
        assert!(register_holder(&location, &query, 42).unwrap());
        let found = holder_record(&location, &query).unwrap();
        let mut pids: Vec<u32> = found.iter().flat_map(|l| l.first..l.end).collect();
        pids.dedup();
        assert_eq!(
            pids,
            [1, 2, 7, 42, 300, 500, 501, PID_LIMIT - 1],
            "{found:?}"
        );
        assert!(found.contains(&shared(500, 502)), "{found:?}");
        drop(a);
        let pids: Vec<u32> = holder_record(&location, &query)
            .unwrap()
            .iter()
            .flat_map(|l| l.first..l.end)
            .collect();
        assert_eq!(pids, [2, 7, 42, 300]);
    }

    /// The exclusive lock is refused while any other description holds an
    /// entry; once taken, nobody can register until it is let go.
    #[test]
    fn the_exclusive_lock_and_registrations_exclude_each_other() {
        let scratch = Scratch::new();
        let location = scratch.location();
        let (handle, remover) = (scratch.open(), scratch.open());
        assert!(register_holder(&location, &handle, 77).unwrap());
        assert!(!lock_exclusively(&location, &remover).unwrap());
        drop(handle);
        assert!(lock_exclusively(&location, &remover).unwrap());
        let late = scratch.open();
        assert!(!register_holder(&location, &late, 78).unwrap());
        assert_eq!(
            holder_record(&location, &late).unwrap(),
            [RecordLock {
                first: 0,
                end: PID_LIMIT,
                exclusive: true
            }]
        );
        drop(remover);
        assert!(register_holder(&location, &late, 78).unwrap());
    }
}
