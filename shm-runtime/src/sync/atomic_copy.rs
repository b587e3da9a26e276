//! Copies between private buffers and shared memory that touch the shared
//! side only through atomic operations.
//!
//! This is the "byte-wise atomic memcpy" of the C++ proposal P1478 (and of
//! the `atomic-memcpy` crate): every byte is read or written by some atomic
//! access, never by a plain one, so a copy that races with a writer in
//! another process is not a data race; the seqlock's sequence check decides
//! whether the bytes as a whole are consistent and discards them otherwise.
//!
//! - Word by word, with the widest naturally aligned atomic (8 bytes, then
//!   4, 2, 1 at the tail).
//! - On x86_64 processors with AVX, whole 64-byte blocks are loaded with
//!   16-byte aligned `movdqa` in inline assembly, which Rust's atomics cannot
//!   express. Intel's SDM (vol. 3A, 9.1.1) and AMD's APM (vol. 2, "Access Atomicity")
//!   guarantee that such a load is carried out as one single-copy-atomic
//!   access on processors that enumerate AVX, so every field inside it, of
//!   whatever width, is read untorn, exactly as by a relaxed load of its own
//!   width. Nothing wider is used: 32-byte loads have no such guarantee, and
//!   a field written concurrently (a `set` or `fetch_add`, which does not move
//!   the sequence) must never be read torn. Without AVX the copy is word by
//!   word.
//!
//! Mixed-size access: a block load overlaps fields that other processes
//! access with 1-, 2-, 4- and 8-byte atomics. Rust's memory model has no
//! semantics for racing atomic accesses of different sizes; the hardware
//! does (above), and crossbeam's `AtomicCell` and the `atomic-memcpy` crate
//! rely on the same. docs/design.md states this deviation.

use super::atomics::Ordering::Relaxed;
use super::atomics::Word;

/// Copies `len` bytes from shared memory at `src` to private memory at `dst`.
///
/// `src` need only be aligned to 8: a payload is aligned to 64, but a
/// journal entry's bytes start wherever the entries before them end, at any
/// multiple of 8. Only a 16-aligned `src` takes the 16-byte block loads;
/// any other is copied word by word (a journal read, on the cold path of a
/// recovery), since `vmovdqa` faults on an address that is not 16-aligned
/// and a misaligned vector load is not documented as atomic.
///
/// # Safety
///
/// `src` is valid for reads of `len` bytes, aligned to 8, and only ever
/// accessed atomically by everyone while this runs; `dst` is valid for
/// writes of `len` bytes and does not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn load(src: *const u8, dst: *mut u8, len: usize) {
    debug_assert!(src as usize % 8 == 0, "{src:p} is not 8-aligned");
    let mut at = 0;
    // Not under loom, which cannot see inside assembly: the model copies
    // word by word, each word one load per field (`model`).
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        if len >= 64 && src as usize % 16 == 0 && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the caller's promise; `src` is 16-aligned (checked);
            // the whole 64-byte blocks fit in both; AVX is present
            // (checked), so each 16-byte load is single-copy atomic.
            at = unsafe { load_blocks(src, dst, len & !63) };
        }
    }
    // Alignment: `src` is 8-aligned and `at` grows by 64-byte blocks, then
    // by 8 while the width is 8, then by the current width, which only
    // shrinks; so `src + at` is always aligned to the width used, and
    // `at + width <= len` keeps it in bounds. `dst` may be unaligned.
    while at + 8 <= len {
        // SAFETY: in bounds and aligned (above); atomic-only access promised.
        let word = unsafe { u64::load(src.add(at), Relaxed) };
        // SAFETY: `dst` is valid for `len` bytes; unaligned write.
        unsafe { dst.add(at).cast::<u64>().write_unaligned(word) };
        at += 8;
    }
    if at + 4 <= len {
        // SAFETY: as above.
        let word = unsafe { u32::load(src.add(at), Relaxed) };
        // SAFETY: as above.
        unsafe { dst.add(at).cast::<u32>().write_unaligned(word) };
        at += 4;
    }
    if at + 2 <= len {
        // SAFETY: as above.
        let word = unsafe { u16::load(src.add(at), Relaxed) };
        // SAFETY: as above.
        unsafe { dst.add(at).cast::<u16>().write_unaligned(word) };
        at += 2;
    }
    if at < len {
        // SAFETY: as above.
        unsafe { *dst.add(at) = u8::load(src.add(at), Relaxed) };
    }
}

