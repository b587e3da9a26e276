//! The untyped core of every handle: a mapped region, its payload as bytes,
//! and the whole-struct protocols on it (consistent reads, journaled
//! updates, versions and waiting).
//!
//! [`Shared<T>`](crate::Shared) and [`ReadOnly<T>`](crate::ReadOnly) are
//! typed faces of this one implementation: they add a view of the fields and
//! move `T`s in and out, nothing else.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use std::time::Duration;

use crate::sync::time::Instant;

use crate::deadline::Deadline;
use crate::error::{Error, Location, Result};
use crate::header::journal_len;
use crate::mapping::Mapping;
use crate::os::{self, Access};
use crate::sync::atomics::{fence, Ordering};
use crate::sync::journal::Stores;
use crate::sync::lock::{self, LockGuard};
use crate::sync::runs::{self, Run};
use crate::sync::seqlock::{self, PayloadLayout};
use crate::sync::{change, SyncArea, SYNC_OFFSET};
use crate::traits::SharedState;

/// Payloads up to this size journal whole copies on every update; larger
/// ones journal only the ranges that changed (and a `store` compares in
/// place). Both forms are valid at any size: this is only where one costs
/// less. Under loom it is 8 bytes, so that the models' 8-byte `Pair` takes
/// the copies and their 12-byte `Triple` the ranges and the in-place
/// comparison (`sync/loom_tests.rs`).
pub(crate) const SMALL_PAYLOAD: usize = if cfg!(loom) { 8 } else { 256 };

/// Structs up to this size are snapshotted inline (the 16-byte row stays
/// a pair of loads in its caller's loop); larger ones out of line, built
/// in place ([`RawRegion::snapshot_outlined`]). Where between 16 bytes and
/// 4 KiB the two calls start to cost less than the second copy was not
/// measured: a few cache lines copy in a few nanoseconds, as the calls do.
const INLINE_SNAPSHOT: usize = 256;

/// How often a handle that cannot register as a waiter (a read-only one)
/// looks at the version again while it waits for a change.
const READ_ONLY_POLL: Duration = Duration::from_millis(1);

/// A mapped, validated region whose payload is `size` bytes.
pub(crate) struct RawRegion {
    payload: NonNull<u8>,
    sync: NonNull<SyncArea>,
    journal: NonNull<u8>,
    size: usize,
    runs: Box<[Run]>,
    mapping: Mapping,
}

// SAFETY: `RawRegion` owns its mapping. Through `&RawRegion` one only
// reaches the payload, the sync area and the journal, and all three are
// accessed through atomics only, so it may be shared and sent across
// threads.
unsafe impl Send for RawRegion {}
// SAFETY: as above.
unsafe impl Sync for RawRegion {}

impl RawRegion {
    /// Checks that a payload of `size` bytes aligned to `align`, and its
    /// journal, lie inside the mapping at properly aligned addresses.
    /// `runs` are the payload's scalars.
    pub(crate) fn new(
        mapping: Mapping,
        size: usize,
        align: usize,
        runs: Box<[Run]>,
    ) -> Result<Self> {
        let g = &mapping.geometry;
        let map_len = mapping.map.len() as u64;
        let base = mapping.map.as_mut_ptr();
        let journal_end = g.journal_offset.checked_add(journal_len(size) as u64);
        let payload_end = g.payload_offset.checked_add(size as u64);
        // Checked by `Header::decode` for a published region and true by
        // construction for one this process made; checked again here, on
        // the addresses, because the pointers below rely on it.
        let fits = g.payload_size == size as u64
            && payload_end.is_some_and(|end| end <= map_len)
            && journal_end.is_some_and(|end| end <= map_len)
            && (SYNC_OFFSET + size_of::<SyncArea>()) as u64 <= g.payload_offset
            && (base as usize)
                .checked_add(g.payload_offset as usize)
                .is_some_and(|at| at % align.max(64) == 0)
            && (base as usize + g.journal_offset as usize) % 64 == 0
            && (base as usize + SYNC_OFFSET) % align_of::<SyncArea>() == 0;
        if !fits {
            return Err(Error::NotSharedState {
                location: mapping.location.clone(),
                reason: format!(
                    "payload at {} ({} bytes, align {align}) or journal at {} does not fit the {map_len}-byte mapping at {base:p}",
                    g.payload_offset, g.payload_size, g.journal_offset
                ),
            });
        }
        let at = |offset: u64| {
            // SAFETY: every offset used below is inside the mapping (checked
            // above), so the pointer stays in bounds.
            NonNull::new(unsafe { base.add(offset as usize) })
        };
        let (Some(payload), Some(sync), Some(journal)) = (
            at(g.payload_offset),
            at(SYNC_OFFSET as u64),
            at(g.journal_offset),
        ) else {
            return Err(Error::NotSharedState {
                location: mapping.location.clone(),
                reason: "mapped at address 0".to_owned(),
            });
        };
        Ok(RawRegion {
            payload,
            sync: sync.cast(),
            journal,
            size,
            runs,
            mapping,
        })
    }

