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
//! rely on the same. DESIGN.md states this deviation.

use super::atomics::Ordering::Relaxed;
use super::atomics::Word;

/// Copies `len` bytes from shared memory at `src` to private memory at `dst`.
///
/// # Safety
///
/// `src` is valid for reads of `len` bytes, aligned to 64, and only ever
/// accessed atomically by everyone while this runs; `dst` is valid for
/// writes of `len` bytes and does not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn load(src: *const u8, dst: *mut u8, len: usize) {
    let mut at = 0;
    // Not under loom, which cannot see inside assembly: the model copies
    // word by word, each word one load per field (`model`).
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        if len >= 64 && std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the caller's promise; the whole 64-byte blocks fit in
            // both; AVX is present (checked), so each 16-byte load is
            // single-copy atomic.
            at = unsafe { load_blocks(src, dst, len & !63) };
        }
    }
    // Alignment: `src` is 64-aligned and `at` grows by 64-byte blocks, then
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

/// Copies `bytes` (a non-zero multiple of 64) from `src` (64-aligned) to
/// `dst`, 16 bytes per load. Returns `bytes`.
///
/// The loads are VEX.128 `vmovdqa`, each single-copy atomic on an AVX
/// processor; pairs of them are joined in a register (`vinsertf128`) and
/// stored to the private `dst` 32 bytes at a time, because a copy is as fast
/// as its stores, and the private side needs no atomicity. Inline (no
/// `target_feature` function, which could not be): the caller checked for
/// AVX at run time, and naming the registers in the template keeps the
/// compiler's AVX feature out of it.
///
/// # Safety
///
/// As [`load`], for `bytes` bytes, and the CPU supports AVX (without it the
/// instructions fault, and the loads are not documented as atomic).
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline(always)]
unsafe fn load_blocks(src: *const u8, dst: *mut u8, bytes: usize) -> usize {
    // SAFETY: the loop reads `src[0..bytes]` with aligned 16-byte loads
    // (`src` is 64-aligned, offsets are multiples of 16) and writes
    // `dst[0..bytes]` with unaligned 32-byte stores; both ranges are valid by
    // the caller's promise and `bytes >= 64`, so the do-while body runs with
    // an in-bounds index. It touches no stack, clobbers only the declared
    // registers (xmm0-3 are ymm0-3's low halves: the same registers to the
    // allocator) and the flags, and clears the upper halves of the ymm
    // registers before returning.
    unsafe {
        core::arch::asm!(
            "2:",
            "vmovdqa xmm0, xmmword ptr [{src} + {i}]",
            "vmovdqa xmm1, xmmword ptr [{src} + {i} + 16]",
            "vmovdqa xmm2, xmmword ptr [{src} + {i} + 32]",
            "vmovdqa xmm3, xmmword ptr [{src} + {i} + 48]",
            "vinsertf128 ymm0, ymm0, xmm1, 1",
            "vinsertf128 ymm2, ymm2, xmm3, 1",
            "vmovdqu ymmword ptr [{dst} + {i}], ymm0",
            "vmovdqu ymmword ptr [{dst} + {i} + 32], ymm2",
            "add {i}, 64",
            "cmp {i}, {n}",
            "jb 2b",
            "vzeroupper",
            src = in(reg) src,
            dst = in(reg) dst,
            n = in(reg) bytes,
            i = inout(reg) 0usize => _,
            out("xmm0") _,
            out("xmm1") _,
            out("xmm2") _,
            out("xmm3") _,
            options(nostack),
        );
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
/// iteration: four 16-byte `vmovdqa` loads of the shared side (each atomic,
/// as in [`load_blocks`]), XORed with 32-byte loads of the private side,
/// and one `vptest` of their OR. AVX only: the 256-bit `vxorps`, `vorps`
/// and `vptest` need no AVX2.
///
/// # Safety
///
/// As [`first_different_block`]; `from < to`, both multiples of 64 and
/// inside both buffers; the processor has AVX.
#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline(always)]
unsafe fn first_different_whole_block(
    shared: *const u8,
    private: *const u8,
    from: usize,
    to: usize,
) -> usize {
    let at: usize;
    // SAFETY: every address read is `shared + i .. + 64` or `private + i ..
    // + 64` with `from <= i < to`, inside both buffers (the caller's
    // promise); the `vmovdqa` addresses are 16-aligned since `shared` is
    // 64-aligned and `i` a multiple of 64. Nothing is written to memory.
    unsafe {
        core::arch::asm!(
            "2:",
            "vmovdqa xmm0, xmmword ptr [{shared} + {i}]",
            "vmovdqa xmm1, xmmword ptr [{shared} + {i} + 16]",
            "vmovdqa xmm2, xmmword ptr [{shared} + {i} + 32]",
            "vmovdqa xmm3, xmmword ptr [{shared} + {i} + 48]",
            "vinsertf128 ymm0, ymm0, xmm1, 1",
            "vinsertf128 ymm2, ymm2, xmm3, 1",
            "vxorps ymm0, ymm0, ymmword ptr [{private} + {i}]",
            "vxorps ymm2, ymm2, ymmword ptr [{private} + {i} + 32]",
            "vorps ymm0, ymm0, ymm2",
            "vptest ymm0, ymm0",
            "jnz 3f",
            "add {i}, 64",
            "cmp {i}, {n}",
            "jb 2b",
            "3:",
            "vzeroupper",
            shared = in(reg) shared,
            private = in(reg) private,
            n = in(reg) to,
            i = inout(reg) from => at,
            out("xmm0") _,
            out("xmm1") _,
            out("xmm2") _,
            out("xmm3") _,
            options(nostack, readonly),
        );
    }
    at
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
}
