//! [`Shared<T>`]: an open region, its fields and its whole-struct operations.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::error::{Error, Location, Result};
use crate::header::{journal_copy_len, journal_len};
use crate::region::Region;
use crate::sync::atomic_copy;
use crate::sync::runs::{self, Run};
use crate::sync::seqlock::{self, PayloadLayout};
use crate::sync::{change, lock, SyncArea, SYNC_OFFSET};
use crate::traits::{as_bytes, SharedState};

/// An open region holding a `T`.
///
/// It dereferences to `T`'s view, whose fields are atomic cells in shared
/// memory (`foo.bar.get()`, `foo.bar.set(1)`), and it offers whole-struct
/// operations: [`snapshot`](Self::snapshot), [`update`](Self::update),
/// [`store`](Self::store), and change notification.
///
/// Dropping it unmaps the region; the region itself stays (a file until it
/// is deleted, a shm object until [`remove_shm`](crate::remove_shm) or
/// reboot).
pub struct Shared<T: SharedState> {
    view: NonNull<T::View>,
    sync: NonNull<SyncArea>,
    journal: NonNull<u8>,
    runs: Box<[Run]>,
    region: Region,
    _type: PhantomData<T>,
}

// SAFETY: `Shared` owns its mapping. Through `&Shared<T>` one only reaches
// the view (`Sync`: atomics only, per the `SharedField` contract), the sync
// area (atomics only) and the journal (accessed through atomics only), so
// it may be shared and sent across threads.
unsafe impl<T: SharedState> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: SharedState> Sync for Shared<T> {}

impl<T: SharedState> Shared<T> {
    pub(crate) fn new(region: Region) -> Result<Self> {
        let g = &region.geometry;
        let map_len = region.map.len() as u64;
        let size = size_of::<T>() as u64;
        let journal_end = g
            .journal_offset
            .checked_add(journal_len(size_of::<T>()) as u64);
        // Checked by `Header::decode` for a published region and true by
        // construction for one this call made; checked again here because
        // the pointers below rely on it.
        let fits = g.payload_size == size
            && g.payload_offset % 64 == 0
            && g.payload_offset % align_of::<T>() as u64 == 0
            && g.payload_offset + size <= map_len
            && g.journal_offset % 64 == 0
            && journal_end.is_some_and(|end| end <= map_len)
            && (SYNC_OFFSET + size_of::<SyncArea>()) as u64 <= g.payload_offset;
        if !fits {
            return Err(Error::NotSharedState {
                location: region.location.clone(),
                reason: format!(
                    "payload at {} ({} bytes) or journal at {} does not fit the {map_len}-byte mapping",
                    g.payload_offset, g.payload_size, g.journal_offset
                ),
            });
        }
        let base = region.map.as_mut_ptr();
        let at = |offset: u64| {
            // SAFETY: every offset used below is inside the mapping (checked
            // above), so the pointer stays in bounds.
            NonNull::new(unsafe { base.add(offset as usize) })
        };
        let (Some(view), Some(sync), Some(journal)) = (
            at(g.payload_offset),
            at(SYNC_OFFSET as u64),
            at(g.journal_offset),
        ) else {
            return Err(Error::NotSharedState {
                location: region.location.clone(),
                reason: "mapped at address 0".to_owned(),
            });
        };
        Ok(Shared {
            view: view.cast(),
            sync: sync.cast(),
            journal,
            runs: runs::runs(T::TYPE).into_boxed_slice(),
            region,
            _type: PhantomData,
        })
    }

    /// Where this region lives.
    pub fn location(&self) -> &Location {
        &self.region.location
    }

    fn sync(&self) -> &SyncArea {
        // SAFETY: the sync area lies at SYNC_OFFSET of the mapping, which is
        // page-aligned and lives as long as `self`; the offset is a multiple
        // of its 64-byte alignment (asserted in `sync`). It holds only
        // atomics, valid for every bit pattern.
        unsafe { self.sync.as_ref() }
    }