/// The 64-byte block at `src` as four 16-byte pieces, each loaded with
/// one aligned `vmovdqa`.
///
/// # Safety
///
/// `src` is 16-aligned and valid for reads of 64 bytes, only accessed
/// atomically; the CPU supports AVX.
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline]
#[target_feature(enable = "avx")]
unsafe fn load4(src: *const u8) -> [core::arch::x86_64::__m128i; 4] {
    use core::arch::x86_64::__m128i;
    let (a, b, c, d): (__m128i, __m128i, __m128i, __m128i);
    // SAFETY: four aligned 16-byte loads of `src[0..64]`, valid and
    // 16-aligned (the caller's promise). The block writes no memory
    // (`readonly`), touches no stack and no flags, and writes only its
    // declared outputs; AVX is enabled for this function and present.
    unsafe {
        core::arch::asm!(
            "vmovdqa {a}, xmmword ptr [{src}]",
            "vmovdqa {b}, xmmword ptr [{src} + 16]",
            "vmovdqa {c}, xmmword ptr [{src} + 32]",
            "vmovdqa {d}, xmmword ptr [{src} + 48]",
            src = in(reg) src,
            a = out(xmm_reg) a,
            b = out(xmm_reg) b,
            c = out(xmm_reg) c,
            d = out(xmm_reg) d,
            options(nostack, readonly, preserves_flags),
        );
    }
    [a, b, c, d]
}

