//! Whole-struct consistency: the sync area of a region and the protocols on
//! it. See `DESIGN.md` at the repository root for the argument that each
//! guarantee holds.
//!
//! - [`owner`]: lock owner identities that can be checked for liveness.
//! - [`lock`]: the robust writer lock.
//! - [`seqlock`]: lock-free consistent reads, journaled all-or-nothing
//!   publication, and recovery after a writer died.
//! - [`change`]: the version counter and futex waiting.
//! - [`atomic_copy`], [`runs`]: moving bytes in and out of shared memory
//!   through atomics only.

pub(crate) mod atomic_copy;
pub(crate) mod change;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod owner;
pub(crate) mod runs;
pub(crate) mod seqlock;

use std::sync::atomic::{AtomicU32, AtomicU64};

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
    _line0: [AtomicU64; 6],
    /// How many times `notify` was called. The region's version is
    /// `seq / 2 + notifies`: it moves on every update, store and notify.
    pub notifies: AtomicU64,
    /// Futex word bumped when the version moves and someone waits.
    pub change_futex: AtomicU32,
    /// How many processes are (about to be) asleep on `change_futex`.
    pub change_waiters: AtomicU32,
    _line1: [AtomicU64; 6],
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
    _line2: [AtomicU64; 4],
}

/// Where the sync area starts in a region: right after the header.
pub(crate) const SYNC_OFFSET: usize = crate::header::HEADER_LEN;

const _: () = {
    assert!(size_of::<SyncArea>() == 192);
    assert!(std::mem::offset_of!(SyncArea, lock) == 128);
    assert!(std::mem::offset_of!(SyncArea, lock_futex) == 136);
    assert!(std::mem::offset_of!(SyncArea, lock_thread) == 144);
    assert!(SYNC_OFFSET % align_of::<SyncArea>() == 0);
    assert!(SYNC_OFFSET + size_of::<SyncArea>() <= 4096);
};
