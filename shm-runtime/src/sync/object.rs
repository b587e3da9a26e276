//! The object (file or shm object) a region lives in, as one handle holds
//! it open, and the kernel's record of which processes hold it open
//! through this library.
//!
//! Every handle, read-write or read-only, keeps a descriptor of the object
//! for as long as it lives, and holds on it a shared open-file-description
//! lock on one byte per process: the byte of the pid that opened it
//! (`os::register_holder`). Such a lock writes nothing (a read-only handle
//! stays read-only), belongs to the open file description rather than to a
//! process or a descriptor number, and goes away only when the last
//! descriptor of that description closes, which a dying process's exit
//! does. "Does process P hold the object open?" is then one query of the
//! kernel (`os::holder_registered`): a lock on P's byte, by any open file
//! description, answers yes.
//!
//! The writer lock's judge asks it where a holder's memory map cannot be
//! read (`owner::liveness`): a process that takes the lock through a handle
//! has its entry from before it takes it until after it lets go, so a
//! process without one holds nothing. The record is kernel state, not bytes
//! of the region: nothing written into a region can forge or erase an
//! entry.
//!
//! A forked child inherits its parent's descriptors, and with them the
//! parent's entry, not one of its own. Before it takes a lock through an
//! inherited handle it registers its own pid on the handle's descriptor:
//! the handle remembers the fork generation it registered in
//! ([`fork::generation`]), and a lock in another generation registers
//! first (the cold path; the hot path compares two words).

use std::fs::File;
#[cfg(not(loom))]
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Release};

use super::fork;
use super::owner::ObjectId;
use crate::error::{Location, Result};
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

impl Object {
    /// Holds the object `file` is open on for a handle: keeps a descriptor
    /// of it and registers this process in its record. `file`'s metadata is
    /// `meta`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if the descriptor cannot be kept or
    /// the lock taken (a filesystem without byte-range locks): a handle
    /// this process might lock through unregistered could be judged dead
    /// while it holds the lock.
    pub(crate) fn open(location: &Location, file: &File, meta: &std::fs::Metadata) -> Result<Self> {
        let file = os::keep_open(location, file)?;
        // Before the generation is read: no later fork goes unseen.
        fork::watch();
        let generation = fork::generation();
        os::register_holder(location, &file, std::process::id())?;
        Ok(Object {
            id: ObjectId::of(meta),
            #[cfg(not(loom))]
            location: location.clone(),
            #[cfg(not(loom))]
            file,
            registered_in: AtomicU64::new(generation),
        })
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
    /// descriptor (it has, unless it is a forked child that has not locked
    /// through the handle yet), and returns this process's fork generation.
    /// Called before every acquisition of the writer lock.
    ///
    /// # Panics
    ///
    /// If a forked child cannot register (the kernel is out of memory for
    /// locks): taking the lock unregistered could let another process judge
    /// it dead while it holds it.
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
        if let Err(error) = os::register_holder(&self.location, &self.file, std::process::id()) {
            panic!(
                "a forked child (pid {}) cannot register as holding {} open, which it must \
                 before it takes the region's writer lock through a handle it inherited: {error}",
                std::process::id(),
                self.location
            );
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
        os::holder_registered(&self.file, pid)
    }
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
            Object::open(&location, &file, &file.metadata().unwrap()).unwrap()
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
        assert!(os::holder_registered(&scratch.open(), me).unwrap());
        // pid 1 never opened this file; no process has a pid this large.
        assert!(!object.held_open_by(1).unwrap());
        assert!(!object.held_open_by((1 << 22) + 5).unwrap());
        drop(object);
        assert!(!os::holder_registered(&scratch.open(), me).unwrap());
    }

    /// A forked child registers itself on the handle it inherited before it
    /// locks through it; the parent's entry stays.
    #[test]
    fn a_forked_child_registers_before_it_locks() {
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
                let before = object.held_open_by(child).unwrap_or(true);
                object.register_this_process();
                let after = object.held_open_by(child).unwrap_or(false);
                let parent = object.held_open_by(me).unwrap_or(false);
                let _ = nix::unistd::write(&write, &[u8::from(!before && after && parent)]);
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
                    "the child was unregistered before its first lock, registered after, \
                     and its parent's entry stayed"
                );
                assert!(object.held_open_by(me).unwrap());
            }
        }
    }
}
