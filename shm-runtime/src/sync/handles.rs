//! The descriptors of this process's live handles, so that a forked child
//! can give each one an entry of its own in the record of who holds its
//! object open (`object.rs`, `os::record::own_entry_after_fork`).
//!
//! A child gets a copy of its parent's descriptors, and with them the
//! parent's open file descriptions, on which the parent's entries sit. The
//! `pthread_atfork` child handler (`fork.rs`) walks this list and moves
//! each descriptor to a description of the child's own, holding the
//! child's entry: `shm who` then names the child as soon as it exists, and
//! each entry lasts exactly as long as its process holds the handle.
//!
//! The list is a `Vec` behind a spin lock rather than a `Mutex`: the fork
//! handlers take it before `fork` (`before_fork`) and let it go after, in
//! the parent and in the child, so the child never finds it held by a
//! thread that does not exist there, and reads it without allocating.

use std::cell::UnsafeCell;
use std::os::fd::RawFd;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::os;

/// The live handles' descriptors.
struct Handles {
    busy: AtomicBool,
    fds: UnsafeCell<Vec<RawFd>>,
}

// SAFETY: `fds` is reached only through `Handles::with` and the fork
// handlers, each of which holds `busy` (a spin lock with Acquire/Release)
// throughout, so no two threads ever touch the `Vec` at once.
unsafe impl Sync for Handles {}

static HANDLES: Handles = Handles {
    busy: AtomicBool::new(false),
    fds: UnsafeCell::new(Vec::new()),
};

impl Handles {
    fn acquire(&self) {
        let mut spins = 0u32;
        // Acquire: pairs with the Release in `release`, so the `Vec` the
        // last holder left is the one this thread sees.
        while self
            .busy
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 100 {
                std::hint::spin_loop();
            } else {
                // Held across an allocation, or by a thread that was
                // preempted: let it run.
                std::thread::yield_now();
            }
        }
    }

    fn release(&self) {
        self.busy.store(false, Release);
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<RawFd>) -> R) -> R {
        self.acquire();
        // SAFETY: `busy` is held (see the `Sync` impl) until `release`.
        let result = f(unsafe { &mut *self.fds.get() });
        self.release();
        result
    }
}

/// Lists descriptor `fd`, which a live handle owns, until [`forget`].
pub(crate) fn add(fd: RawFd) {
    HANDLES.with(|fds| fds.push(fd));
}

/// Takes descriptor `fd` off the list: its handle is about to close it.
pub(crate) fn forget(fd: RawFd) {
    HANDLES.with(|fds| {
        if let Some(at) = fds.iter().position(|&listed| listed == fd) {
            fds.swap_remove(at);
        }
    });
}

/// The `pthread_atfork` prepare handler: no thread changes the list from
/// here until `fork` returns.
pub(crate) fn before_fork() {
    HANDLES.acquire();
}

/// The `pthread_atfork` parent handler.
pub(crate) fn after_fork_in_parent() {
    HANDLES.release();
}

/// The `pthread_atfork` child handler, on the child's only thread: gives
/// every listed descriptor a description of the child's own, holding the
/// child's entry. Async-signal-safe: no allocation, only system calls that
/// are.
pub(crate) fn after_fork_in_child() {
    let pid = std::process::id();
    // SAFETY: `before_fork` took `busy` on the thread that forked, which is
    // the child's only thread: nobody else can touch the list.
    let fds = unsafe { &*HANDLES.fds.get() };
    for &fd in fds {
        // SAFETY: each listed descriptor belongs to a live handle (it is
        // listed after the handle has it and taken off before it is
        // closed), and the child has no other thread to use it meanwhile.
        unsafe { os::record::own_entry_after_fork(fd, pid) };
    }
    HANDLES.release();
}
