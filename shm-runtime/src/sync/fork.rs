//! Telling a forked child from the process it was forked from, without a
//! system call: a process-wide *fork generation*, bumped in the child by a
//! `pthread_atfork` handler.
//!
//! A child starts as a copy of its parent's memory, the parent's writer
//! lock guards and handles included. Two things must not carry over:
//!
//! - a held lock: a guard taken in another generation neither publishes nor
//!   unlocks (`lock::LockGuard`), so the parent's update goes on as if the
//!   fork had not happened;
//! - a handle's entry in the record of who holds the object open
//!   (`object::Object`): the child inherits its parent's entry, not one of
//!   its own. The child handler gives each of the child's handles an entry
//!   of its own (`handles`), and the child registers again, on the cold
//!   path, before it first takes a lock through a handle.
//!
//! `getpid` would tell the same, but it is a system call (glibc stopped
//! caching it), and the generation is read on every lock and unlock.
//!
//! Only forks that run the `pthread_atfork` handlers are seen: `fork(2)`
//! through libc (and everything built on it: Python's `os.fork`,
//! `multiprocessing`'s fork start method). glibc's `_Fork` and a raw
//! `clone` system call skip the handlers; a child made so must not use a
//! handle it inherited (see `docs/design.md`, "A fork inside an update").

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Once;

/// How many forks separate this process from the first process of its line
/// that used this library: 0 there, its parent's plus one in each child.
/// A `std` atomic also under loom, whose model has no fork.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// This process's fork generation.
///
/// Relaxed: the only store a thread can see is the child handler's, made on
/// the forking thread before `fork` returns in the child (program order),
/// and before any other thread of the child exists (creating a thread
/// synchronises with it).
#[inline(always)]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Relaxed)
}

/// Makes sure the fork handlers are registered: called before a handle or
/// a token first records a generation, so no fork after that goes unseen.
pub(crate) fn watch() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registering handlers is always sound. The child handler
        // does atomic operations and async-signal-safe system calls only,
        // as a fork child handler must (the parent may have had other
        // threads); the prepare and parent handlers take and release a
        // spin lock that no code holds across a fork.
        unsafe {
            nix::libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            );
        }
    });
}

/// Runs in the forking thread just before `fork`.
extern "C" fn before_fork() {
    #[cfg(not(loom))]
    super::handles::before_fork();
}

/// Runs in the parent, on the forking thread, once `fork` has made the
/// child.
extern "C" fn after_fork_in_parent() {
    #[cfg(not(loom))]
    super::handles::after_fork_in_parent();
}

/// Runs in a forked child, on its only thread, before `fork` returns there.
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Relaxed);
    super::owner::forget_token();
    #[cfg(not(loom))]
    super::handles::after_fork_in_child();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The child sees a new generation; the parent keeps its own.
    #[test]
    fn a_forked_child_is_another_generation() {
        watch();
        let before = generation();
        let (read, write) = nix::unistd::pipe().unwrap();
        // SAFETY: the child only loads an atomic, writes one byte to a pipe
        // and `_exit`s: async-signal-safe, as a child of a multithreaded
        // process must be.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let moved = u8::from(generation() == before + 1);
                let _ = nix::unistd::write(&write, &[moved]);
                // SAFETY: ends the child at once, running nothing of the
                // parent's (no destructors, no atexit handlers).
                unsafe { nix::libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(write);
                let mut answer = [0u8; 1];
                let got = nix::unistd::read(&read, &mut answer).unwrap();
                nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!((got, answer[0]), (1, 1), "the child's generation");
                assert_eq!(generation(), before, "the parent's generation");
            }
        }
    }
}
