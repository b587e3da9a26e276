//! The version counter, and sleeping until it moves.
//!
//! Waking costs a system call only when someone waits: a waiter registers
//! in `change_waiters` before it reads the futex word and re-checks the
//! version; a bumper moves the version before it reads `change_waiters`.
//! Both sides use `SeqCst`, so in their single total order either the
//! bumper sees the waiter (and bumps the futex word and wakes it), or the
//! waiter's re-check sees the new version (and does not sleep).

use std::sync::atomic::Ordering::{Acquire, SeqCst};
use std::time::{Duration, Instant};

use super::SyncArea;
use crate::os;

/// Moves the version on and wakes every waiter. Called after the change it
/// announces is visible, so a waiter that sees the new version sees it too.
#[inline]
pub(crate) fn bump(area: &SyncArea) -> u64 {
    let version = area.version.fetch_add(1, SeqCst).wrapping_add(1);
    if area.change_waiters.load(SeqCst) != 0 {
        wake_all(area);
    }
    version
}

#[cold]
fn wake_all(area: &SyncArea) {
    area.change_futex.fetch_add(1, SeqCst);
    os::futex_wake(&area.change_futex, i32::MAX);
}

/// The current version.
#[inline]
pub(crate) fn current(area: &SyncArea) -> u64 {
    area.version.load(Acquire)
}

/// Sleeps until the version differs from `seen` and returns it, or returns
/// `None` once `timeout` has passed with no change.
pub(crate) fn wait(area: &SyncArea, seen: u64, timeout: Duration) -> Option<u64> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let version = area.version.load(Acquire);
        if version != seen {
            return Some(version);
        }
        let left = match deadline {
            Some(deadline) => deadline.checked_duration_since(Instant::now())?,
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            return None;
        }
        area.change_waiters.fetch_add(1, SeqCst);
        let futex = area.change_futex.load(SeqCst);
        if area.version.load(SeqCst) == seen {
            os::futex_wait(&area.change_futex, futex, left);
        }
        area.change_waiters.fetch_sub(1, SeqCst);
    }
}
