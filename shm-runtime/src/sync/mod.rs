//! Whole-struct consistency: the sync area of a region and the protocols on
//! it. See `docs/design.md` for the argument that each
//! guarantee holds.
//!
//! - [`owner`]: lock owner identities that can be checked for liveness.
//! - [`object`]: the object a handle holds open, and the kernel's record of
//!   which processes hold it open.
//! - [`fork`]: telling a forked child from its parent without a system call.
//! - [`handles`]: this process's live handles, which a forked child gives
//!   entries of its own in the record.
//! - [`lock`]: the robust writer lock.
//! - [`seqlock`]: lock-free consistent reads, journaled all-or-nothing
//!   publication, and recovery after a writer died.
//! - [`change`]: the version counter and futex waiting.
//! - [`atomic_copy`], [`runs`]: moving bytes in and out of shared memory
//!   through atomics only.

pub(crate) mod atomic_copy;
pub(crate) mod atomics;
pub(crate) mod change;
pub(crate) mod fork;
#[cfg(not(loom))]
pub(crate) mod handles;
pub(crate) mod journal;
pub(crate) mod lock;
#[cfg(all(loom, test))]
mod loom_tests;
#[cfg(loom)]
pub(crate) mod model;
pub(crate) mod object;
pub(crate) mod owner;
pub(crate) mod runs;
pub(crate) mod seqlock;
pub(crate) mod time;

use atomics::{AtomicU32, AtomicU64};

/// The longest a lock waiter sleeps before it checks on the owner again,
/// and how long a reader gives a publish before it looks at the writer.
/// Here, not in `lock`, so that the model (`model.rs`), which `lock` uses
/// under loom, needs nothing back from `lock`.
pub(crate) const LIVENESS_PERIOD: std::time::Duration = std::time::Duration::from_millis(5);

/// A word of padding between the groups: an atomic like its neighbours
/// (all-zero bytes are a valid one); under loom a plain word, never touched,
/// that need not be an object of the model.
#[cfg(not(loom))]
type Pad = AtomicU64;
#[cfg(loom)]
type Pad = u64;

/// The mutable words of a region, at [`SYNC_OFFSET`] in its first page. All
/// zero in a new region: sequence 0 (even, stable), no journal entry,
/// no notifications (version 0), unlocked. Each group sits on its own cache line so that
/// readers polling one do not share a line with writers of another.
#[repr(C, align(64))]
pub(crate) struct SyncArea {
    /// Seqlock sequence: odd while an update is being applied.
    pub seq: AtomicU64,
    /// The sequence value a committed, not yet retired, journal entry
    /// publishes; 0 when the journal is idle.
    pub journal_target: AtomicU64,
    _line0: [Pad; 6],
    /// How many times `notify` was called. The region's version is
    /// `seq / 2 + notifies`: it moves on every update, store and notify.
    pub notifies: AtomicU64,
    /// Futex word bumped when the version moves and someone waits.
    pub change_futex: AtomicU32,
    /// How many processes are (about to be) asleep on `change_futex`.
    pub change_waiters: AtomicU32,
    _line1: [Pad; 6],
    /// Writer lock: 0, or the owner's token (see [`owner`]) with bit 63
    /// set when another process waits.
    pub lock: AtomicU64,
    /// Futex word bumped on a contended unlock.
    pub lock_futex: AtomicU32,
    _lock_pad: AtomicU32,
    /// The holder's record, written right after each acquisition: which
    /// thread of which process holds the lock (0 once it lets go), and the
    /// tag of the object it locked ([`owner::ObjectId::tag`]). They let a
    /// thread see that it already holds the lock it asks for (`lock`).
    pub lock_thread: AtomicU64,
    pub lock_object: AtomicU64,
    _line2: [Pad; 4],
}

/// Where the sync area starts in a region: right after the header.
pub(crate) const SYNC_OFFSET: usize = crate::header::HEADER_LEN;

#[cfg(not(loom))]
const _: () = {
    assert!(size_of::<SyncArea>() == 192);
    assert!(std::mem::offset_of!(SyncArea, lock) == 128);
    assert!(std::mem::offset_of!(SyncArea, lock_futex) == 136);
    assert!(std::mem::offset_of!(SyncArea, lock_thread) == 144);
    assert!(SYNC_OFFSET % align_of::<SyncArea>() == 0);
    assert!(SYNC_OFFSET + size_of::<SyncArea>() <= 4096);
};

#[cfg(all(loom, test))]
impl SyncArea {
    /// A new region's sync area, made of the model's atomics.
    pub(crate) fn new() -> SyncArea {
        SyncArea {
            seq: AtomicU64::new(0),
            journal_target: AtomicU64::new(0),
            _line0: [0; 6],
            notifies: AtomicU64::new(0),
            change_futex: AtomicU32::new(0),
            change_waiters: AtomicU32::new(0),
            _line1: [0; 6],
            lock: AtomicU64::new(0),
            lock_futex: AtomicU32::new(0),
            _lock_pad: AtomicU32::new(0),
            lock_thread: AtomicU64::new(0),
            lock_object: AtomicU64::new(0),
            _line2: [0; 4],
        }
    }
}