    pub(crate) fn location(&self) -> &Location {
        &self.mapping.location
    }

    /// Whether the call that opened this handle created the region.
    pub(crate) fn created(&self) -> bool {
        self.mapping.created
    }

    /// The payload: `size` bytes, aligned for the struct and to 64, only
    /// ever accessed atomically.
    #[inline(always)]
    pub(crate) fn payload(&self) -> NonNull<u8> {
        self.payload
    }

    #[inline(always)]
    pub(crate) fn sync(&self) -> &SyncArea {
        // SAFETY: the sync area lies at SYNC_OFFSET of the mapping, aligned
        // (checked in `new`), and lives as long as `self`. It holds only
        // atomics, valid for every bit pattern.
        unsafe { self.sync.as_ref() }
    }

    /// The payload's description for the protocols, with its size passed
    /// in: a typed caller passes `size_of::<T>()`, a constant the copy and
    /// compare loops unroll on (`self.size` holds the same value, unknown
    /// to the compiler).
    #[inline(always)]
    fn payload_layout(&self, size: usize) -> PayloadLayout<'_> {
        debug_assert_eq!(size, self.size);
        PayloadLayout {
            area: self.sync(),
            object: &self.mapping.object,
            payload: self.payload.as_ptr().cast_const(),
            journal: self.journal.as_ptr().cast_const(),
            size,
            runs: &self.runs,
            writable: self.is_writable(),
        }
    }

    /// Copies a consistent payload into `out`: the state after some
    /// complete update, with field-level writes applied individually.
    ///
    /// # Safety
    ///
    /// `size` is the payload's size (see `payload_layout`); `out` is valid
    /// for writes of `size` bytes.
    /// Returns the sequence of the state copied (see `seqlock::read`).
    #[inline(always)]
    pub(crate) unsafe fn read_into(&self, out: *mut u8, size: usize) -> u64 {
        // SAFETY: the payload is valid for `size` bytes, 64-aligned (checked
        // in `new`) and only accessed atomically; `out` is the caller's.
        unsafe {
            seqlock::read(self.sync(), self.payload.as_ptr(), out, size, || {
                self.payload_layout(size)
            })
        }
    }

    /// A consistent copy of the `out.len()` payload bytes at `offset`: the
    /// bytes there of a state some complete update left, read without
    /// copying the rest of the payload (only the 8-byte words that hold
    /// them). Returns the sequence of that state, as
    /// [`read_into`](Self::read_into) does.
    ///
    /// # Panics
    ///
    /// If the range is not inside the payload (a caller's bug: callers
    /// check it against the schema first).
    pub(crate) fn read_range(&self, offset: usize, out: &mut [u8]) -> u64 {
        let end = offset
            .checked_add(out.len())
            .filter(|&end| end <= self.size)
            .expect("a range inside the payload");
        // Whole words around the range, but never past the payload's end
        // (the copy's tail takes 4-, 2- and 1-byte loads).
        let start = offset & !7;
        let stop = end.next_multiple_of(8).min(self.size);
        let mut window = vec![0u8; stop - start];
        // SAFETY: `start` is a multiple of 8 and `start..stop` is inside
        // the payload, which is valid, 64-aligned and only accessed
        // atomically; `window` holds `stop - start` bytes.
        let seq = unsafe {
            seqlock::read_window(
                self.sync(),
                self.payload.as_ptr(),
                start,
                window.as_mut_ptr(),
                stop - start,
                || self.payload_layout(self.size),
            )
        };
        out.copy_from_slice(&window[offset - start..end - start]);
        seq
    }

    /// A consistent copy of the payload as a `T`, returned by value.
    ///
    /// # Safety
    ///
    /// `T` is the payload's type: this region was made with
    /// `size_of::<T>()` as its size.
    #[inline(always)]
    pub(crate) unsafe fn snapshot<T: SharedState>(&self) -> T {
        if size_of::<T>() > INLINE_SNAPSHOT {
            // SAFETY: the caller's promise.
            return unsafe { self.snapshot_outlined() };
        }
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: `value` is valid for writes of `size_of::<T>()` bytes, the
        // payload's size (the caller's promise).
        unsafe { self.read_into(value.as_mut_ptr().cast(), size_of::<T>()) };
        // SAFETY: `read_into` wrote all `size_of::<T>()` bytes, and every
        // bit pattern is a valid `T` (the `SharedField` contract).
        unsafe { value.assume_init() }
    }

    /// [`snapshot`](Self::snapshot) for a large `T`, built in the caller's
    /// return slot rather than copied there.
    ///
    /// Inline, the copy lands in a local, which is then copied again into
    /// the caller's `let v`: LLVM cannot copy straight into `v` once `v`'s
    /// address has escaped (a `black_box(&v)`, a call taking `&v`), since
    /// the copy could then be seen through it. Out of line, the destination
    /// is this function's own return slot (`sret`, `noalias`), which nothing
    /// else can reach while the copy runs, and `read_into_outlined` does not
    /// capture `value`'s address (see `atomic_copy::load_blocks`); so
    /// MemCpyOpt's call-slot optimization passes the return slot itself to
    /// `read_into_outlined` and drops the copy (this function is a tail
    /// call), and the caller passes its `v` as the return slot.
    ///
    /// # Safety
    ///
    /// As [`snapshot`](Self::snapshot).
    #[inline(never)]
    unsafe fn snapshot_outlined<T: SharedState>(&self) -> T {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: `value` is valid for writes of a `T`, the payload's size
        // (the caller's promise).
        unsafe { self.read_into_outlined(value.as_mut_ptr()) };
        // SAFETY: `read_into_outlined` wrote the whole `T`, and every bit
        // pattern is a valid `T` (the `SharedField` contract).
        unsafe { value.assume_init() }
    }

    /// [`read_into`](Self::read_into) a `T`, out of line, for
    /// [`snapshot_outlined`](Self::snapshot_outlined): a separate function
    /// (its `out` inferred `nocapture`: it is only written through, never
    /// stored or handed to assembly) is what the call-slot optimization
    /// needs.
    ///
    /// # Safety
    ///
    /// As [`snapshot`](Self::snapshot); `out` is valid for writes of a `T`.
    #[inline(never)]
    unsafe fn read_into_outlined<T: SharedState>(&self, out: *mut T) {
        // SAFETY: `out` is valid for writes of `size_of::<T>()` bytes, the
        // payload's size (the caller's promise).
        unsafe { self.read_into(out.cast(), size_of::<T>()) };
    }

    /// A consistent copy of the payload into `out`.
    ///
    /// # Safety
    ///
    /// As [`snapshot`](Self::snapshot).
    #[inline(always)]
    pub(crate) unsafe fn snapshot_into<T: SharedState>(&self, out: &mut T) {
        // SAFETY: `out` is valid for writes of a `T`, the payload's size
        // (the caller's promise); every bit pattern is a valid `T`.
        unsafe { self.read_into((out as *mut T).cast(), size_of::<T>()) };
    }

    /// A consistent copy of the payload in a new heap allocation, never on
    /// the stack.
    ///
    /// # Safety
    ///
    /// As [`snapshot`](Self::snapshot).
    pub(crate) unsafe fn snapshot_boxed<T: SharedState>(&self) -> Box<T> {
        let mut boxed = Box::<T>::new_uninit();
        // SAFETY: the allocation is valid for writes of a `T`, the payload's
        // size (the caller's promise).
        unsafe { self.read_into(boxed.as_mut_ptr().cast(), size_of::<T>()) };
        // SAFETY: fully written above; every bit pattern is a valid `T`.
        unsafe { boxed.assume_init() }
    }

    /// Takes the writer lock, first completing whatever a dead holder left.
    /// Only for handles that may write.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn lock(&self) -> LockGuard<'_> {
        debug_assert_eq!(self.mapping.access, Access::ReadWrite);
        let guard = lock::lock(self.sync(), &self.mapping.object);
        self.recover_if_needed(&guard);
        guard
    }

    /// [`lock`](Self::lock), giving up at `deadline` (`None`: a live
    /// process held the lock all along).
    #[track_caller]
    pub(crate) fn lock_until(&self, deadline: Instant) -> Option<LockGuard<'_>> {
        debug_assert_eq!(self.mapping.access, Access::ReadWrite);
        let guard = lock::lock_until(self.sync(), &self.mapping.object, deadline)?;
        self.recover_if_needed(&guard);
        Some(guard)
    }

    /// Completes whatever a dead holder of the lock just taken left.
    #[inline(always)]
    fn recover_if_needed(&self, guard: &LockGuard<'_>) {
        if guard.inherited || self.sync().journal_target.load(Ordering::Relaxed) != 0 {
            self.payload_layout(self.size).recover(guard);
        }
    }

    /// Copies the payload into `out` while holding the lock: no publish can
    /// overlap, so this is consistent without the sequence check.
    ///
    /// # Safety
    ///
    /// `size` is the payload's size; `out` is valid for writes of `size`
    /// bytes.
    #[inline(always)]
    pub(crate) unsafe fn read_locked(&self, _guard: &LockGuard<'_>, out: *mut u8, size: usize) {
        debug_assert_eq!(size, self.size);
        // SAFETY: the payload is valid, 64-aligned, only accessed
        // atomically; `out` is the caller's.
        unsafe { crate::sync::atomic_copy::load(self.payload.as_ptr(), out, size) };
    }

    /// Publishes `new` over `old` (both the payload's size, `old` read
    /// under this same lock hold), all or nothing, unlocks, and wakes the
    /// version's waiters.
    ///
    /// # Errors
    ///
    /// [`Error::ForkedUpdate`] for a guard taken before this process was
    /// forked from the one that took it: nothing is published, and the
    /// lock is left to its holder.
    #[inline(always)]
    pub(crate) fn publish_and_unlock(
        &self,
        guard: LockGuard<'_>,
        old: &[u8],
        new: &[u8],
    ) -> Result<()> {
        debug_assert!(old.len() == self.size && new.len() == self.size);
        if !guard.is_from_this_process() {
            return Err(self.forked_update(&guard));
        }
        let layout = self.payload_layout(old.len());
        if old.len() <= SMALL_PAYLOAD {
            // Whole copies cost less than finding ranges in a few cache
            // lines (and the comparison is inline at a constant size).
            if old == new {
                layout.publish_unchanged(&guard);
            } else {
                layout.publish(&guard, &Stores::Copies { old, new });
            }
        } else {
            let changes = runs::diff(&self.runs, old, new);
            if changes.is_empty() {
                layout.publish_unchanged(&guard);
            } else {
                layout.publish(&guard, &Stores::of(&changes, old, new));
            }
        }
        self.unlock_and_wake(guard);
        Ok(())
    }

    /// The error for an update a forked child tried to finish. The guard
    /// is dropped by the caller, which does nothing for such a guard.
    #[cold]
    #[inline(never)]
    fn forked_update(&self, guard: &LockGuard<'_>) -> Error {
        Error::ForkedUpdate {
            location: self.location().clone(),
            began_in: guard.taken_by(),
            this_process: std::process::id(),
        }
    }

    /// Publishes `new` as the whole payload, all or nothing, comparing it
    /// with the payload in place rather than with a copy of it, unlocks, and
    /// wakes the version's waiters. Gives the lock back, having written
    /// nothing, when the payload is small (a copy costs less) or `new`
    /// differs in more places than a journal of ranges holds: the caller
    /// then copies the payload and calls
    /// [`publish_and_unlock`](Self::publish_and_unlock).
    #[inline(always)]
    pub(crate) fn store_and_unlock<'a>(
        &'a self,
        guard: LockGuard<'a>,
        new: &[u8],
    ) -> Result<(), LockGuard<'a>> {
        // A real check: the comparison below reads `new.len()` shared bytes.
        assert_eq!(new.len(), self.size, "a store of another size");
        // A forked child's guard goes on to `publish_and_unlock`, which
        // refuses it.
        if new.len() <= SMALL_PAYLOAD || !guard.is_from_this_process() {
            return Err(guard);
        }
        // SAFETY: the payload is valid for `size` bytes, 64-aligned and only
        // accessed atomically; `new` is `size` bytes.
        let changes = unsafe { runs::diff_shared(&self.runs, self.payload.as_ptr(), new) };
        let layout = self.payload_layout(new.len());
        if changes.is_empty() {
            layout.publish_unchanged(&guard);
        } else {
            let Some(stores) = Stores::ranges(&changes, new) else {
                return Err(guard);
            };
            layout.publish(&guard, &stores);
        }
        self.unlock_and_wake(guard);
        Ok(())
    }

    /// Unlocks, then wakes the version's waiters. The caller checked that
    /// the guard is this process's (`LockGuard::is_from_this_process`).
    #[inline(always)]
    fn unlock_and_wake(&self, guard: LockGuard<'_>) {
        // Waking after the unlock means a woken waiter on this CPU does not
        // find the lock still held.
        guard.unlock_checked();
        // Orders the version move (the `Release` store of `seq`) before the
        // load of the waiter count: with the waiters' `SeqCst` registration
        // and re-check, either this sees a waiter or the waiter sees the new
        // version (see `sync::change`). The unlock's read-modify-write is a
        // full barrier on x86_64, but not in the language's model, which
        // only a fence satisfies.
        fence(Ordering::SeqCst);
        change::wake_waiters(self.sync());
    }

    /// The payload's scalars as runs of equal widths, in offset order.
    pub(crate) fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Whether the mapping may be written (not a read-only handle).
    pub(crate) fn is_writable(&self) -> bool {
        self.mapping.access == Access::ReadWrite
    }

    /// The mapped object as this handle holds it: its identity, which
    /// names its lock's holders, and its entry in the record of who holds
    /// it open.
    pub(crate) fn object(&self) -> &crate::sync::object::Object {
        &self.mapping.object
    }

    /// Whether `seq` is odd: a publish is under way, or was left half done.
    pub(crate) fn publish_in_progress(&self) -> bool {
        self.sync().seq.load(Ordering::Acquire) & 1 == 1
    }

    /// Takes the lock (completing whatever a dead holder left) and releases
    /// it. Returns whether there was anything to complete.
    pub(crate) fn recover(&self) -> bool {
        let area = self.sync();
        let guard = lock::lock(area, &self.mapping.object);
        let needed = guard.inherited
            || area.journal_target.load(Ordering::Relaxed) != 0
            || area.seq.load(Ordering::Relaxed) & 1 == 1;
        if needed {
            self.payload_layout(self.size).recover(&guard);
        }
        needed
    }

    /// The version of the state at (even) sequence `seq`, as
    /// [`read_into`](Self::read_into) returns it.
    pub(crate) fn version_at(&self, seq: u64) -> u64 {
        change::version_at(self.sync(), seq)
    }

    pub(crate) fn version(&self) -> u64 {
        change::current(self.sync())
    }

    pub(crate) fn notify(&self) -> u64 {
        change::notify(self.sync())
    }

    /// Waits until the version differs from `seen`. A read-only handle
    /// cannot register as a waiter (that is a write), so it sleeps on the
    /// futex in steps of [`READ_ONLY_POLL`] and looks again after each.
    pub(crate) fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        let area = self.sync();
        let changed = match self.mapping.access {
            Access::ReadWrite => change::wait(area, seen, timeout),
            Access::ReadOnly => {
                let deadline = Deadline::after(timeout);
                if let Some(version) = change::spin_until_changed(area, seen, timeout) {
                    return Ok(version);
                }
                loop {
                    let version = change::current(area);
                    if version != seen {
                        break Some(version);
                    }
                    let Some(left) = deadline.remaining() else {
                        break None;
                    };
                    let futex = area.change_futex.load(Ordering::Acquire);
                    if change::current(area) == seen {
                        os::futex_wait(&area.change_futex, futex, left.min(READ_ONLY_POLL));
                    }
                }
            }
        };
        changed.ok_or_else(|| Error::Timeout {
            location: self.location().clone(),
            waited: timeout,
            waiting_for: "the region's version to change",
        })
    }

    /// `msync` for a file-backed region; nothing for POSIX shm.
    pub(crate) fn flush(&self) -> Result<()> {
        match &self.mapping.location {
            Location::Shm(_) => Ok(()),
            Location::File(_) => self.mapping.map.flush().map_err(|source| Error::Io {
                location: self.location().clone(),
                operation: "msync",
                source,
            }),
        }
    }
}
