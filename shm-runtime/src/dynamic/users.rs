//! Who uses a region: the processes that hold it open through this library
//! (the kernel's record, `sync/object.rs`), and those whose memory maps
//! show it mapped by other means. What `shm who` lists and `shm rm
//! --stale` looks at.

use std::fs::File;

use crate::error::{Location, Result};
use crate::os::process::{self, Maps};
use crate::os::record::{self, RecordLock};
use crate::sync::owner::ObjectId;

/// The processes that use a region, from [`Region::users`](super::Region::users).
///
/// A process that holds the region open through this library (a handle of
/// any language, read-write or read-only, a forked child's copy included)
/// is listed whatever its memory map says: the kernel's record of who
/// holds the region open needs no permission to read. A process that maps
/// the region by other means is listed when its memory map
/// (`/proc/<pid>/maps`) can be read and shows the region's device and
/// inode. A process whose memory map cannot be read (another user's
/// without privilege; pid 1 in a container) and that holds no handle is
/// not listed: nothing can tell whether it maps the region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Users {
    /// Every such process, by pid, ascending (this process included when
    /// it holds or maps the region).
    pub processes: Vec<User>,
    /// Pids in the record that no process has any more: a handle's
    /// descriptor that a process passed on (a child forked without the
    /// library's fork handlers, a descriptor sent over a socket) is still
    /// open somewhere, under the pid of the process that opened it. The
    /// region is held open, by a process the record cannot name.
    pub departed: Vec<u32>,
    /// The record holds a lock that no handle takes: an exclusive one (a
    /// removal, `shm rm --stale`, is under way) or a range no registration
    /// makes (another program locked those bytes).
    pub foreign_lock: bool,
}

/// A process that uses a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    pub pid: u32,
    /// It holds the region open through this library (from the record).
    pub handle: bool,
    /// What its memory map says.
    pub mapped: Mapped,
}

/// Whether a process maps a region, as its memory map says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mapped {
    /// Mapped, and writable (a read-write handle's mapping).
    ReadWrite,
    /// Mapped to read only.
    ReadOnly,
    /// Not mapped (a descriptor without a mapping).
    No,
    /// Its memory map cannot be read.
    Unknown,
}

impl Users {
    /// No process uses the region, none the record cannot name, and no
    /// foreign lock is in its record.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty() && self.departed.is_empty() && !self.foreign_lock
    }

    /// The same without process `pid` (a tool leaves itself out).
    pub fn without(mut self, pid: u32) -> Users {
        self.processes.retain(|user| user.pid != pid);
        self
    }

    /// The pids of the processes that hold a handle.
    pub fn holders(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes
            .iter()
            .filter(|user| user.handle)
            .map(|user| user.pid)
    }
}

/// A lock spanning more pids than this is no registration (the kernel
/// merges one description's entries on adjacent pids, and one description
/// holds one process's entry and, at most, those of the few children that
/// registered on it).
const MAX_MERGED_ENTRIES: u32 = 1 << 16;

/// The users of object `id`, whose record `record` is (read through `file`
/// by the caller), from the record and every readable memory map.
pub(crate) fn users_from(record: &[RecordLock], id: &ObjectId) -> Users {
    let mut users = Users::default();
    let mut registered: Vec<u32> = Vec::new();
    for lock in record {
        // Pid 0 is no process: `kill(0, ..)` would ask about this process
        // group. It is never registered.
        if lock.exclusive || lock.end - lock.first > MAX_MERGED_ENTRIES || lock.first == 0 {
            users.foreign_lock = true;
            continue;
        }
        registered.extend(lock.first..lock.end);
    }
    registered.sort_unstable();
    registered.dedup();
    for &pid in &registered {
        // Every registered pid is below 2^22: it fits an `i32`.
        if process::exists(pid as i32) {
            users.processes.push(User {
                pid,
                handle: true,
                mapped: mapped(pid, id),
            });
        } else {
            users.departed.push(pid);
        }
    }
    for pid in all_pids() {
        if registered.binary_search(&pid).is_ok() {
            continue;
        }
        let seen = mapped(pid, id);
        if let Mapped::ReadWrite | Mapped::ReadOnly = seen {
            users.processes.push(User {
                pid,
                handle: false,
                mapped: seen,
            });
        }
    }
    users.processes.sort_unstable_by_key(|user| user.pid);
    users
}

/// The users of the object `file` is open on, whose id is `id`.
pub(crate) fn users_of(location: &Location, file: &File, id: &ObjectId) -> Result<Users> {
    Ok(users_from(&record::holder_record(location, file)?, id))
}

/// What process `pid`'s memory map says about object `id`. Only an exact
/// device and inode counts: the same inode number on another device (which
/// overlayfs or btrfs may show for the same file) is `No`, as the record
/// answers for every handle there anyway.
fn mapped(pid: u32, id: &ObjectId) -> Mapped {
    let Ok(signed) = i32::try_from(pid) else {
        return Mapped::Unknown;
    };
    match process::maps(signed, id.dev, id.ino) {
        Ok(Maps::Object { writable: true }) => Mapped::ReadWrite,
        Ok(Maps::Object { writable: false }) => Mapped::ReadOnly,
        Ok(Maps::Other | Maps::Nothing | Maps::SameInodeElsewhere) => Mapped::No,
        // Gone since it was listed: it maps nothing.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Mapped::No,
        Err(_) => Mapped::Unknown,
    }
}

/// Every pid in `/proc`, ascending.
fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(first: u32, end: u32, exclusive: bool) -> RecordLock {
        RecordLock {
            first,
            end,
            exclusive,
        }
    }

    /// Entries name processes by their byte; pids that no longer exist are
    /// departed; locks no registration makes are foreign, never pids.
    #[test]
    fn the_record_names_processes() {
        let me = std::process::id();
        // No process has a pid this large (pid_max is at most 2^22).
        let gone = record::PID_LIMIT - 3;
        let id = ObjectId { dev: 0, ino: 0 };
        let users = users_from(&[lock(me, me + 1, false), lock(gone, gone + 1, false)], &id);
        assert_eq!(users.holders().collect::<Vec<_>>(), [me]);
        assert_eq!(users.departed, [gone]);
        assert!(!users.foreign_lock);
        assert!(!users.is_empty());
        for foreign in [
            lock(0, record::PID_LIMIT, true),
            lock(0, 1, false),
            lock(1, MAX_MERGED_ENTRIES + 2, false),
        ] {
            let users = users_from(&[foreign], &id);
            assert!(users.foreign_lock, "{foreign:?}");
            assert_eq!(users.holders().count(), 0, "{foreign:?}");
            assert!(users.departed.is_empty(), "{foreign:?}");
        }
        assert!(users_from(&[], &id).is_empty());
    }
}
