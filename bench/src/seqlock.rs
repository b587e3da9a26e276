//! The hand-written seqlock under `snapshot`, `update` and `store`: the
//! floor those rows are measured against.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{fence, AtomicU64};

use shm_runtime::SharedField;

use crate::sys::RawSeg;

/// Where a seqlock's value starts in its mapping: the line after the
/// sequence word.
pub const SEQLOCK_DATA: usize = 64;

/// The hand-written seqlock of the baselines: a sequence word at offset 0
/// (odd while a write is in progress) and a `T` at [`SEQLOCK_DATA`], in a
/// raw shared mapping. Single writer, so a write needs no CAS.
pub struct SeqLock<'m, T: SharedField> {
    seq: &'m AtomicU64,
    data: *mut T,
}

impl<'m, T: SharedField> SeqLock<'m, T> {
    /// The seqlock at the start of `seg`. `T` is valid for every bit
    /// pattern (the `SharedField` contract), so a torn copy is still a `T`.
    pub fn new(seg: &'m RawSeg) -> Self {
        assert!(SEQLOCK_DATA + size_of::<T>() <= seg.len());
        // SAFETY: SEQLOCK_DATA + size_of::<T>() is inside the mapping (asserted).
        let data = unsafe { seg.base().add(SEQLOCK_DATA) }.cast::<T>();
        assert_eq!(data as usize % align_of::<T>(), 0);
        SeqLock {
            seq: seg.at(0),
            data,
        }
    }

    /// Sequence load (Acquire), copy, fence (Acquire), sequence load; again
    /// while a write is in progress or overlapped the copy.
    #[inline(always)]
    pub fn read_into(&self, out: &mut T) {
        loop {
            let before = self.seq.load(Acquire);
            if before & 1 == 0 {
                // SAFETY: `data` is valid and aligned for a `T` (checked in
                // `new`) and cannot overlap `out` (this type never lends a
                // reference into its data). This is the classic C
                // seqlock's racy plain copy (a data race in Rust's model,
                // which is why the library copies with atomics instead); `T`
                // is valid for every bit pattern and the copy is discarded
                // unless the sequence held.
                unsafe { std::ptr::copy_nonoverlapping(self.data, out, 1) };
                fence(Acquire);
                if self.seq.load(Relaxed) == before {
                    return;
                }
            }
            std::hint::spin_loop();
        }
    }

    /// The current value; for the writer, which no one else writes beside.
    #[inline(always)]
    pub fn read_as_writer(&self) -> T {
        // SAFETY: as in `read_into`; the caller is the only writer, so the
        // value cannot change during the copy.
        unsafe { self.data.read_volatile() }
    }

    /// As [`read_as_writer`](Self::read_as_writer), into `out`: no `T`
    /// on the stack.
    #[inline(always)]
    pub fn read_as_writer_into(&self, out: &mut T) {
        // SAFETY: as in `read_into` (`out` cannot overlap `data`, to which
        // this type never lends a reference); the caller is the only
        // writer, so the value cannot change during the copy.
        unsafe { std::ptr::copy_nonoverlapping(self.data, out, 1) };
    }

    /// Sequence store (odd), fence (Release), copy, sequence store (even, Release).
    #[inline(always)]
    pub fn write(&self, value: &T) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        // SAFETY: `data` is valid and aligned for a `T`; the caller is the
        // only writer; readers discard what they copy while `seq` is odd.
        unsafe { self.data.write_volatile(*value) };
        self.seq.store(s.wrapping_add(2), Release);
    }

    /// As [`write`](Self::write), copying from `value` in place (a
    /// `memcpy`) instead of through a `T` on the stack: for large structs.
    #[inline(always)]
    pub fn write_from(&self, value: &T) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        // SAFETY: `data` is valid and aligned for a `T`; it cannot overlap
        // `value`, since this type never lends a reference into its data;
        // the caller is the only writer; readers discard what they copy
        // while `seq` is odd.
        unsafe { std::ptr::copy_nonoverlapping(value, self.data, 1) };
        self.seq.store(s.wrapping_add(2), Release);
    }
}
