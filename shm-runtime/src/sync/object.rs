//! The object (file or shm object) a region lives in, as one handle holds
//! it open, and the kernel's record of which processes hold it open
//! through this library.
//!
//! Every handle, read-write or read-only, keeps a descriptor of the object
//! for as long as it lives, and holds on it a shared open-file-description
//! lock on one byte per process: the byte of the pid that opened it
//! (`os::record::register_holder`). Such a lock writes nothing (a
//! read-only handle stays read-only), belongs to the open file description
//! rather than to a process or a descriptor number, and goes away only
//! when the last descriptor of that description closes, which a dying
//! process's exit does. "Does process P hold the object open?" is then one
//! query of the kernel (`os::record::holder_registered`): a lock on P's
//! byte, by any open file description, answers yes; and "which processes
//! do?" is a walk of the record (`os::record::holder_record`).
//!
//! The writer lock's judge asks it where a holder's memory map cannot be
//! read (`owner::liveness`): a process that takes the lock through a handle
//! has its entry from before it takes it until after it lets go, so a
//! process without one holds nothing. `shm who` lists the record, and
//! `shm rm --stale` removes only a region whose record it can lock whole
//! (`dynamic/remove.rs`). The record is kernel state, not bytes of the
//! region: nothing written into a region can forge or erase an entry.
//!
//! A forked child inherits its parent's descriptors, and with them the
//! parent's description and entry. The fork handlers give each of the
//! child's handles a description of its own, with the child's entry
//! (`handles`); where that fails, or the fork ran no handlers, the child
//! registers its own pid on the handle's descriptor before it takes a lock
//! through it: the handle remembers the fork generation it registered in
//! ([`fork::generation`]), and a lock in another generation registers
//! first (the cold path; the hot path compares two words).

use std::fs::File;
#[cfg(not(loom))]
use std::io;
#[cfg(not(loom))]
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Release};
#[cfg(not(loom))]
use std::time::Duration;

use super::fork;
use super::owner::ObjectId;
use crate::deadline::Deadline;
use crate::error::{Error, Location, Result};
use crate::os;

/// A handle's hold on the object its region lives in.
pub(crate) struct Object {
    id: ObjectId,
    /// Where the region lives, and the handle's own descriptor: its entry
    /// in the record lives as long as this does (and as any copy a forked
    /// child keeps). The model has no kernel, and no descriptor.
    #[cfg(not(loom))]
    location: Location,
    #[cfg(not(loom))]
    file: File,
    /// The fork generation whose process has its entry on `file`.
    registered_in: AtomicU64,
}

/// What `NotFound` says when the object an open had found was removed
/// before the open registered as holding it.
const REMOVED_WHILE_OPENING: &str =
    ": it was removed while this process was opening it (by `shm rm`, say)";

impl Object {
    /// Holds the object `file` is open on for a handle: keeps a descriptor
    /// of it and registers this process in its record. `file`'s metadata is
    /// `meta`. While a removal holds the record whole (`shm rm --stale`,
    /// for an instant), registering waits for it, until `deadline`; the
    /// caller then checks that the object still has its name
    /// ([`check_still_named`](Self::check_still_named)).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the descriptor cannot be kept or the lock taken (a
    /// filesystem without byte-range locks): a handle this process might
    /// lock through unregistered could be judged dead while it holds the
    /// lock. [`Error::Timeout`] if a removal holds the record past
    /// `deadline`.
    pub(crate) fn open(
        location: &Location,
        file: &File,
        meta: &std::fs::Metadata,
        deadline: &Deadline,
    ) -> Result<Self> {
        Object::keep(location, os::keep_open(location, file)?, meta, deadline)
    }

    /// [`open`](Self::open), keeping `file` itself (no second descriptor)
    /// when the caller has no further use for it.
    pub(crate) fn keep(
        location: &Location,
        file: File,
        meta: &std::fs::Metadata,
        deadline: &Deadline,
    ) -> Result<Self> {
        #[cfg(loom)]
        drop(file);
        // Before the generation is read: no later fork goes unseen.
        fork::watch();
        let generation = fork::generation();
        #[cfg(not(loom))]
        super::handles::add(file.as_raw_fd());
        let object = Object {
            id: ObjectId::of(meta),
            #[cfg(not(loom))]
            location: location.clone(),
            #[cfg(not(loom))]
            file,
            registered_in: AtomicU64::new(generation),
        };
        object.register(location, deadline)?;
        Ok(object)
    }

