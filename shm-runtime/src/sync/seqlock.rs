//! Consistent reads without a lock, all-or-nothing publication through a
//! redo journal, and recovery of a publish left half-done.
//!
//! # Publish (the writer holds the lock; `seq` is even, say `s`)
//!
//! 1. Copy the old and the new value into the journal.
//! 2. Commit: `journal_target = s + 2` (`Release`: the journal is complete
//!    before anyone can see it committed).
//! 3. `seq = s + 1` (odd), `Release` fence, then store each scalar whose
//!    bytes differ between old and new, and only those.
//! 4. `seq = s + 2` (`Release`), then retire: `journal_target = 0`.
//!
//! Killed before 2: the payload is untouched, the journal idle: the region
//! is as before. Killed after 2: whoever inherits the lock finds a committed
//! entry; if `seq` has not reached its target it stores the changed scalars
//! again from the journal (idempotent: the same values) and sets `seq` to
//! the target. Either way the region ends as before or after the update.
//!
//! # Read
//!
//! Load `seq` (`Acquire`); if even, copy the payload with atomic loads,
//! `Acquire` fence, load `seq` again; equal means no publish overlapped the
//! copy (crossbeam's `SeqLock` protocol). If `seq` stays odd for a whole
//! liveness period, the reader checks whether the lock's owner is alive; if
//! not, it takes the lock and recovers itself, so a dead writer never makes
//! a reader spin forever.

use std::hint::spin_loop;
use std::sync::atomic::fence;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

use super::lock::{self, LockGuard};
use super::owner::ObjectId;
use super::runs::{self, Run};
use super::{atomic_copy, change, SyncArea};

/// Where a region's payload and journal are, and how the payload splits
/// into scalars.
pub(crate) struct PayloadLayout<'a> {
    pub area: &'a SyncArea,
    /// The object the region is mapped from, whose lock `area` holds.
    pub object: &'a ObjectId,
    /// The payload: `size` bytes, aligned to 64.
    pub payload: *const u8,
    /// The journal's copy of the old value, then of the new: `size` bytes
    /// each, 64-aligned.
    pub journal_old: *const u8,
    pub journal_new: *const u8,
    pub size: usize,
    pub runs: &'a [Run],
}

/// Spins on an odd sequence before checking on the writer.
const SPINS: u32 = 2_000;

/// Copies a consistent payload of `len` bytes into `out`. `layout` builds
/// the full description of the region, needed only on the cold path where a
/// publish seems stuck.
///
/// # Safety
///
/// `payload` is the region's payload: valid for `len` bytes, 64-aligned,
/// only accessed atomically; `out` is valid for writes of `len` bytes.
#[inline(always)]
pub(crate) unsafe fn read<'a>(
    area: &'a SyncArea,
    payload: *const u8,
    out: *mut u8,
    len: usize,
    layout: impl Fn() -> PayloadLayout<'a>,
) {
    let mut spins = 0;
    loop {
        let before = area.seq.load(Acquire);
        if before & 1 == 0 {
            // SAFETY: the caller's promise.
            unsafe { atomic_copy::load(payload, out, len) };
            fence(Acquire);
            if area.seq.load(Relaxed) == before {
                return;
            }
        } else if spins < SPINS {
            spins += 1;
            spin_loop();
        } else {
            layout().wait_for_writer();
            spins = 0;
        }
    }
}

impl PayloadLayout<'_> {
    /// A publish has been in progress for a while: give its (live, maybe
    /// descheduled) writer a liveness period to finish, then, if it still
    /// has not, check whether it died and recover its publish if so.
    #[cold]
    #[inline(never)]
    fn wait_for_writer(&self) {
        let until = Instant::now() + lock::LIVENESS_PERIOD;
        while self.area.seq.load(Relaxed) & 1 == 1 {
            if Instant::now() >= until {
                if let Some(guard) = lock::try_lock_if_abandoned(self.area, self.object) {
                    self.recover(&guard);
                }
                return;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Publishes `new` over `old` (the value read under this same lock
    /// hold), all or nothing. The caller has checked that they differ.
    #[inline(always)]
    pub(crate) fn publish(&self, _guard: &LockGuard<'_>, old: &[u8], new: &[u8]) {
        let seq = self.area.seq.load(Relaxed);
        let len = self.size.min(old.len()).min(new.len());
        // SAFETY: the journal copies are valid for `size` bytes each,
        // 64-aligned, only accessed atomically, and nobody else writes them:
        // we hold the lock. `old` and `new` hold at least `len` bytes.
        unsafe {
            atomic_copy::store(self.journal_old, old.as_ptr(), len);
            atomic_copy::store(self.journal_new, new.as_ptr(), len);
        }
        self.area.journal_target.store(seq.wrapping_add(2), Release);
        crate::fault::pause_point("journal-committed");
        self.apply(seq.wrapping_add(2), old, new);
        self.area.journal_target.store(0, Release);
    }

    /// Steps 3 and 4: the odd sequence, the stores, the even sequence.
    #[inline(always)]
    fn apply(&self, target: u64, old: &[u8], new: &[u8]) {
        self.area.seq.store(target.wrapping_sub(1), Relaxed);
        fence(Release);
        // SAFETY: `payload` is valid for `size` bytes, aligned for the
        // struct, only accessed atomically; `old` and `new` are `size` bytes
        // and the runs describe that struct.
        unsafe { runs::store_changed(self.payload, self.runs, old, new) };
        crate::fault::pause_point("half-applied");
        self.area.seq.store(target, Release);
    }

    /// Completes or discards whatever a dead lock holder left. Returns
    /// whether anything changed.
    #[cold]
    #[inline(never)]
    pub(crate) fn recover(&self, _guard: &LockGuard<'_>) -> bool {
        let target = self.area.journal_target.load(Acquire);
        let seq = self.area.seq.load(Relaxed);
        let pending = target != 0
            && target & 1 == 0
            && (seq == target.wrapping_sub(2) || seq == target.wrapping_sub(1));
        if pending {
            let mut old = vec![0u8; self.size];
            let mut new = vec![0u8; self.size];
            // SAFETY: the journal copies are `size` bytes each, 64-aligned,
            // only accessed atomically; the lock is ours.
            unsafe {
                atomic_copy::load(self.journal_old, old.as_mut_ptr(), self.size);
                atomic_copy::load(self.journal_new, new.as_mut_ptr(), self.size);
            }
            self.apply(target, &old, &new);
        } else if seq & 1 == 1 {
            // Odd without a committed entry: not a state this protocol
            // leaves (seq turns odd only after the commit), so the words
            // were damaged. Make readers proceed over the payload as it is.
            self.area.seq.store(seq.wrapping_add(1), Release);
        } else if target == 0 {
            return false;
        }
        self.area.journal_target.store(0, Release);
        // The version moved with `seq` (here or before the writer died);
        // its waiters may never have been woken.
        fence(SeqCst);
        change::wake_waiters(self.area);
        true
    }

    /// An update that changed nothing still moves the version: the
    /// sequence advances by two, with no odd phase (there is nothing for a
    /// reader to see torn).
    #[inline(always)]
    pub(crate) fn publish_unchanged(&self, _guard: &LockGuard<'_>) {
        let seq = self.area.seq.load(Relaxed);
        self.area.seq.store(seq.wrapping_add(2), Release);
    }
}
