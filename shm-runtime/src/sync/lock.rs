//! The writer lock: a word in shared memory holding its owner's token,
//! robust without kernel help.
//!
//! - Uncontended, lock and unlock are one atomic instruction each and make
//!   no system call.
//! - A waiter spins briefly, then marks the word contended and sleeps on a
//!   futex, waking at least every [`LIVENESS_PERIOD`]; once the owner has
//!   held the lock for a whole period, it checks whether the owner still
//!   lives ([`owner::is_dead`]). A dead owner's lock is taken
//!   over with a compare-exchange against the dead token, so exactly one
//!   waiter inherits it, and that waiter is told to run recovery.
//! - A contended unlock bumps the futex word and wakes one waiter; a waiter
//!   that slept takes the lock marked contended, so its own unlock wakes the
//!   next one (no waiter is stranded until its timeout).

use std::hint::spin_loop;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

use super::owner::{self, OWNER_MASK};
use super::SyncArea;
use crate::os;

const CONTENDED: u64 = !OWNER_MASK;
/// Spins before the first liveness check and sleep.
const SPINS: u32 = 200;
/// The longest a waiter sleeps before it checks on the owner again.
pub(crate) const LIVENESS_PERIOD: Duration = Duration::from_millis(5);

/// The held lock; dropping it unlocks.
pub(crate) struct LockGuard<'a> {
    area: &'a SyncArea,
    /// The previous owner died holding the lock: the region may hold a
    /// half-done publish that the new owner must recover before anything else.
    pub(crate) inherited: bool,
}

/// Takes the lock, waiting as long as a live process holds it.
#[inline]
pub(crate) fn lock(area: &SyncArea) -> LockGuard<'_> {
    let me = owner::current();
    match area.lock.compare_exchange(0, me, Acquire, Relaxed) {
        Ok(_) => LockGuard {
            area,
            inherited: false,
        },
        Err(_) => lock_contended(area, me),
    }
}

#[cold]
fn lock_contended(area: &SyncArea, me: u64) -> LockGuard<'_> {
    let mut spins = 0;
    let mut slept = false;
    // Checking liveness reads /proc (tens of microseconds), so it is done
    // only after the owner has held the lock for a whole LIVENESS_PERIOD
    // while we waited, not on every contended acquisition.
    let mut next_check = Instant::now() + LIVENESS_PERIOD;
    loop {
        let word = area.lock.load(Relaxed);
        if word == 0 {
            let mine = if slept { me | CONTENDED } else { me };
            if area
                .lock
                .compare_exchange(0, mine, Acquire, Relaxed)
                .is_ok()
            {
                return LockGuard {
                    area,
                    inherited: false,
                };
            }
            continue;
        }
        if spins < SPINS {
            spins += 1;
            spin_loop();
            continue;
        }
        if Instant::now() >= next_check {
            if let Some(guard) = take_from_dead(area, word, me) {
                return guard;
            }
            next_check = Instant::now() + LIVENESS_PERIOD;
        }
        if word & CONTENDED == 0
            && area
                .lock
                .compare_exchange(word, word | CONTENDED, Relaxed, Relaxed)
                .is_err()
        {
            continue;
        }
        let seen = area.lock_futex.load(Acquire);
        if area.lock.load(Acquire) == word | CONTENDED {
            os::futex_wait(&area.lock_futex, seen, LIVENESS_PERIOD);
            slept = true;
        }
    }
}

/// Takes the lock only if it is free or its owner is dead; never waits for
/// a live owner. For readers that found a publish left half-done.
pub(crate) fn try_lock_if_abandoned(area: &SyncArea) -> Option<LockGuard<'_>> {
    let me = owner::current();
    match area.lock.load(Relaxed) {
        0 => area
            .lock
            .compare_exchange(0, me, Acquire, Relaxed)
            .ok()
            .map(|_| LockGuard {
                area,
                inherited: false,
            }),
        word => take_from_dead(area, word, me),
    }
}

/// If `word` names a dead owner, replaces it with `me`. Exactly one caller
/// wins for a given dead token.
fn take_from_dead(area: &SyncArea, word: u64, me: u64) -> Option<LockGuard<'_>> {
    if !owner::is_dead(word) {
        return None;
    }
    // Keep the contended flag: others may sleep on this lock.
    let mine = me | (word & CONTENDED);
    area.lock
        .compare_exchange(word, mine, Acquire, Relaxed)
        .ok()
        .map(|_| LockGuard {
            area,
            inherited: true,
        })
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SeqCst: also the barrier between an update's version move and its
        // check for waiters (see `change`).
        let word = self.area.lock.swap(0, SeqCst);
        if word & CONTENDED != 0 {
            self.area.lock_futex.fetch_add(1, Release);
            os::futex_wake(&self.area.lock_futex, 1);
        }
    }
}