    /// Registers this process on the handle's descriptor, waiting while a
    /// removal holds the record.
    fn register(&self, location: &Location, deadline: &Deadline) -> Result<()> {
        #[cfg(loom)]
        let _ = (location, deadline);
        #[cfg(not(loom))]
        {
            let mut pause = Duration::from_micros(20);
            while !os::record::register_holder(location, &self.file, std::process::id())? {
                let Some(left) = deadline.remaining() else {
                    return Err(Error::Timeout {
                        location: location.clone(),
                        waited: deadline.waited(),
                        waiting_for: "a removal of the region (`shm rm --stale`) to finish",
                    });
                };
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// After [`open`](Self::open) on an object found by its name: whether
    /// the name still leads to this object. A removal that holds the
    /// record whole removes the name before it lets the record go, and an
    /// open registers only while nobody holds it; so an open that finds
    /// its name still there after registering has an object that no such
    /// removal will remove (see `DESIGN.md`, "Removing a region").
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the name is gone or leads elsewhere: the
    /// open starts again (or reports it).
    pub(crate) fn check_still_named(&self, location: &Location) -> Result<()> {
        #[cfg(loom)]
        let _ = location;
        #[cfg(not(loom))]
        match os::names::path_metadata(&os::path_of(location)) {
            Ok(meta) if ObjectId::of(&meta) == self.id => {}
            // Gone, or another object: this one was removed meanwhile.
            Ok(_) => return Err(removed_while_opening(location)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Err(removed_while_opening(location))
            }
            // The open by this name worked a moment ago; whatever stops a
            // `stat` now (a directory made unsearchable) says nothing of a
            // removal.
            Err(_) => {}
        }
        Ok(())
    }

    /// An object of the model (`loom_tests`): no descriptor, no record.
    #[cfg(all(loom, test))]
    pub(crate) fn in_model(id: ObjectId) -> Self {
        Object {
            id,
            registered_in: AtomicU64::new(fork::generation()),
        }
    }

    /// Its device and inode.
    #[inline(always)]
    pub(crate) fn id(&self) -> &ObjectId {
        &self.id
    }

    /// Makes sure this process has its entry in the record on this handle's
    /// descriptor (it has, unless it is a forked child whose fork handler
    /// could not give it one and that has not locked through the handle
    /// yet), and returns this process's fork generation. Called before
    /// every acquisition of the writer lock.
    ///
    /// # Panics
    ///
    /// If a forked child cannot register (the kernel is out of memory for
    /// locks): taking the lock unregistered could let another process judge
    /// it dead while it holds it. (A removal cannot be in the way: it needs
    /// the whole record, and this handle's description holds an entry.)
    #[inline(always)]
    pub(crate) fn register_this_process(&self) -> u64 {
        let now = fork::generation();
        // Acquire: pairs with the `Release` store below, made by another
        // thread of this process after its registration returned.
        if self.registered_in.load(Acquire) != now {
            self.register_after_fork(now);
        }
        now
    }

    #[cold]
    #[inline(never)]
    fn register_after_fork(&self, now: u64) {
        #[cfg(not(loom))]
        match os::record::register_holder(&self.location, &self.file, std::process::id()) {
            Ok(true) => {}
            outcome => panic!(
                "a forked child (pid {}) cannot register as holding {} open, which it must \
                 before it takes the region's writer lock through a handle it inherited: {}",
                std::process::id(),
                self.location,
                match outcome {
                    Err(error) => error.to_string(),
                    Ok(_) => "another process holds the record exclusively".to_owned(),
                }
            ),
        }
        self.registered_in.store(now, Release);
    }

    /// Whether process `pid` holds the object open through this library (by
    /// any handle: this process's, another's, or one a child inherited).
    ///
    /// # Errors
    ///
    /// When the kernel does not answer; the caller does not guess.
    #[cfg(not(loom))]
    pub(crate) fn held_open_by(&self, pid: u32) -> io::Result<bool> {
        os::record::holder_registered(&self.file, pid)
    }

    /// Every lock in the object's record (see `os::record::holder_record`).
    /// The model has no record: it is empty there.
    pub(crate) fn record(&self) -> Result<Vec<os::record::RecordLock>> {
        #[cfg(not(loom))]
        return os::record::holder_record(&self.location, &self.file);
        #[cfg(loom)]
        Ok(Vec::new())
    }

    /// A new descriptor of exactly this object, open to read and write, on
    /// an open file description of its own (so without this handle's
    /// entry): what a removal locks the record through. The model has no
    /// descriptor: there, an error.
    pub(crate) fn reopen_read_write(&self, needed: &'static str) -> Result<File> {
        #[cfg(not(loom))]
        return os::reopen_read_write(&self.location, &self.file, needed);
        #[cfg(loom)]
        Err(Error::Unsupported {
            location: Location::Shm(format!("/model-{}", self.id.ino)),
            reason: format!("the model has no descriptors ({needed})"),
        })
    }
}

#[cfg(not(loom))]
impl Drop for Object {
    /// Off the list of live handles before the descriptor closes: a child
    /// forked later never touches a descriptor number that is no longer
    /// this handle's.
    fn drop(&mut self) {
        super::handles::forget(self.file.as_raw_fd());
    }
}

/// `NotFound` for an open whose object was removed before it registered.
#[cfg_attr(loom, allow(dead_code))] // the model has no names
pub(crate) fn removed_while_opening(location: &Location) -> Error {
    Error::NotFound {
        location: location.clone(),
        detail: REMOVED_WHILE_OPENING.to_owned(),
    }
}

/// Whether `error` is [`removed_while_opening`]'s: the open may start again.
pub(crate) fn was_removed_while_opening(error: &Error) -> bool {
    matches!(error, Error::NotFound { detail, .. } if detail == REMOVED_WHILE_OPENING)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A file of its own under the temporary directory, removed on drop
    /// (the runtime has no `tempfile` dependency).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "shm-object-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, b"").unwrap();
            Scratch(path)
        }

        /// A new open file description of it.
        fn open(&self) -> File {
            File::open(&self.0).unwrap()
        }

        /// A handle's hold on it, as opening a region makes one (the
        /// descriptor it was given is closed, as the open path's is).
        fn hold(&self) -> Object {
            let file = self.open();
            let location = Location::File(self.0.clone());
            let deadline = Deadline::after(std::time::Duration::ZERO);
            Object::open(&location, &file, &file.metadata().unwrap(), &deadline).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_handle_registers_its_process_until_it_is_dropped() {
        let scratch = Scratch::new();
        let me = std::process::id();
        let object = scratch.hold();
        // Seen through the handle's own description as through any other.
        assert!(object.held_open_by(me).unwrap());
        assert!(os::record::holder_registered(&scratch.open(), me).unwrap());
        // pid 1 never opened this file; no process has a pid this large.
        assert!(!object.held_open_by(1).unwrap());
        assert!(!object.held_open_by((1 << 22) + 5).unwrap());
        drop(object);
        assert!(!os::record::holder_registered(&scratch.open(), me).unwrap());
    }

    /// A forked child has an entry of its own from the moment it exists,
    /// on a description of its own: it goes when the child exits, while
    /// the parent's stays.
    #[test]
    fn a_forked_child_has_an_entry_of_its_own() {
        let scratch = Scratch::new();
        let object = scratch.hold();
        let me = std::process::id();
        assert_eq!(object.register_this_process(), fork::generation());
        let (read, write) = nix::unistd::pipe().unwrap();
        // SAFETY: the child makes a few system calls (fcntl, write, _exit)
        // and atomic operations, and allocates nothing but what glibc's fork
        // handlers make safe; it never returns into the test harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let child = std::process::id();
                let at_once = object.held_open_by(child).unwrap_or(false);
                object.register_this_process();
                let after = object.held_open_by(child).unwrap_or(false);
                let parent = object.held_open_by(me).unwrap_or(false);
                let _ = nix::unistd::write(&write, &[u8::from(at_once && after && parent)]);
                // SAFETY: ends the child at once, running nothing of the
                // parent's (no destructors, no atexit handlers).
                unsafe { nix::libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(write);
                let mut answer = [0u8; 1];
                let got = nix::unistd::read(&read, &mut answer).unwrap();
                nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(
                    (got, answer[0]),
                    (1, 1),
                    "the child was registered from the start, and its parent's entry stayed"
                );
                assert!(object.held_open_by(me).unwrap());
                assert!(
                    !object.held_open_by(child.as_raw() as u32).unwrap(),
                    "the child's entry outlived it: it was on its parent's description"
                );
            }
        }
    }
}
