//! [`Shared<T>`]: an open region, its fields and its whole-struct operations.

use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Deref;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

use crate::error::{Location, Result};
use crate::mapping::Mapping;
use crate::raw::RawRegion;
use crate::sync::lock::LockGuard;
use crate::sync::runs;
use crate::traits::{as_bytes, SharedState};

/// Structs up to this size get `update`'s two private copies on the stack;
/// larger ones on the heap, where an allocation costs little beside copying
/// the struct, and a thread's stack is not at risk.
const UPDATE_ON_STACK_MAX: usize = 16 * 1024;

/// An open region holding a `T`.
///
/// It dereferences to `T`'s view, whose fields are atomic cells in shared
/// memory (`foo.bar.get()`, `foo.bar.set(1)`), and it offers whole-struct
/// operations: [`snapshot`](Self::snapshot), [`update`](Self::update),
/// [`store`](Self::store), and change notification.
///
/// # Large structs
///
/// [`snapshot`](Self::snapshot) and [`store`](Self::store) move one `T`
/// through the caller's stack, as their signatures say; for a struct too
/// large for that use [`snapshot_boxed`](Self::snapshot_boxed),
/// [`snapshot_into`](Self::snapshot_into) and
/// [`store_from`](Self::store_from), which need no `T`-sized stack.
/// [`update`](Self::update) keeps its private copies on the heap above
/// 16 KiB, and opening never needs one (see
/// [`OpenOptions::initial_boxed`](crate::OpenOptions::initial_boxed)).
///
/// Dropping it unmaps the region; the region itself stays (a file until it
/// is deleted, a shm object until [`remove_shm`](crate::remove_shm) or
/// reboot).
pub struct Shared<T: SharedState> {
    raw: RawRegion,
    /// Boxed, so that `Shared` itself holds no interior mutability: a
    /// `&Shared` is then immutable to the compiler, which keeps the
    /// payload's address in a register across a loop of snapshots instead
    /// of loading it again after every opaque call (a cycle of a 16-byte
    /// snapshot's three).
    scratch: Box<Scratch<T>>,
    _type: PhantomData<T>,
}

/// The heap buffer of two `T`s that an update of a large struct works in,
/// kept between updates so that only the first one allocates. One buffer:
/// a thread that finds it taken (another thread is updating) allocates its
/// own, and whichever comes back second is freed.
struct Scratch<T> {
    slot: AtomicPtr<[MaybeUninit<T>; 2]>,
}