/// Copies `bytes` (a non-zero multiple of 64) from `src` (16-aligned) to
/// `dst`, 16 bytes per load. Returns `bytes`.
///
/// The loads are VEX.128 `vmovdqa` in inline assembly, each single-copy
/// atomic on an AVX processor, four per 64-byte block. Pairs of them are
/// joined in a register (`vinsertf128`) and stored to the private `dst` 32
/// bytes at a time by ordinary Rust: a copy is as fast as its stores, and
/// the private side needs no atomicity.
///
/// `dst` never reaches the assembly: a pointer passed to `asm!` counts as
/// captured, and MemCpyOpt's call-slot optimization, which builds a large
/// `snapshot()` in the caller's variable (`RawRegion::snapshot_outlined`),
/// is stated for a temporary the call does not capture. (LLVM 22, in rustc
/// 1.95, was seen to apply it with the pointer in the assembly all the
/// same.) Stored to only by Rust, `dst` is inferred `nocapture` here and
/// in every caller that does nothing else with it.
///
/// When `dst` lies more than 32 bytes into a cache line, each block's
/// stores trail its loads by 32 bytes (the last two pieces of one block
/// with the first two of the next), so that of the two 32-byte stores per
/// line the first stays inside it and the second crosses into the next: in
/// the other order (every block's first store crossing) a 4 KiB copy took
/// a sixth longer on an AMD Zen 4.
///
/// An AVX function, hence never inlined into its callers (which are not):
/// one call per copy of 64 bytes or more.
///
/// # Safety
///
/// As [`load`], for `bytes` bytes; `src` is 16-aligned, and the CPU
/// supports AVX (without either the instructions fault, and the loads are
/// not documented as atomic).
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[target_feature(enable = "avx")]
unsafe fn load_blocks(src: *const u8, dst: *mut u8, bytes: usize) -> usize {
    use core::arch::x86_64::{__m128i, __m256i, _mm256_storeu_si256};

    /// `low` then `high`, as one 32-byte value. In assembly, where LLVM
    /// cannot see the halves: it would store them as two 16-byte halves,
    /// which takes half as long again.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn join(low: __m128i, high: __m128i) -> __m256i {
        let joined: __m256i;
        // SAFETY: one register instruction, AVX (enabled for this function
        // and present): no memory, stack or flags; `vinsertf128` writes
        // the whole of `joined`, whatever `low`'s register held above it.
        unsafe {
            core::arch::asm!(
                "vinsertf128 {joined}, {low:y}, {high}, 1",
                joined = lateout(ymm_reg) joined,
                low = in(ymm_reg) low,
                high = in(xmm_reg) high,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        joined
    }

    /// Stores the four pieces `w` to `dst[0..64]`, 32 bytes at a time.
    ///
    /// # Safety
    ///
    /// `dst` is valid for writes of 64 bytes; the CPU supports AVX.
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn store4(dst: *mut u8, w: [__m128i; 4]) {
        // SAFETY: `dst[0..64]` is valid for writes (the caller's promise);
        // unaligned stores.
        unsafe {
            _mm256_storeu_si256(dst.cast(), join(w[0], w[1]));
            _mm256_storeu_si256(dst.add(32).cast(), join(w[2], w[3]));
        }
    }

    /// The copy, each block stored where it was loaded or (`TRAIL`) 32
    /// bytes behind: block 0 to `dst[0..64]`, every later block `i` to
    /// `dst[i - 32..i + 32]` from the previous block's last two pieces and
    /// its own first two, and the last block's last two pieces to the last
    /// 32 bytes. Overlapping stores write equal bytes, from the same
    /// registers.
    ///
    /// # Safety
    ///
    /// As [`load_blocks`].
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn copy<const TRAIL: bool>(src: *const u8, dst: *mut u8, bytes: usize) {
        // SAFETY: block 0 is in bounds of both (`bytes >= 64`), and
        // 16-aligned in `src`.
        let [_, _, mut c0, mut d0] = unsafe {
            let w = load4(src);
            store4(dst, w);
            w
        };
        let mut i = 64;
        while i < bytes {
            // SAFETY: `i` is a multiple of 64 and `i + 64 <= bytes`, so the
            // block is in bounds and 16-aligned in `src`, and `dst[i..i +
            // 64]` and `dst[i - 32..i + 32]` are in bounds.
            unsafe {
                let [a, b, c, d] = load4(src.add(i));
                if TRAIL {
                    store4(dst.add(i - 32), [c0, d0, a, b]);
                } else {
                    store4(dst.add(i), [a, b, c, d]);
                }
                (c0, d0) = (c, d);
            }
            i += 64;
        }
        if TRAIL {
            // SAFETY: the last 32 bytes of `dst` (`bytes >= 64`).
            unsafe { _mm256_storeu_si256(dst.add(bytes - 32).cast(), join(c0, d0)) };
        }
    }

    // SAFETY: the caller's promise.
    unsafe {
        if dst as usize % 64 > 32 {
            copy::<true>(src, dst, bytes);
        } else {
            copy::<false>(src, dst, bytes);
        }
    }
    bytes
}

/// Copies `len` bytes from private memory at `src` into shared memory at
/// `dst`.
///
/// # Safety
///
/// `dst` is valid for writes of `len` bytes, aligned to 8, and only ever
/// accessed atomically by everyone while this runs; `src` is valid for
/// reads of `len` bytes.
#[inline(always)]
pub(crate) unsafe fn store(dst: *const u8, src: *const u8, len: usize) {
    let mut at = 0;
    // Alignment and bounds: as in `load`.
    while at + 8 <= len {
        // SAFETY: in bounds and aligned (above); atomic-only access promised.
        unsafe {
            u64::store(
                dst.add(at),
                src.add(at).cast::<u64>().read_unaligned(),
                Relaxed,
            )
        };
        at += 8;
    }
    if at + 4 <= len {
        // SAFETY: as above.
        unsafe {
            u32::store(
                dst.add(at),
                src.add(at).cast::<u32>().read_unaligned(),
                Relaxed,
            )
        };
        at += 4;
    }
    if at + 2 <= len {
        // SAFETY: as above.
        unsafe {
            u16::store(
                dst.add(at),
                src.add(at).cast::<u16>().read_unaligned(),
                Relaxed,
            )
        };
        at += 2;
    }
    if at < len {
        // SAFETY: as above.
        unsafe { u8::store(dst.add(at), *src.add(at), Relaxed) };
    }
}

/// The offset of the first 64-byte block, from the block at `from` on,
/// in which the `len` shared bytes at `shared` differ from the private
/// bytes at `private`; `len` if none does. The last block may be short.
/// Reads the shared side only with atomic loads (the same ones as
/// [`load`]), each of which sees some value the word held: a block found
/// equal was equal at the instant each of its words was read.
///
/// # Safety
///
/// `shared` is valid for reads of `len` bytes, aligned to 64, and only ever
/// accessed atomically; `private` is valid for reads of `len` bytes; `from`
/// is a multiple of 64 (or at least `len`: then there is nothing to compare).
#[inline(always)]
pub(crate) unsafe fn first_different_block(
    shared: *const u8,
    private: *const u8,
    from: usize,
    len: usize,
) -> usize {
    debug_assert!(from % 64 == 0 || from >= len);
    debug_assert!(shared as usize % 64 == 0, "{shared:p} is not 64-aligned");
    let mut at = from;
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        let whole = len & !63;
        if at < whole && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: `at..whole` are whole blocks inside both buffers, the
            // shared one 64-aligned (the caller's promise); AVX is present.
            at = unsafe { first_different_whole_block(shared, private, at, whole) };
            if at < whole {
                return at;
            }
        }
    }
    while at < len {
        let end = (at + 64).min(len);
        let mut block = [0u8; 64];
        // SAFETY: `at..end` is inside both buffers (the caller's promise);
        // `shared + at` is 64-aligned since `at` is a multiple of 64.
        let equal = unsafe {
            load(shared.add(at), block.as_mut_ptr(), end - at);
            block[..end - at] == *std::slice::from_raw_parts(private.add(at), end - at)
        };
        if !equal {
            return at;
        }
        at = end;
    }
    len
}

