//! Who holds a lock, in a form that can be checked for liveness without any
//! help from the kernel, and the check itself.
//!
//! An owner token is one `u64`: the pid in bits 32..62 and a 32-bit tag in
//! bits 0..32. Bit 63 is left free for the lock's "contended" flag.
//!
//! - An odd tag is *verifiable*: a hash of (boot id, pid, process start
//!   time). It names a process exactly: a reused pid has another start time,
//!   a process of another boot (a region file that survived a crash, or was
//!   copied elsewhere) another boot id. Anyone who can read the same facts
//!   recomputes it.
//! - An even tag is *unverifiable*: a random value (never 0) chosen by a
//!   process that could not read those facts about itself, or that would
//!   read them differently from everyone else (its boot-time clock is
//!   shifted by a time namespace). Nobody else can recompute it, so it is
//!   never held against its owner; it only tells this process's own tokens
//!   from those of an earlier process with the same pid.
//!
//! Tag 0, pid 0 and pids of 2^22 and above are never made: a word holding
//! one was damaged or forged, and names no holder.
//!
//! [`liveness`] judges a token against the object (file or shm object) the
//! lock lives in, as the judging handle holds it open: see `docs/design.md`,
//! "Judging a lock holder", for why each verdict is safe.

// Under loom the model's `current` and `liveness` stand in for this
// module's, which are then unused.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::fork;
use super::object::Object;
use crate::layout::Fnv1a;
use crate::os::process::{self, Maps};

/// Bits of a token that identify the owner (all but the lock's flag).
pub(crate) const OWNER_MASK: u64 = !(1 << 63);

/// The file or shm object a lock lives in, as `fstat` names it. Two
/// mappings of the same object, in any processes and any mount namespaces,
/// have the same id; two objects alive at the same time never do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ObjectId {
    pub dev: u64,
    pub ino: u64,
}

impl ObjectId {
    /// The id of the object `meta` describes (from `fstat` of an open
    /// descriptor).
    pub(crate) fn of(meta: &std::fs::Metadata) -> ObjectId {
        ObjectId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// One word summarising the id, for the lock's holder record: never 0,
    /// and equal for two ids only by a 2^-63 accident.
    #[inline]
    pub(crate) fn tag(&self) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15; // odd: multiplying is a bijection
        (self.dev.wrapping_mul(K) ^ self.ino).wrapping_mul(K) | 1
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As `stat` and /proc/<pid>/maps print a device: major:minor.
        let major = ((self.dev >> 32) & 0xffff_f000) | ((self.dev >> 8) & 0xfff);
        let minor = ((self.dev >> 12) & 0xffff_ff00) | (self.dev & 0xff);
        write!(f, "device {major:x}:{minor:x}, inode {}", self.ino)
    }
}

/// What can be said about a lock owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// It exists and maps the lock's object (or is this very process).
    Alive,
    /// It certainly does not hold the lock: gone, a zombie, another process
    /// now bearing its pid, or a process that does not map the object.
    Dead,
    /// It exists, but whether it holds the lock cannot be checked (its
    /// memory map is another user's to read, say). Waited for like a live
    /// owner: stealing a live owner's lock would break mutual exclusion,
    /// waiting only costs time.
    Unknown,
}

/// The process id a token names.
#[inline]
pub(crate) fn pid_of(token: u64) -> u32 {
    ((token & OWNER_MASK) >> 32) as u32
}

/// Linux's `PID_MAX_LIMIT` on 64-bit systems: `pid_max` is at most this,
/// and every pid is below `pid_max`.
const PID_LIMIT: u32 = 1 << 22;

/// Whether no process could have made `token` (the contended flag aside):
/// [`current`] makes a pid between 1 and [`PID_LIMIT`] and a tag that is
/// odd or even but never 0 (and so does the model's). Such a word was
/// damaged or forged: it names nobody who could hold the lock.
#[inline]
pub(crate) fn never_made(token: u64) -> bool {
    let pid = pid_of(token);
    pid == 0 || pid >= PID_LIMIT || token as u32 == 0
}

#[cfg(loom)]
pub(crate) use super::model::{current, liveness};

/// This process's token, computed once per process (and again in a forked
/// child, see [`reset_after_fork`]).
#[cfg(not(loom))]
#[inline]
pub(crate) fn current() -> u64 {
    match CURRENT.load(Ordering::Relaxed) {
        0 => compute_current(),
        token => token,
    }
}

