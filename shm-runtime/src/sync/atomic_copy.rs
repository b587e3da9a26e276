//! Copies between private buffers and shared memory that touch the shared
//! side only through atomic loads and stores.
//!
//! Bulk copies use the widest naturally aligned atomic (8 bytes, then 4, 2,
//! 1 at the tail), as the `atomic-memcpy` crate and the C++ proposal P1478
//! ("byte-wise atomic memcpy") do: each word is read or written with one
//! single-copy-atomic instruction, and the seqlock's sequence check decides
//! whether the bytes as a whole are consistent. A word may span several
//! small fields; the hardware makes that load atomic too, and no value read
//! this way is used unless the sequence check passes.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};

/// Copies `dst.len()` bytes from shared memory at `src` into `dst`.
///
/// # Safety
///
/// `src` is valid for `dst.len()` bytes, aligned to 8, and only ever
/// accessed atomically by everyone while this runs.
#[inline]
pub(crate) unsafe fn load(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let mut at = 0;
    // Alignment: `src` is 8-aligned and `at` grows by 8 while the width is
    // 8, then by the current width, which only shrinks; so `src + at` is
    // always aligned to the width used, and `at + width <= len` keeps it in
    // bounds.
    while at + 8 <= len {
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        let word = unsafe { (*src.add(at).cast::<AtomicU64>()).load(Relaxed) };
        dst[at..at + 8].copy_from_slice(&word.to_ne_bytes());
        at += 8;
    }
    if at + 4 <= len {
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        let word = unsafe { (*src.add(at).cast::<AtomicU32>()).load(Relaxed) };
        dst[at..at + 4].copy_from_slice(&word.to_ne_bytes());
        at += 4;
    }
    if at + 2 <= len {
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        let word = unsafe { (*src.add(at).cast::<AtomicU16>()).load(Relaxed) };
        dst[at..at + 2].copy_from_slice(&word.to_ne_bytes());
        at += 2;
    }
    if at < len {
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        dst[at] = unsafe { (*src.add(at).cast::<AtomicU8>()).load(Relaxed) };
    }
}

/// Copies `src` into shared memory at `dst`.
///
/// # Safety
///
/// `dst` is valid for `src.len()` bytes, aligned to 8, and only ever
/// accessed atomically by everyone while this runs.
#[inline]
pub(crate) unsafe fn store(dst: *const u8, src: &[u8]) {
    let len = src.len();
    let mut at = 0;
    // Alignment and bounds: as in `load`.
    while at + 8 <= len {
        let word = u64::from_ne_bytes(src[at..at + 8].try_into().unwrap_or_default());
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        unsafe { (*dst.add(at).cast::<AtomicU64>()).store(word, Relaxed) };
        at += 8;
    }
    if at + 4 <= len {
        let word = u32::from_ne_bytes(src[at..at + 4].try_into().unwrap_or_default());
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        unsafe { (*dst.add(at).cast::<AtomicU32>()).store(word, Relaxed) };
        at += 4;
    }
    if at + 2 <= len {
        let word = u16::from_ne_bytes(src[at..at + 2].try_into().unwrap_or_default());
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        unsafe { (*dst.add(at).cast::<AtomicU16>()).store(word, Relaxed) };
        at += 2;
    }
    if at < len {
        // SAFETY: in bounds and aligned (above); the caller promises atomic-only access.
        unsafe { (*dst.add(at).cast::<AtomicU8>()).store(src[at], Relaxed) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_every_length() {
        #[repr(align(8))]
        struct Buf([u8; 40]);
        for len in 0..=40 {
            let mut shared = Buf([0; 40]);
            let src: Vec<u8> = (1..=len as u8).collect();
            // SAFETY: `shared` is 8-aligned, 40 bytes, and private to this test.
            unsafe { super::store(shared.0.as_mut_ptr(), &src) };
            let mut back = vec![0; len];
            // SAFETY: as above.
            unsafe { super::load(shared.0.as_mut_ptr(), &mut back) };
            assert_eq!(back, src);
            assert!(shared.0[len..].iter().all(|&b| b == 0), "wrote past {len}");
        }
    }
}
