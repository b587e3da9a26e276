//! The hand-written seqlock under `snapshot`, `update` and `store`: the
//! floor those rows are measured against.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{fence, AtomicU64};

use crate::sys::RawSeg;

/// Where a seqlock's value starts in its mapping: the line after the
/// sequence word.
pub const SEQLOCK_DATA: usize = 64;

/// The hand-written seqlock of the baselines: a sequence word at offset 0
/// (odd while a write is in progress) and a `T` at [`SEQLOCK_DATA`], in a
/// raw shared mapping. Single writer, so a write needs no CAS.
pub struct SeqLock<'m, T: Copy> {
    seq: &'m AtomicU64,
    data: *mut T,
}

impl<'m, T: Copy> SeqLock<'m, T> {
    /// `T` must be plain data, valid for every bit pattern (the callers use
    /// `Small` and `Big`: integers only).
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
                // `new`), `out` is a distinct local. This is the classic C
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
}
