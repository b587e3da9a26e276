//! Consistent reads without a lock, all-or-nothing publication through a
//! redo journal, and recovery of a publish left half-done.
//!
//! # Publish (the writer holds the lock; `seq` is even, say `s`)
//!
//! 1. Write what the update stores into the journal (`journal`: the
//!    changed ranges, or whole copies when many fields changed).
//! 2. Commit: `journal_target = s + 2` (`Release`: the journal is complete
//!    before anyone can see it committed).
//! 3. `seq = s + 1` (odd; `Release`, so that a reader seeing it odd sees
//!    the commit), `Release` fence, then store each scalar whose
//!    bytes differ between old and new, and only those, each with one
//!    atomic store of its own width.
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
//! copy (crossbeam's `SeqLock` protocol).
//!
//! If `seq` stays odd for a whole liveness period, the publish is stuck: its
//! writer died, or is descheduled or stopped. A reader that may write checks
//! whether the lock's owner is dead and, if so, takes the lock and recovers
//! itself. Otherwise (the owner lives, its liveness cannot be told, or the
//! reader may only read) it reads the state the committed journal entry
//! describes: the payload with every scalar the entry changes taken from
//! its new copy, which is exactly what the publish (or a recovery of it)
//! leaves. So no reader ever waits on a writer for more than a liveness
//! period, whatever became of it.

use super::atomics::fence;
use super::atomics::Ordering::{Acquire, Relaxed, Release, SeqCst};
use super::journal::{self, Stores};
use super::lock::{self, LockGuard};
use super::object::Object;
use super::runs::{self, Run};
use super::time::{self, spin_loop, Duration, Instant};
use super::{atomic_copy, change, SyncArea};

/// Where a region's payload and journal are, and how the payload splits
/// into scalars.
pub(crate) struct PayloadLayout<'a> {
    pub area: &'a SyncArea,
    /// The object the region is mapped from, whose lock `area` holds, as
    /// this handle holds it open.
    pub object: &'a Object,
    /// The payload: `size` bytes, aligned to 64.
    pub payload: *const u8,
    /// The redo journal: `journal::len(size)` bytes, 64-aligned.
    pub journal: *const u8,
    pub size: usize,
    pub runs: &'a [Run],
    /// The handle may write: it can recover a dead writer's publish.
    pub writable: bool,
}

/// Spins on an odd sequence before checking on the writer. One under loom,
/// as for the lock's spins.
const SPINS: u32 = if cfg!(loom) { 1 } else { 2_000 };

/// Copies a consistent payload of `len` bytes into `out`. `layout` builds
/// the full description of the region, needed only on the cold path where a
/// publish seems stuck.
///
/// Returns the (even) sequence of the state copied: the sequence at which
/// it was read, or, for the state a stuck publish's journal entry
/// describes, the sequence that publish ends at.
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
) -> u64 {
    // SAFETY: the caller's promise, for the window at 0.
    unsafe { read_window(area, payload, 0, out, len, layout) }
}

/// [`read`] of the `len` bytes at `at` in the payload only, as consistent
/// as a whole copy: they are the bytes at `at` of a state some complete
/// update left.
///
/// # Safety
///
/// As [`read`], and `at` is a multiple of 8 with `at + len` inside the
/// payload.
#[inline(always)]
pub(crate) unsafe fn read_window<'a>(
    area: &'a SyncArea,
    payload: *const u8,
    at: usize,
    out: *mut u8,
    len: usize,
    layout: impl Fn() -> PayloadLayout<'a>,
) -> u64 {
    let mut spins = 0;
    loop {
        let before = area.seq.load(Acquire);
        if before & 1 == 0 {
            // SAFETY: `payload + at` is 8-aligned and valid for `len`
            // bytes, only accessed atomically (the caller's promise).
            unsafe { atomic_copy::load(payload.add(at), out, len) };
            fence(Acquire);
            if area.seq.load(Relaxed) == before {
                return before;
            }
        } else if spins < SPINS {
            spins += 1;
            spin_loop();
        } else {
            // The cold path hands back its own buffer rather than writing
            // to `out`: a pointer passed to an outlined call would force
            // the caller's `T` into memory and cost a copy on every read.
            if let Some((committed, seq)) = layout().read_stuck() {
                // SAFETY: `out` is valid for `len` bytes (the caller's
                // promise); `committed` holds the whole payload, of which
                // `at..at + len` is a part.
                unsafe { std::ptr::copy_nonoverlapping(committed[at..].as_ptr(), out, len) };
                return seq;
            }
            spins = 0;
        }
    }
}