#[cold]
fn compute_current() -> u64 {
    // A forked child must not reuse its parent's token: the fork handler
    // forgets it (`forget_token`).
    fork::watch();
    let pid = std::process::id() as i32;
    let tag = match (
        process::boot_id(),
        process::stat(pid),
        process::boot_clock_is_shifted(),
    ) {
        (Ok(boot), Ok(stat), Ok(false)) => verifiable_tag(&boot, pid, stat.start_time),
        _ => unverifiable_tag(pid),
    };
    let token = token(pid, tag);
    CURRENT.store(token, Ordering::Relaxed);
    token
}

static CURRENT: AtomicU64 = AtomicU64::new(0);

/// Called in a forked child (by the fork handler, `fork::watch`): it is
/// another process, and must not reuse its parent's token. Async-signal-safe.
pub(crate) fn forget_token() {
    CURRENT.store(0, Ordering::Relaxed);
}

fn token(pid: i32, tag: u32) -> u64 {
    ((pid as u32 as u64 & 0x7fff_ffff) << 32) | u64::from(tag)
}

/// The tag of process `pid` that started at `start_time` in boot `boot_id`:
/// odd, so never 0 and never taken for an unverifiable one.
fn verifiable_tag(boot_id: &[u8; 36], pid: i32, start_time: u64) -> u32 {
    let hash = Fnv1a::new()
        .bytes(boot_id)
        .bytes(&pid.to_le_bytes())
        .bytes(&start_time.to_le_bytes())
        .finish();
    ((hash >> 32) ^ hash) as u32 | 1
}

/// A random even tag, never 0: unique to this process among those that
/// bear its pid, with overwhelming probability.
fn unverifiable_tag(pid: i32) -> u32 {
    let hash = RandomState::new().hash_one((pid, std::time::SystemTime::now()));
    match ((hash >> 32) ^ hash) as u32 & !1 {
        0 => 2,
        tag => tag,
    }
}

fn is_verifiable(token: u64) -> bool {
    token & 1 == 1
}

/// Whether the process `token` names may hold the lock of `object`.
///
/// Only facts about the owner that everyone reads alike count against it,
/// never what it (or this process) could not read. Every `Dead` verdict is
/// stable: an owner judged dead cannot come to hold the lock later under
/// the same token, except for an owner judged by its memory map or by the
/// record of who holds the object open, which can open and map the object
/// later; `lock` guards against that by judging again after it took the
/// lock.
#[cfg(not(loom))]
pub(crate) fn liveness(token: u64, object: &Object) -> Liveness {
    let token = token & OWNER_MASK;
    if never_made(token) {
        return Liveness::Dead; // a damaged or forged word
    }
    let pid = pid_of(token) as i32;
    if pid as u32 == std::process::id() {
        // This process, or an earlier one that bore its pid: only the
        // former can have made a token equal to ours.
        return if token == current() {
            Liveness::Alive
        } else {
            Liveness::Dead
        };
    }
    if !process::exists(pid) {
        return Liveness::Dead;
    }
    let stat = process::stat(pid);
    if let Ok(stat) = &stat {
        if stat.has_exited() {
            return Liveness::Dead; // a zombie holds nothing
        }
        if names_another_process(token, pid, stat.start_time) {
            return Liveness::Dead; // a reused pid, or a process of another boot
        }
        if stat.state == b'Z' || stat.state == b'X' {
            // The main thread ended while others run on: its maps file is
            // empty, so the map cannot be checked.
            return by_record(pid, object);
        }
    }
    // A process holds a lock only while it maps the object the lock is in
    // (its guard borrows the mapping). One that does not map it names this
    // lock only because the bytes were copied from another object.
    match process::maps(pid, object.id().dev, object.id().ino) {
        Ok(Maps::Object { .. }) => Liveness::Alive,
        Ok(Maps::Other) => Liveness::Dead,
        Ok(Maps::SameInodeElsewhere | Maps::Nothing) | Err(_) => by_record(pid, object),
    }
}

/// The verdict where the memory map cannot tell: from the kernel's record
/// of which processes hold the object open through this library. A holder
/// registered itself there before it took the lock, on a descriptor it
/// keeps open until after it let go; so a process with no entry holds
/// nothing. One with an entry (or where the record cannot be read) is
/// waited for.
#[cfg(not(loom))]
fn by_record(pid: i32, object: &Object) -> Liveness {
    match object.held_open_by(pid as u32) {
        Ok(false) => Liveness::Dead,
        Ok(true) | Err(_) => Liveness::Unknown,
    }
}

/// Whether a verifiable `token` names another process than the one now at
/// `pid`, which started at `start_time`. Only a process whose own token is
/// verifiable can tell: it reads the boot id and start times as the token's
/// maker did.
fn names_another_process(token: u64, pid: i32, start_time: u64) -> bool {
    if !is_verifiable(token) || !is_verifiable(current()) {
        return false;
    }
    match process::boot_id() {
        Ok(boot) => verifiable_tag(&boot, pid, start_time) != token as u32,
        Err(_) => false,
    }
}

