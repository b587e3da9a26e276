//! The region's version, and sleeping until it moves.
//!
//! The version is `seq / 2 + notifies`: every update advances the seqlock
//! sequence by two (even when nothing changed), every notify advances
//! `notifies` by one. Both counters only grow, so each process sees the
//! version only grow, and an update moves it without a read-modify-write of
//! its own: the sequence stores of the publish do it.
//!
//! Waking costs a system call only when someone waits: a waiter registers
//! in `change_waiters`, passes a `SeqCst` fence, then reads the futex word
//! and re-checks the version; a writer moves the version, then passes a
//! `SeqCst` fence (`notify`: its `SeqCst` increment) before it reads
//! `change_waiters`. Of two `SeqCst` fences one comes first in their single
//! total order, so either the writer sees the waiter (and bumps the futex
//! word and wakes it), or the waiter's re-check sees the new version (and
//! does not sleep).
//!
//! Before it registers and sleeps, a waiter spins for a short, bounded
//! window ([`spin_until_changed`]): a reply that comes within microseconds
//! is seen at cache-line speed, with no system call on either side. The
//! window is at most 1% of the wait's timeout, so a wait that times out
//! burns at most 1% of the time it waited.

use super::atomics::fence;
use super::atomics::Ordering::{Acquire, SeqCst};
use super::time::{spin_loop, yield_now, Duration, Instant};
use super::SyncArea;
use crate::os;

/// The current version. `Acquire`: the update that moved it is visible.
#[inline]
pub(crate) fn current(area: &SyncArea) -> u64 {
    let seq = area.seq.load(Acquire);
    (seq / 2).wrapping_add(area.notifies.load(Acquire))
}

/// The version of the state at sequence `seq` (even), with the notifies
/// counted now.
pub(crate) fn version_at(area: &SyncArea, seq: u64) -> u64 {
    (seq / 2).wrapping_add(area.notifies.load(Acquire))
}

/// Moves the version on by one and wakes every waiter. Returns the new
/// version.
pub(crate) fn notify(area: &SyncArea) -> u64 {
    area.notifies.fetch_add(1, SeqCst);
    wake_waiters(area);
    current(area)
}

/// Wakes every waiter, if there is any. The caller has moved the version and
/// then passed a `SeqCst` barrier (module docs).
#[inline]
pub(crate) fn wake_waiters(area: &SyncArea) {
    if area.change_waiters.load(SeqCst) != 0 {
        wake_all(area);
    }
}

#[cold]
fn wake_all(area: &SyncArea) {
    area.change_futex.fetch_add(1, SeqCst);
    os::futex_wake(&area.change_futex, i32::MAX);
}

/// The longest a waiter spins before it sleeps. None under loom: the spin
/// only looks at the version, and has no part in the wake-up argument.
const SPIN_WINDOW: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_micros(5)
};
/// Within the window, how long it spins without yielding the CPU: past this
/// the other side is likely descheduled, or on this very CPU, and a yield
/// lets it run.
const SPIN_PURE: Duration = Duration::from_nanos(500);

/// Watches the version for a short window (at most [`SPIN_WINDOW`], and at
/// most 1% of `timeout`), first spinning, then yielding the CPU between
/// looks. Returns the new version if it moved.
pub(crate) fn spin_until_changed(area: &SyncArea, seen: u64, timeout: Duration) -> Option<u64> {
    let window = SPIN_WINDOW.min(timeout / 100);
    if window.is_zero() {
        return None;
    }
    let started = Instant::now();
    let mut spins = 0u32;
    loop {
        let version = current(area);
        if version != seen {
            return Some(version);
        }
        spins = spins.wrapping_add(1);
        if spins % 8 == 0 {
            let spent = started.elapsed();
            if spent >= window {
                return None;
            }
            if spent >= SPIN_PURE {
                yield_now();
                continue;
            }
        }
        spin_loop();
    }
}

/// Sleeps until the version differs from `seen` and returns it, or returns
/// `None` once `timeout` has passed with no change.
pub(crate) fn wait(area: &SyncArea, seen: u64, timeout: Duration) -> Option<u64> {
    let deadline = Instant::now().checked_add(timeout);
    if let Some(version) = spin_until_changed(area, seen, timeout) {
        return Some(version);
    }
    loop {
        let version = current(area);
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
        // The waiter's half of the pair of barriers (module docs). C++20's
        // rules for `SeqCst` accesses order the registration before the
        // re-check without it, but fence against fence is the form every
        // checker models (loom treats `SeqCst` accesses as `AcqRel`), and a
        // fence costs nothing here, before a system call.
        fence(SeqCst);
        let futex = area.change_futex.load(SeqCst);
        let again = (area.seq.load(SeqCst) / 2).wrapping_add(area.notifies.load(SeqCst));
        if again == seen {
            os::futex_wait(&area.change_futex, futex, left);
        }
        area.change_waiters.fetch_sub(1, SeqCst);
    }
}