    fn payload_layout(&self) -> PayloadLayout<'_> {
        let journal = self.journal.as_ptr().cast_const();
        PayloadLayout {
            area: self.sync(),
            object: &self.region.object,
            payload: self.view.as_ptr().cast::<u8>().cast_const(),
            journal_old: journal,
            // SAFETY: the journal holds two copies of `journal_copy_len`
            // bytes (checked in `new`), so this stays inside it.
            journal_new: unsafe { journal.add(journal_copy_len(size_of::<T>())) },
            size: size_of::<T>(),
            runs: &self.runs,
        }
    }

    /// A consistent copy of the whole struct: equal to the state after some
    /// complete [`update`](Self::update), with field-level writes applied
    /// individually. Takes no lock and never blocks a writer; if it finds a
    /// publish left half-done by a dead writer, it completes it.
    #[inline]
    pub fn snapshot(&self) -> T {
        let mut value = MaybeUninit::<T>::uninit();
        self.snapshot_to(value.as_mut_ptr());
        // SAFETY: `snapshot_to` wrote all `size_of::<T>()` bytes, and every
        // bit pattern is a valid `T` (the `SharedField` contract).
        unsafe { value.assume_init() }
    }

    /// Like [`snapshot`](Self::snapshot), into an existing value: saves the
    /// copy out of the return value for large structs.
    #[inline]
    pub fn snapshot_into(&self, out: &mut T) {
        self.snapshot_to(out);
    }

    #[inline(always)]
    fn snapshot_to(&self, out: *mut T) {
        // SAFETY: the payload is valid for `size_of::<T>()` bytes, 64-aligned
        // (checked in `new`) and only accessed atomically; `out` is valid for
        // writes of a `T`.
        unsafe {
            seqlock::read(
                self.sync(),
                self.view.as_ptr().cast::<u8>(),
                out.cast::<u8>(),
                size_of::<T>(),
                || self.payload_layout(),
            )
        };
    }

    /// Runs `f` on a private copy of the struct and publishes the result,
    /// all or nothing, and returns what `f` returned.
    ///
    /// Updates from all processes are serialised by a robust writer lock (a
    /// lock whose holder died is taken over and its half-done work
    /// completed or discarded). Only the fields `f` changed are written
    /// back, so a concurrent `fetch_add` on a field `f` left alone is never
    /// lost. A process killed at any instant inside `update` leaves the
    /// region as it was before or after the update.
    ///
    /// If `f` panics, nothing is published and the lock is released.
    ///
    /// # Panics
    ///
    /// If called (as `update` or `store`) from inside `f` on the same
    /// region: the lock is this thread's already, so waiting for it would
    /// never end.
    #[inline]
    #[track_caller]
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let area = self.sync();
        let guard = lock::lock(area, &self.region.object);
        if guard.inherited || area.journal_target.load(Ordering::Relaxed) != 0 {
            self.payload_layout().recover(&guard);
        }
        let mut old = MaybeUninit::<T>::uninit();
        // SAFETY: we hold the lock, so no publish overlaps this copy (field
        // writes may, each one atomic); the payload is valid, 64-aligned and
        // only accessed atomically; every bit pattern is a valid `T`.
        let old = unsafe {
            atomic_copy::load(
                self.view.as_ptr().cast::<u8>(),
                old.as_mut_ptr().cast::<u8>(),
                size_of::<T>(),
            );
            old.assume_init()
        };
        let mut new = old;
        let result = f(&mut new);
        let (old, new) = (as_bytes(&old), as_bytes(&new));
        let layout = self.payload_layout();
        if old != new {
            layout.publish(&guard, old, new);
        } else {
            layout.publish_unchanged(&guard);
        }
        // The unlock's SeqCst swap orders the version move before the check
        // for waiters; waking after the unlock means a woken waiter on this
        // CPU does not find the lock still held.
        drop(guard);
        change::wake_waiters(area);
        result
    }

    /// Replaces the whole struct: `update(|f| *f = value)`.
    ///
    /// # Panics
    ///
    /// If called from inside an [`update`](Self::update) closure on the
    /// same region.
    #[track_caller]
    pub fn store(&self, value: T) {
        self.update(|current| *current = value);
    }

    /// The region's version: it moves on every `update`, `store` and
    /// `notify`, in any process. Field-level writes do not move it.
    pub fn version(&self) -> u64 {
        change::current(self.sync())
    }

    /// Moves the version and wakes every process in
    /// [`wait_for_change`](Self::wait_for_change): for announcing
    /// field-level writes. Returns the new version.
    pub fn notify(&self) -> u64 {
        change::notify(self.sync())
    }

    /// Sleeps (on a futex, no spinning) until the version differs from
    /// `seen`, and returns the new version. The change that moved it is
    /// visible to this process when this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the version is still `seen` after `timeout`.
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        change::wait(self.sync(), seen, timeout).ok_or_else(|| Error::Timeout {
            location: self.region.location.clone(),
            waited: timeout,
            waiting_for: "the region's version to change",
        })
    }

    /// Makes a file-backed region durable (`msync`); a no-op for POSIX shm,
    /// which has no storage to reach.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `msync` fails.
    pub fn flush(&self) -> Result<()> {
        match &self.region.location {
            Location::Shm(_) => Ok(()),
            Location::File(_) => self.region.map.flush().map_err(|source| Error::Io {
                location: self.region.location.clone(),
                operation: "msync",
                source,
            }),
        }
    }
}

impl<T: SharedState> Deref for Shared<T> {
    type Target = T::View;

    #[inline]
    fn deref(&self) -> &T::View {
        // SAFETY: `view` points at `size_of::<T>()` bytes inside the mapping,
        // aligned for `T` and so for `T::View` (same size and alignment, by
        // the `SharedField` contract), and the mapping lives as long as
        // `self`. `T::View` is made only of atomics and is valid for every
        // bit pattern, so a shared reference to it is sound while other
        // processes read and write the same bytes atomically.
        unsafe { self.view.as_ref() }
    }
}

impl<T: SharedState> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("type", &T::NAME)
            .field("location", &self.region.location)
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}