// Real processes and /proc: not under loom, whose model replaces them.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// This test binary's file, held open as a handle holds its region's
    /// object.
    fn this_object() -> Object {
        let path = std::path::PathBuf::from("/proc/self/exe");
        let file = std::fs::File::open(&path).unwrap();
        let location = crate::error::Location::File(path);
        Object::open(
            &location,
            &file,
            &file.metadata().unwrap(),
            &crate::deadline::Deadline::after(std::time::Duration::ZERO),
        )
        .unwrap()
    }

    #[test]
    fn this_process_is_alive_and_stable() {
        let me = current();
        assert_ne!(me, 0);
        assert_eq!(me & !OWNER_MASK, 0);
        assert_eq!(current(), me);
        assert_eq!(pid_of(me), std::process::id());
        assert_eq!(liveness(me, &this_object()), Liveness::Alive);
        assert_eq!(liveness(me | !OWNER_MASK, &this_object()), Liveness::Alive);
    }

    #[test]
    fn tokens_here_are_verifiable() {
        // This test suite runs where /proc is readable and no time
        // namespace shifts the clock.
        let me = current();
        let pid = std::process::id() as i32;
        let start = process::stat(pid).unwrap().start_time;
        let boot = process::boot_id().unwrap();
        assert!(is_verifiable(me));
        assert_eq!(token(pid, verifiable_tag(&boot, pid, start)), me);
    }

    #[test]
    fn other_incarnations_of_a_pid_are_dead() {
        let me = current();
        let pid = std::process::id() as i32;
        let start = process::stat(pid).unwrap().start_time;
        let boot = process::boot_id().unwrap();
        let object = this_object();
        let mut other_boot = boot;
        other_boot[0] ^= 1;
        for other in [
            verifiable_tag(&other_boot, pid, start),
            verifiable_tag(&boot, pid, start + 1),
            unverifiable_tag(pid),
        ] {
            assert_ne!(token(pid, other), me);
            assert_eq!(liveness(token(pid, other), &object), Liveness::Dead);
        }
        // pid_max is at most 2^22 on Linux: this pid is never in use.
        assert_eq!(liveness(token(0x7fff_fff0, 1), &object), Liveness::Dead);
        assert_eq!(liveness(0x5a5a, &object), Liveness::Dead, "pid 0");
    }

    /// Tokens `current` never makes are dead at once, even where they name
    /// a live process that holds the object (this one) or one whose memory
    /// map may be unreadable (pid 1).
    #[test]
    fn never_made_tokens_are_dead() {
        let object = this_object();
        let pid = std::process::id() as i32;
        for never in [
            token(pid, 0),
            token(1, 0),
            1 << 32,
            0x5a5a,
            token(1 << 22, 1),
            token(0x7fff_ffff, 2),
        ] {
            assert!(never_made(never), "{never:#x}");
            assert!(never_made(never | !OWNER_MASK), "{never:#x} contended");
            assert_eq!(liveness(never, &object), Liveness::Dead, "{never:#x}");
        }
        for made in [current(), token(1, 2), token((1 << 22) - 1, 1)] {
            assert!(!never_made(made), "{made:#x}");
        }
    }

    /// A live process that does not hold the object open, judged through
    /// the record: pid 1 (this test's parent chain never opened this test
    /// binary through the library). Where pid 1's map is readable the map
    /// says the same; where it is not (containers), only the record can.
    #[test]
    fn a_live_process_without_the_object_open_is_dead() {
        let object = this_object();
        assert_eq!(by_record(1, &object), Liveness::Dead);
        assert_eq!(
            by_record(std::process::id() as i32, &object),
            Liveness::Unknown,
            "this process has the object open"
        );
    }

    #[test]
    fn unverifiable_tags_are_even_and_never_zero() {
        for _ in 0..1000 {
            let tag = unverifiable_tag(1);
            assert!(tag != 0 && tag & 1 == 0, "{tag:#x}");
        }
        assert_ne!(unverifiable_tag(1), unverifiable_tag(1));
    }

    #[test]
    fn object_tags_differ_and_are_never_zero() {
        let a = ObjectId { dev: 0x2d, ino: 7 };
        let b = ObjectId { dev: 0x2e, ino: 7 };
        let c = ObjectId { dev: 0x2d, ino: 8 };
        assert!(a.tag() != b.tag() && a.tag() != c.tag() && b.tag() != c.tag());
        assert_ne!(ObjectId { dev: 0, ino: 0 }.tag(), 0);
        assert_eq!(a.to_string(), "device 0:2d, inode 7");
    }
}
