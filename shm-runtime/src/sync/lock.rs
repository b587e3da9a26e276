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
//! - Unlocking is a compare-exchange of the owner's own token: an owner
//!   whose lock was taken over never releases its new owner's lock.
//! - A contended unlock bumps the futex word and wakes one waiter; a waiter
//!   that slept takes the lock marked contended, so its own unlock wakes the
//!   next one (no waiter is stranded until its timeout).

use std::hint::spin_loop;
use std::sync::atomic::fence;
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
    /// The token this guard's lock word holds (without the contended flag).
    me: u64,
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
            me,
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
                    me,
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
                me,
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
            me,
            inherited: true,
        })
}

impl LockGuard<'_> {
    #[cold]
    fn unlock_contended(&self, mut word: u64) {
        loop {
            if word & OWNER_MASK != self.me {
                // Taken over by a process that judged us dead: the lock is
                // theirs now, leave it. The fence stands in for the SeqCst
                // exchange that `change` relies on.
                fence(SeqCst);
                return;
            }
            match self.area.lock.compare_exchange(word, 0, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        if word & CONTENDED != 0 {
            self.area.lock_futex.fetch_add(1, Release);
            os::futex_wake(&self.area.lock_futex, 1);
        }
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SeqCst: also the barrier between an update's version move and its
        // check for waiters (see `change`). Only our own token is cleared.
        if let Err(word) = self.area.lock.compare_exchange(self.me, 0, SeqCst, Relaxed) {
            self.unlock_contended(word);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroed_area() -> Box<SyncArea> {
        // SAFETY: SyncArea is made of atomics only, for which all-zero bytes
        // are a valid value (and the state of a new region).
        Box::new(unsafe { std::mem::zeroed() })
    }

    #[test]
    fn lock_and_unlock() {
        let area = zeroed_area();
        let guard = lock(&area);
        assert!(!guard.inherited);
        assert_eq!(area.lock.load(Relaxed), owner::current());
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
    }

    /// A holder judged dead while it lived (the harm is done then) must at
    /// least not release the lock of the process that took it over.
    #[test]
    fn an_owner_whose_lock_was_taken_over_does_not_release_it() {
        let area = zeroed_area();
        let guard = lock(&area);
        // pid 1 exists; its token here is made up.
        let new_owner = (1 << 32) | 0x1235 | CONTENDED;
        area.lock.store(new_owner, Relaxed);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), new_owner);
    }

    #[test]
    fn a_contended_unlock_clears_the_flag() {
        let area = zeroed_area();
        let guard = lock(&area);
        area.lock.fetch_or(CONTENDED, Relaxed);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
        assert_eq!(area.lock_futex.load(Relaxed), 1, "a waiter was woken");
    }

    #[test]
    fn a_dead_owner_is_taken_over_and_recovery_asked_for() {
        let area = zeroed_area();
        // No process has this pid.
        area.lock.store((0x7fff_fff0 << 32) | 1, Relaxed);
        let guard = try_lock_if_abandoned(&area).expect("taken over");
        assert!(guard.inherited);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
    }
}