/// [`first_different_block`] over whole blocks `from..to`, 64 bytes per
/// iteration: the block's four atomic 16-byte loads ([`load4`]) joined in
/// pairs, XORed with 32 private bytes each, and one `vptest` of their OR.
///
/// # Safety
///
/// As [`first_different_block`]; `from < to`, both multiples of 64 and
/// inside both buffers; the processor has AVX.
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[target_feature(enable = "avx")]
unsafe fn first_different_whole_block(
    shared: *const u8,
    private: *const u8,
    from: usize,
    to: usize,
) -> usize {
    use core::arch::x86_64::{
        _mm256_castps_si256, _mm256_castsi128_si256, _mm256_castsi256_ps, _mm256_insertf128_si256,
        _mm256_loadu_ps, _mm256_or_ps, _mm256_testz_si256, _mm256_xor_ps,
    };
    let mut at = from;
    while at < to {
        // SAFETY: `at..at + 64` is inside both buffers (`at < to`, both
        // multiples of 64), and `shared + at` is 64-aligned; AVX is present
        // (the caller's promise); the private side is read with unaligned
        // loads. Bitwise operations on `ps` values are AVX's 256-bit
        // integer-free forms: the bits are what they compare.
        let differs = unsafe {
            let [a, b, c, d] = load4(shared.add(at));
            let low = _mm256_insertf128_si256::<1>(_mm256_castsi128_si256(a), b);
            let high = _mm256_insertf128_si256::<1>(_mm256_castsi128_si256(c), d);
            let mine = private.add(at).cast::<f32>();
            let low = _mm256_xor_ps(_mm256_castsi256_ps(low), _mm256_loadu_ps(mine));
            let high = _mm256_xor_ps(_mm256_castsi256_ps(high), _mm256_loadu_ps(mine.add(8)));
            let any = _mm256_castps_si256(_mm256_or_ps(low, high));
            _mm256_testz_si256(any, any) == 0
        };
        if differs {
            return at;
        }
        at += 64;
    }
    to
}

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    fn round_trips_every_length() {
        #[repr(align(64))]
        struct Buf([u8; 320]);
        for len in (0..=72).chain([127, 128, 129, 200, 256, 300]) {
            let mut shared = Buf([0; 320]);
            let src: Vec<u8> = (0..len).map(|i| (i % 251 + 1) as u8).collect();
            // SAFETY: `shared` is 64-aligned, 320 bytes, private to this test;
            // `src` holds `len <= 300` bytes.
            unsafe { super::store(shared.0.as_mut_ptr(), src.as_ptr(), len) };
            let mut back = vec![0u8; len + 1];
            // SAFETY: as above; `back` has room for `len` bytes (one to spare,
            // offset by one to test an unaligned destination).
            unsafe { super::load(shared.0.as_mut_ptr(), back[1..].as_mut_ptr(), len) };
            assert_eq!(&back[1..], &src[..]);
            assert!(shared.0[len..].iter().all(|&b| b == 0), "wrote past {len}");
        }
    }

    #[test]
    fn finds_the_first_different_block_at_every_length_and_place() {
        #[repr(align(64))]
        struct Buf([u8; 384]);
        for len in [0, 1, 8, 63, 64, 65, 127, 128, 200, 256, 320, 384] {
            let shared = Buf(std::array::from_fn(|i| (i % 251) as u8));
            let equal = shared.0[..len].to_vec();
            // SAFETY: `shared` is 64-aligned and holds `len` bytes, as does
            // `private`; nothing else touches either.
            let find = |private: &[u8], from| unsafe {
                super::first_different_block(shared.0.as_ptr(), private.as_ptr(), from, len)
            };
            assert_eq!(find(&equal, 0), len, "equal, len {len}");
            for at in 0..len {
                let mut private = equal.clone();
                private[at] ^= 0x80;
                let block = at / 64 * 64;
                assert_eq!(find(&private, 0), block, "len {len}, byte {at}");
                assert_eq!(find(&private, block), block, "len {len}, byte {at}");
                if block + 64 < len {
                    assert_eq!(find(&private, block + 64), len, "len {len}, byte {at}");
                }
            }
        }
    }

    /// `load` from every 8-aligned place in a cache line (a journal
    /// entry's bytes start at any multiple of 8), at lengths around the
    /// block size: the block loads are only for a 16-aligned source, and
    /// every byte arrives.
    #[test]
    fn loads_from_every_8_aligned_source() {
        #[repr(align(64))]
        struct Buf([u8; 768]);
        let mut shared = Buf([0; 768]);
        for (i, b) in shared.0.iter_mut().enumerate() {
            *b = (i % 251 + 1) as u8;
        }
        for offset in (0..=64).step_by(8) {
            for len in [0, 1, 7, 8, 9, 63, 64, 65, 72, 127, 128, 136, 200, 640] {
                let mut out = vec![0u8; len];
                // SAFETY: `shared + offset` is 8-aligned and holds
                // `len <= 640 <= 768 - 64` bytes, private to this test.
                unsafe { super::load(shared.0.as_ptr().add(offset), out.as_mut_ptr(), len) };
                assert_eq!(out, shared.0[offset..offset + len], "{len} from {offset}");
            }
        }
    }

    /// `load` into every position within a cache line (the block copy
    /// orders its stores by where `dst` falls in one), nothing written
    /// outside the destination.
    #[test]
    fn loads_to_every_offset() {
        #[repr(align(64))]
        struct Buf([u8; 640]);
        let mut shared = Buf([0; 640]);
        for (i, b) in shared.0.iter_mut().enumerate() {
            *b = (i % 251 + 1) as u8;
        }
        #[repr(align(64))]
        struct Out([u8; 768]);
        for len in [64, 100, 128, 192, 640] {
            for offset in 0..=64 {
                let mut out = Out([0; 768]);
                // SAFETY: `shared` is 64-aligned and holds `len <= 640`
                // bytes, private to this test; `out` holds `offset + len`.
                unsafe {
                    super::load(shared.0.as_ptr(), out.0[offset..].as_mut_ptr(), len);
                }
                assert_eq!(
                    &out.0[offset..offset + len],
                    &shared.0[..len],
                    "{len} at {offset}"
                );
                assert!(
                    out.0[..offset]
                        .iter()
                        .chain(&out.0[offset + len..])
                        .all(|&b| b == 0),
                    "{len} at {offset}: wrote outside"
                );
            }
        }
    }
}