impl PayloadLayout<'_> {
    /// A publish has been in progress for a while: give its (live, maybe
    /// descheduled) writer a liveness period to finish. If it has not, and
    /// this handle may write and the lock's owner is dead, recover the
    /// publish and return `None` (the caller reads again). Otherwise return
    /// the state the committed journal entry describes.
    #[cold]
    #[inline(never)]
    fn read_stuck(&self) -> Option<(Vec<u8>, u64)> {
        let until = Instant::now() + lock::LIVENESS_PERIOD;
        let mut out = vec![0u8; self.size];
        loop {
            if self.area.seq.load(Relaxed) & 1 == 0 {
                return None;
            }
            if Instant::now() >= until {
                if self.writable {
                    if let Some(guard) = lock::try_lock_if_abandoned(self.area, self.object) {
                        self.recover(&guard);
                        return None;
                    }
                }
                if let Some(seq) = self.read_committed(&mut out) {
                    return Some((out, seq));
                }
            }
            time::sleep(Duration::from_micros(50));
        }
    }

    /// Reads, without writing anything, the state a stuck publish will
    /// leave: the payload with the scalars its journal entry changes taken
    /// from the entry's new copy, and the sequence that state is at. `None`
    /// if the sequence or the entry moved while reading (the caller tries
    /// again).
    ///
    /// The entry cannot change under a stable odd `seq`: a writer rewrites
    /// the journal only for its own publish, after `seq` went even, and
    /// passes a `Release` fence before it does (`publish`), which pairs with
    /// the `Acquire` fence here: had any journal byte read here come from a
    /// later publish, the second load of `seq` would see it moved.
    ///
    /// Nor can an entry be missed: `journal_target` goes back to 0 at every
    /// retire, so its two loads agreeing proves nothing alone, but the odd
    /// `seq` is stored `Release` after the commit (`apply`), so the first
    /// load of `journal_target` sees this publish's commit or a later store,
    /// and a later store, loaded `Acquire`, brings `seq`'s move past this
    /// publish, which the second load of `seq` sees.
    ///
    /// `out` holds `self.size` bytes.
    fn read_committed(&self, out: &mut [u8]) -> Option<u64> {
        let seq = self.area.seq.load(Acquire);
        let target = self.area.journal_target.load(Acquire);
        let committed = seq & 1 == 1 && target == seq.wrapping_add(1);
        let size = self.size.min(out.len());
        // SAFETY: the payload is `size` bytes, 64-aligned, only accessed
        // atomically, and `out` holds `size` bytes; the journal is this
        // payload's, and its entry is complete: `journal_target` was
        // stored (`Release`) after it and loaded (`Acquire`) above.
        let entry = unsafe {
            atomic_copy::load(self.payload, out.as_mut_ptr(), size);
            if committed {
                journal::read(self.journal, size)
            } else {
                None
            }
        };
        fence(Acquire);
        if self.area.seq.load(Relaxed) != seq || self.area.journal_target.load(Relaxed) != target {
            return None;
        }
        // Without a committed entry (or with a damaged one) an odd sequence
        // is damage (see `recover`): the payload as it is, is what recovery
        // leaves.
        if let Some(entry) = &entry {
            match entry.stores() {
                Stores::Ranges { ranges, new } => runs::overlay_ranges(out, self.runs, ranges, new),
                Stores::Copies { old, new } => runs::overlay_changed(out, self.runs, old, new),
            }
        }
        // The state the publish leaves, at the sequence it ends at (what
        // recovery stores, with or without an entry).
        Some(seq.wrapping_add(1))
    }

    /// Publishes `stores` (which change something: see
    /// `publish_unchanged`), all or nothing. Its `Copies` form's `old` is
    /// the value read under this same lock hold.
    #[inline(always)]
    pub(crate) fn publish(&self, _guard: &LockGuard<'_>, stores: &Stores<'_>) {
        let seq = self.area.seq.load(Relaxed);
        // Pairs with the `Acquire` fence of `read_committed`: a reader that
        // sees any byte of this entry sees `seq` past the publish it was
        // reading.
        fence(Release);
        // SAFETY: the journal is this payload's, 64-aligned, only accessed
        // atomically, and nobody else writes it: we hold the lock.
        unsafe { journal::write(self.journal, stores) };
        crate::fault::pause_point("journal-written");
        self.area.journal_target.store(seq.wrapping_add(2), Release);
        crate::fault::pause_point("journal-committed");
        self.apply(seq.wrapping_add(2), || self.store(stores));
        self.area.journal_target.store(0, Release);
        crate::fault::pause_point("published");
    }

    /// Stores into the payload what `stores` says: the ranges' bytes, or
    /// every scalar that differs between the copies, each with one atomic
    /// store of its width.
    fn store(&self, stores: &Stores<'_>) {
        // SAFETY: `payload` is valid for `size` bytes, aligned for the
        // struct the runs describe, and only accessed atomically. The
        // ranges are made of whole scalars of that struct (a publish's
        // come from its runs; `journal::read` checks a recorded entry's
        // against the size), and both functions clamp every access to the
        // lengths of the copies they are given.
        unsafe {
            match *stores {
                Stores::Ranges { ranges, new } => {
                    runs::store_ranges(self.payload, self.runs, ranges, new)
                }
                Stores::Copies { old, new } => {
                    runs::store_changed(self.payload, self.runs, old, new);
                }
            }
        }
    }

    /// Steps 3 and 4: the odd sequence, the stores, the even sequence.
    #[inline(always)]
    fn apply(&self, target: u64, store: impl FnOnce()) {
        // Release, not Relaxed: a reader that loads this odd value sees the
        // commit before it (`read_committed`).
        self.area.seq.store(target.wrapping_sub(1), Release);
        fence(Release);
        crate::fault::pause_point("seq-odd");
        store();
        crate::fault::pause_point("half-applied");
        self.area.seq.store(target, Release);
        crate::fault::pause_point("seq-even");
    }

    /// Completes or discards whatever a dead lock holder left, and wakes
    /// the version's waiters if the holder may have moved the version
    /// without waking them. Returns whether anything changed.
    #[cold]
    #[inline(never)]
    pub(crate) fn recover(&self, guard: &LockGuard<'_>) -> bool {
        let target = self.area.journal_target.load(Acquire);
        let seq = self.area.seq.load(Relaxed);
        let pending = target != 0
            && target & 1 == 0
            && (seq == target.wrapping_sub(2) || seq == target.wrapping_sub(1));
        // SAFETY: the journal is this payload's; the lock is ours.
        let entry = pending.then(|| unsafe { journal::read(self.journal, self.size) });
        if let Some(entry) = entry {
            // A damaged entry (`None`): nothing can be replayed; readers
            // proceed over the payload as it is.
            self.apply(target, || {
                if let Some(entry) = &entry {
                    self.store(&entry.stores());
                }
            });
        } else if seq & 1 == 1 {
            // Odd without a committed entry: not a state this protocol
            // leaves (seq turns odd only after the commit), so the words
            // were damaged. Make readers proceed over the payload as it is.
            self.area.seq.store(seq.wrapping_add(1), Release);
        } else if target == 0 {
            if guard.inherited {
                // The dead holder may have died between its last `seq`
                // store and its wake-up call: wake the waiters it owed.
                fence(SeqCst);
                change::wake_waiters(self.area);
            }
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