impl<T> Scratch<T> {
    fn new() -> Self {
        Scratch {
            slot: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    fn take(&self) -> Box<[MaybeUninit<T>; 2]> {
        let kept = self.slot.swap(std::ptr::null_mut(), Ordering::Acquire);
        if kept.is_null() {
            // SAFETY: an array of `MaybeUninit` needs no initialisation.
            unsafe { Box::<[MaybeUninit<T>; 2]>::new_uninit().assume_init() }
        } else {
            // SAFETY: the slot only ever holds a pointer from
            // `Box::into_raw` (in `give_back`), and the swap made it ours
            // alone.
            unsafe { Box::from_raw(kept) }
        }
    }

    fn give_back(&self, buffer: Box<[MaybeUninit<T>; 2]>) {
        let raw = Box::into_raw(buffer);
        if self
            .slot
            .compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: `raw` came from `Box::into_raw` just above and was not
            // stored.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

impl<T> Drop for Scratch<T> {
    fn drop(&mut self) {
        let kept = *self.slot.get_mut();
        if !kept.is_null() {
            // SAFETY: as in `take`; `&mut self` excludes every other use.
            drop(unsafe { Box::from_raw(kept) });
        }
    }
}

impl<T: SharedState> Shared<T> {
    pub(crate) fn new(mapping: Mapping) -> Result<Self> {
        let runs = runs::runs(T::TYPE).into_boxed_slice();
        Ok(Shared {
            raw: RawRegion::new(mapping, size_of::<T>(), align_of::<T>(), runs)?,
            scratch: Box::new(Scratch::new()),
            _type: PhantomData,
        })
    }

    /// Where this region lives.
    pub fn location(&self) -> &Location {
        self.raw.location()
    }

    /// Whether the call that opened this handle created the region (and so
    /// wrote the [`initial`](crate::OpenOptions::initial) value). `false`
    /// when the region already existed: its contents were kept, and the
    /// initial value was not used.
    pub fn created(&self) -> bool {
        self.raw.created()
    }

    /// A consistent copy of the whole struct: equal to the state after some
    /// complete [`update`](Self::update), with field-level writes applied
    /// individually. Takes no lock and never blocks a writer; if it finds a
    /// publish left half-done by a dead writer, it completes it, and it
    /// never waits on a stuck writer for more than a few milliseconds.
    ///
    /// Needs one `T` of stack; see [`snapshot_boxed`](Self::snapshot_boxed).
    #[inline]
    pub fn snapshot(&self) -> T {
        // SAFETY: this handle's region was made for `T` (`new`).
        unsafe { self.raw.snapshot() }
    }

    /// Like [`snapshot`](Self::snapshot), into an existing value: no copy
    /// through the stack.
    #[inline]
    pub fn snapshot_into(&self, out: &mut T) {
        // SAFETY: as in `snapshot`.
        unsafe { self.raw.snapshot_into(out) }
    }

    /// Like [`snapshot`](Self::snapshot), straight into a new heap
    /// allocation: for structs too large for the stack.
    pub fn snapshot_boxed(&self) -> Box<T> {
        // SAFETY: as in `snapshot`.
        unsafe { self.raw.snapshot_boxed() }
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
    /// If called (directly or through [`store`](Self::store)) from inside
    /// an `update` closure on the same region in the same thread, which
    /// could otherwise only deadlock: change the struct through `f`'s
    /// argument instead.
    ///
    /// In a child forked inside `f`, when `f` returns there: the update is
    /// its parent's, which holds the lock and goes on with it, so the child
    /// publishes nothing and releases nothing (the panic says so, rather
    /// than drop the child's changes without a word).
    #[inline]
    #[track_caller]
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // Two functions, so that only the one that runs has the copies in
        // its frame (a branch inside one function would reserve stack for
        // them even when it takes the heap path).
        if size_of::<T>() <= UPDATE_ON_STACK_MAX {
            self.update_on_stack(f)
        } else {
            self.update_on_heap(f)
        }
    }

    #[inline]
    #[track_caller]
    fn update_on_stack<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut old = MaybeUninit::<T>::uninit();
        let mut new = MaybeUninit::<T>::uninit();
        self.update_in(&mut old, &mut new, f)
    }

    #[inline(never)]
    #[track_caller]
    fn update_on_heap<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut copies = self.scratch.take();
        let [old, new] = &mut *copies;
        let result = self.update_in(old, new, f);
        self.scratch.give_back(copies);
        result
    }

    /// `update` with its two private copies in `old` and `new`.
    #[inline(always)]
    #[track_caller]
    fn update_in<R>(
        &self,
        old: &mut MaybeUninit<T>,
        new: &mut MaybeUninit<T>,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let guard = self.raw.lock();
        // SAFETY: both are valid for writes of a `T`; after the copies every
        // byte is written, and every bit pattern is a valid `T`.
        let (old, new) = unsafe {
            self.raw
                .read_locked(&guard, old.as_mut_ptr().cast(), size_of::<T>());
            std::ptr::copy_nonoverlapping(old.as_ptr(), new.as_mut_ptr(), 1);
            (old.assume_init_ref(), new.assume_init_mut())
        };
        let result = f(new);
        if let Err(error) = self
            .raw
            .publish_and_unlock(guard, as_bytes(old), as_bytes(new))
        {
            forked(error);
        }
        result
    }

    /// Replaces the whole struct: `update(|f| *f = value)`, all or nothing.
    /// Only the scalars that differ from the current value are written (a
    /// field-level write to a field `value` leaves as it is survives); for
    /// a struct above 256 bytes they are found by comparing `value` with
    /// the region in place, with no copy of the struct.
    ///
    /// # Panics
    ///
    /// If called from inside an [`update`](Self::update) closure on the
    /// same region.
    #[track_caller]
    pub fn store(&self, value: T) {
        self.store_from(&value);
    }

    /// Like [`store`](Self::store), from a reference: no `T` on the stack.
    ///
    /// # Panics
    ///
    /// As [`store`](Self::store).
    #[track_caller]
    pub fn store_from(&self, value: &T) {
        // As `update(|f| *f = *value)`, without the closure's copies:
        // `value` is compared with the payload in place, and only what
        // differs is journaled and stored.
        let guard = self.raw.lock();
        let Err(guard) = self.raw.store_and_unlock(guard, as_bytes(value)) else {
            return;
        };
        // Small, or changed in many places: compare with a copy of the
        // current value. Two functions, as in `update`: only the one that
        // runs has its copy in its frame.
        if size_of::<T>() <= UPDATE_ON_STACK_MAX {
            self.store_on_stack(guard, value);
        } else {
            self.store_on_heap(guard, value);
        }
    }

    #[inline]
    fn store_on_stack(&self, guard: LockGuard<'_>, value: &T) {
        let mut old = MaybeUninit::<T>::uninit();
        self.store_in(guard, &mut old, value);
    }

    #[inline(never)]
    fn store_on_heap(&self, guard: LockGuard<'_>, value: &T) {
        let mut copies = self.scratch.take();
        self.store_in(guard, &mut copies[0], value);
        self.scratch.give_back(copies);
    }

    #[inline(always)]
    fn store_in(&self, guard: LockGuard<'_>, old: &mut MaybeUninit<T>, value: &T) {
        // SAFETY: `old` is valid for writes of a `T`; after the copy every
        // byte is written, and every bit pattern is a valid `T`.
        let old = unsafe {
            self.raw
                .read_locked(&guard, old.as_mut_ptr().cast(), size_of::<T>());
            old.assume_init_ref()
        };
        if let Err(error) = self
            .raw
            .publish_and_unlock(guard, as_bytes(old), as_bytes(value))
        {
            forked(error);
        }
    }

    /// The region's version: it moves on every `update`, `store` and
    /// `notify`, in any process. Field-level writes do not move it: call
    /// [`notify`](Self::notify) after them to announce them.
    pub fn version(&self) -> u64 {
        self.raw.version()
    }

    /// Moves the version and wakes every process in
    /// [`wait_for_change`](Self::wait_for_change): for announcing
    /// field-level writes. One atomic instruction, and a system call only
    /// when some process waits. Returns the new version.
    pub fn notify(&self) -> u64 {
        self.raw.notify()
    }

    /// Sleeps (on a futex, after no spinning) until the version differs
    /// from `seen`, and returns the new version. The change that moved it
    /// is visible to this process when this returns. `Duration::MAX` waits
    /// without a deadline.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout) if the version is still
    /// `seen` after `timeout`.
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        self.raw.wait_for_change(seen, timeout)
    }

    /// Makes a file-backed region durable (`msync`); a no-op for POSIX shm,
    /// which has no storage to reach.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) if `msync` fails.
    pub fn flush(&self) -> Result<()> {
        self.raw.flush()
    }
}

impl<T: SharedState> Deref for Shared<T> {
    type Target = T::View;

    #[inline]
    fn deref(&self) -> &T::View {
        // SAFETY: the payload is `size_of::<T>()` bytes inside the mapping,
        // aligned for `T` (checked by `RawRegion::new`) and so for `T::View`
        // (same size and alignment, by the `SharedField` contract), and the mapping lives as long as
        // `self`. `T::View` is made only of atomics and is valid for every
        // bit pattern, so a shared reference to it is sound while other
        // processes read and write the same bytes atomically.
        unsafe { self.raw.payload().cast::<T::View>().as_ref() }
    }
}

impl<T: SharedState> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("type", &T::NAME)
            .field("location", self.location())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

/// An update finished in a process forked while it was under way (`f`
/// forked): nothing was published, and `update` has no error to return.
/// Returning as if it had published would lose the child's changes without
/// a word; see `docs/design.md`, "A fork inside an update".
#[cold]
#[inline(never)]
#[track_caller]
fn forked(error: crate::Error) -> ! {
    panic!("{error}")
}
