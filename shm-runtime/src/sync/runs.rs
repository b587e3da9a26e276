//! A struct's scalars as runs of equal-width elements, for comparing a
//! private copy with another and storing what changed with atomics of
//! exactly the fields' widths.

use super::atomic_copy;
use super::atomics::Ordering::Release;
use super::atomics::Word;
use crate::layout::TypeInfo;

/// `count` scalars of `width` bytes each, back to back from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub offset: usize,
    pub width: usize,
    pub count: usize,
}

/// The scalars of `ty` in offset order, adjacent runs of one width merged:
/// `{ a: i32, b: i32, c: u64 }` is two runs, `[u64; 512]` one.
pub(crate) fn runs(ty: &TypeInfo) -> Vec<Run> {
    let mut out = Vec::new();
    push(ty, 0, &mut out);
    out
}

fn push(ty: &TypeInfo, base: usize, out: &mut Vec<Run>) {
    match ty {
        TypeInfo::Primitive(p) => add(
            out,
            Run {
                offset: base,
                width: p.size(),
                count: 1,
            },
        ),
        TypeInfo::Array { element, len } => match element {
            TypeInfo::Primitive(p) => add(
                out,
                Run {
                    offset: base,
                    width: p.size(),
                    count: *len,
                },
            ),
            _ => (0..*len).for_each(|i| push(element, base + i * element.size(), out)),
        },
        TypeInfo::Struct { fields, .. } => {
            fields.iter().for_each(|f| push(f.ty, base + f.offset, out));
        }
    }
}

/// Appends `run`, merged into the last run when they are adjacent and of
/// one width.
pub(crate) fn add(out: &mut Vec<Run>, run: Run) {
    if run.count == 0 {
        return;
    }
    if let Some(last) = out.last_mut() {
        if last.width == run.width && last.offset + last.width * last.count == run.offset {
            last.count += run.count;
            return;
        }
    }
    out.push(run);
}

/// Stores into shared memory at `dst` every scalar whose bytes differ
/// between `old` and `new`, each with one `Release` store of its width.
/// Returns whether anything differed.
///
/// # Safety
///
/// `dst` is valid for `new.len()` bytes, aligned like the struct the runs
/// describe, and only ever accessed atomically; `old` and `new` have the
/// same length, which covers every run.
#[inline]
pub(crate) unsafe fn store_changed(dst: *const u8, runs: &[Run], old: &[u8], new: &[u8]) -> bool {
    let len = old.len().min(new.len());
    let mut changed = false;
    for run in runs {
        if run.offset + run.width * run.count > len {
            continue; // cannot happen for runs of this struct; never read out of bounds
        }
        // SAFETY: the run lies inside `dst`, `old` and `new` (checked just
        // above), and each scalar in it is aligned to its width in `dst`
        // (the struct is `repr(C)` and `dst` aligned like it).
        changed |= unsafe {
            match run.width {
                1 => store_run::<u8>(dst, run, old, new),
                2 => store_run::<u16>(dst, run, old, new),
                4 => store_run::<u32>(dst, run, old, new),
                8 => store_run::<u64>(dst, run, old, new),
                _ => false,
            }
        };
    }
    changed
}

/// The most byte ranges a [`Changes`] records before it gives up and says
/// "many" (the journal then records whole copies).
pub(crate) const MAX_RANGES: usize = 8;

/// Which scalars differ between two copies of a struct: up to
/// [`MAX_RANGES`] byte ranges, each made of whole scalars, in offset order,
/// adjacent ones merged. Lives on the stack: computing it allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Changes {
    ranges: [(usize, usize); MAX_RANGES],
    len: usize,
    /// More than `MAX_RANGES` ranges differ: `ranges` is incomplete.
    many: bool,
}

impl Changes {
    pub(crate) const NONE: Changes = Changes {
        ranges: [(0, 0); MAX_RANGES],
        len: 0,
        many: false,
    };

    /// Nothing differs.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && !self.many
    }

    /// The ranges, `[start, end)`, or `None` if there were too many to list.
    pub(crate) fn ranges(&self) -> Option<&[(usize, usize)]> {
        (!self.many).then_some(&self.ranges[..self.len])
    }

    /// Adds the scalar at `[start, end)`, merging it into the last range
    /// when adjacent.
    #[inline(always)]
    fn push(&mut self, start: usize, end: usize) {
        if self.many {
            return;
        }
        if let Some(last) = self.ranges[..self.len].last_mut() {
            if last.1 == start {
                last.1 = end;
                return;
            }
        }
        if self.len == MAX_RANGES {
            self.many = true;
        } else {
            self.ranges[self.len] = (start, end);
            self.len += 1;
        }
    }

    /// Ranges read back from a journal; `None` if they are not sorted,
    /// disjoint, non-empty and inside `size` bytes (a damaged journal).
    pub(crate) fn from_ranges(ranges: &[(usize, usize)], size: usize) -> Option<Changes> {
        if ranges.len() > MAX_RANGES {
            return None;
        }
        let mut changes = Changes::NONE;
        let mut end_of_previous = 0;
        for &(start, end) in ranges {
            if start < end_of_previous || start >= end || end > size {
                return None;
            }
            changes.ranges[changes.len] = (start, end);
            changes.len += 1;
            end_of_previous = end;
        }
        Some(changes)
    }
}

/// The scalars whose bytes differ between `old` and `new`. Equal 64-byte
/// blocks are skipped with one comparison each (private memory: the
/// compiler vectorises it); only blocks that differ are looked at scalar by
/// scalar. Scalars never straddle a block: each is aligned to its width,
/// at most 8, and the struct to at least that.
#[inline(always)]
pub(crate) fn diff(runs: &[Run], old: &[u8], new: &[u8]) -> Changes {
    let len = old.len().min(new.len());
    let mut changes = Changes::NONE;
    let mut next_run = 0;
    scan(
        runs,
        &mut next_run,
        &old[..len],
        &new[..len],
        0,
        len,
        &mut changes,
    );
    changes
}

/// The scalars whose bytes differ between the struct in shared memory at
/// `shared` and `new`, compared in place: no copy of the shared struct is
/// made. Whole 64-byte blocks are compared with atomic vector loads
/// (`atomic_copy::first_different_block`); a block that differs is loaded
/// (atomically) into 64 private bytes and looked at scalar by scalar. Stops
/// early once the changes are "many".
///
/// # Safety
///
/// `shared` is valid for reads of `new.len()` bytes, aligned to 64, and
/// only ever accessed atomically.
#[inline(always)]
pub(crate) unsafe fn diff_shared(runs: &[Run], shared: *const u8, new: &[u8]) -> Changes {
    const BLOCK: usize = 64;
    let len = new.len();
    let mut changes = Changes::NONE;
    let mut next_run = 0;
    let mut at = 0;
    while !changes.many {
        // SAFETY: `shared` and `new` hold `len` bytes, the shared side
        // 64-aligned and atomic (the caller's promise); `at` is a multiple
        // of 64.
        at = unsafe { atomic_copy::first_different_block(shared, new.as_ptr(), at, len) };
        if at >= len {
            break;
        }
        let end = (at + BLOCK).min(len);
        let mut block = [0u8; BLOCK];
        // SAFETY: `at..end` is inside the shared struct, and `shared + at`
        // is 64-aligned; `block` holds `end - at <= 64` bytes.
        unsafe { atomic_copy::load(shared.add(at), block.as_mut_ptr(), end - at) };
        changed_scalars(
            runs,
            &mut next_run,
            (&block, at),
            new,
            at,
            end,
            &mut changes,
        );
        at = end;
    }
    changes
}

/// Finds the differing scalars of `[lo, hi)` by halving: a span that
/// compares equal (one `memcmp`, at the C library's vector speed) is done;
/// one that differs is split, down to 64-byte blocks, which are looked at
/// scalar by scalar. A struct with one changed field costs about two
/// passes of `memcmp` over it, and a handful of calls.
fn scan(
    runs: &[Run],
    next_run: &mut usize,
    old: &[u8],
    new: &[u8],
    lo: usize,
    hi: usize,
    changes: &mut Changes,
) {
    const BLOCK: usize = 64;
    if changes.many || old[lo..hi] == new[lo..hi] {
        return;
    }
    if hi - lo <= BLOCK {
        changed_scalars(runs, next_run, (old, 0), new, lo, hi, changes);
        return;
    }
    // Split on a block boundary, so scalars (aligned, at most 8 bytes)
    // never straddle the halves.
    let mid = lo + ((hi - lo) / 2).next_multiple_of(BLOCK);
    let mid = mid.min(hi);
    scan(runs, next_run, old, new, lo, mid, changes);
    scan(runs, next_run, old, new, mid, hi, changes);
}

/// Adds to `changes` the scalars in `[block, end)` whose bytes differ,
/// starting from run `*next_run` (moved on past the runs that end before the
/// block: blocks come in increasing order). `old` is `(bytes, base)`: the
/// old byte at offset `at` is `bytes[at - base]` (`base` is `block` when
/// `bytes` holds just the block, 0 when it holds the whole struct).
#[inline(always)]
fn changed_scalars(
    runs: &[Run],
    next_run: &mut usize,
    (old, base): (&[u8], usize),
    new: &[u8],
    block: usize,
    end: usize,
    changes: &mut Changes,
) {
    while *next_run < runs.len() && run_end(&runs[*next_run]) <= block {
        *next_run += 1;
    }
    for run in runs[*next_run..].iter().take_while(|run| run.offset < end) {
        let first = block.saturating_sub(run.offset) / run.width;
        let last = (end.min(run_end(run)) - run.offset) / run.width;
        for i in first..last {
            let at = run.offset + i * run.width;
            if scalar_differs(old, at - base, new, at, run.width) {
                changes.push(at, at + run.width);
            }
        }
    }
}

/// Whether the scalar of `width` bytes at `old_at` in `old` differs from
/// the one at `at` in `new`: one word compare.
#[inline(always)]
fn scalar_differs(old: &[u8], old_at: usize, new: &[u8], at: usize, width: usize) -> bool {
    fn word<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
        bytes.get(at..at + N)?.try_into().ok()
    }
    match width {
        1 => old.get(old_at) != new.get(at),
        2 => word::<2>(old, old_at) != word::<2>(new, at),
        4 => word::<4>(old, old_at) != word::<4>(new, at),
        _ => word::<8>(old, old_at) != word::<8>(new, at),
    }
}

fn run_end(run: &Run) -> usize {
    run.offset + run.width * run.count
}

/// Stores into shared memory at `dst`, from `src` (a private copy of the
/// whole struct), every scalar inside the given ranges, each with one
/// `Release` store of its width.
///
/// # Safety
///
/// As [`store_changed`]: `dst` is valid for `src.len()` bytes, aligned like
/// the struct the runs describe, only ever accessed atomically.
#[inline(always)]
pub(crate) unsafe fn store_ranges(
    dst: *const u8,
    runs: &[Run],
    ranges: &[(usize, usize)],
    src: &[u8],
) {
    scalars_in_ranges(runs, ranges, src.len(), |at, width| {
        // SAFETY: `at + width <= src.len()`, inside `dst` too, and aligned
        // to the width (`scalars_in_ranges`, the caller's promise).
        unsafe { store_one(dst, at, width, src) };
    });
}

/// Copies into the private buffer `out`, from `src`, every scalar inside
/// the given ranges: what [`store_ranges`] would store, applied to a copy
/// instead of shared memory (a range read from a damaged journal that
/// splits a scalar is applied alike by both: whole scalars only).
pub(crate) fn overlay_ranges(out: &mut [u8], runs: &[Run], ranges: &[(usize, usize)], src: &[u8]) {
    let len = out.len().min(src.len());
    scalars_in_ranges(runs, ranges, len, |at, width| {
        out[at..at + width].copy_from_slice(&src[at..at + width]);
    });
}

/// Calls `each(at, width)` for every whole scalar of `runs` that lies
/// inside one of `ranges` and below `len`.
#[inline(always)]
fn scalars_in_ranges(
    runs: &[Run],
    ranges: &[(usize, usize)],
    len: usize,
    mut each: impl FnMut(usize, usize),
) {
    for &(start, end) in ranges {
        let end = end.min(len);
        let first_run = runs.partition_point(|run| run_end(run) <= start);
        for run in runs[first_run..].iter().take_while(|run| run.offset < end) {
            let first = start.saturating_sub(run.offset).div_ceil(run.width);
            let last = (end.min(run_end(run)) - run.offset) / run.width;
            for i in first..last {
                each(run.offset + i * run.width, run.width);
            }
        }
    }
}

/// Stores the scalar of `width` bytes at `at` from `src` into `dst`.
///
/// # Safety
///
/// `at + width` is inside `src` and `dst`; `dst + at` is aligned to `width`
/// and only accessed atomically.
#[inline(always)]
unsafe fn store_one(dst: *const u8, at: usize, width: usize, src: &[u8]) {
    // SAFETY: the caller's promise; `src` is read unaligned.
    unsafe {
        let from = src.as_ptr().add(at);
        let to = dst.add(at);
        match width {
            1 => u8::store(to, *from, Release),
            2 => u16::store(to, from.cast::<u16>().read_unaligned(), Release),
            4 => u32::store(to, from.cast::<u32>().read_unaligned(), Release),
            8 => u64::store(to, from.cast::<u64>().read_unaligned(), Release),
            _ => return,
        }
    }
    crate::fault::scalar_stored();
}

/// Copies into the private buffer `out` every scalar whose bytes differ
/// between `old` and `new`, from `new`: what [`store_changed`] would store,
/// applied to a copy instead of shared memory.
pub(crate) fn overlay_changed(out: &mut [u8], runs: &[Run], old: &[u8], new: &[u8]) {
    let len = out.len().min(old.len()).min(new.len());
    for run in runs {
        for i in 0..run.count {
            let at = run.offset + i * run.width;
            let Some(end) = at.checked_add(run.width).filter(|&end| end <= len) else {
                break; // cannot happen for runs of this struct; never index out of bounds
            };
            if old[at..end] != new[at..end] {
                out[at..end].copy_from_slice(&new[at..end]);
            }
        }
    }
}

/// # Safety
///
/// `run` lies inside `dst`, `old` and `new`; `dst + run.offset` is aligned
/// to `V` and only accessed atomically.
#[inline(always)]
unsafe fn store_run<V: Word>(dst: *const u8, run: &Run, old: &[u8], new: &[u8]) -> bool {
    let mut changed = false;
    for i in 0..run.count {
        let at = run.offset + i * size_of::<V>();
        // SAFETY: `at + size_of::<V>()` is inside all three (the caller's
        // promise); the private copies are read unaligned.
        let (o, n) = unsafe {
            (
                old.as_ptr().add(at).cast::<V>().read_unaligned(),
                new.as_ptr().add(at).cast::<V>().read_unaligned(),
            )
        };
        if o != n {
            changed = true;
            // SAFETY: aligned and in bounds (the caller's promise), only
            // accessed atomically.
            unsafe { V::store(dst.add(at), n, Release) };
            crate::fault::scalar_stored();
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{FieldInfo, Primitive};

    static I32: TypeInfo = TypeInfo::Primitive(Primitive::I32);
    static U64: TypeInfo = TypeInfo::Primitive(Primitive::U64);
    static U8: TypeInfo = TypeInfo::Primitive(Primitive::U8);
    static U16: TypeInfo = TypeInfo::Primitive(Primitive::U16);
    static U32: TypeInfo = TypeInfo::Primitive(Primitive::U32);
    static PAIR: TypeInfo = TypeInfo::Struct {
        name: "Pair",
        size: 8,
        align: 4,
        fields: &[
            FieldInfo {
                name: "a",
                offset: 0,
                ty: &I32,
            },
            FieldInfo {
                name: "b",
                offset: 4,
                ty: &I32,
            },
        ],
    };
    static PAIRS: TypeInfo = TypeInfo::Array {
        element: &PAIR,
        len: 3,
    };
    static BYTES: TypeInfo = TypeInfo::Array {
        element: &U8,
        len: 8,
    };
    static TOP: TypeInfo = TypeInfo::Struct {
        name: "Top",
        size: 40,
        align: 8,
        fields: &[
            FieldInfo {
                name: "pairs",
                offset: 0,
                ty: &PAIRS,
            },
            FieldInfo {
                name: "x",
                offset: 24,
                ty: &U64,
            },
            FieldInfo {
                name: "bytes",
                offset: 32,
                ty: &BYTES,
            },
        ],
    };

    #[test]
    fn merges_adjacent_equal_widths() {
        assert_eq!(
            runs(&TOP),
            [
                Run {
                    offset: 0,
                    width: 4,
                    count: 6
                },
                Run {
                    offset: 24,
                    width: 8,
                    count: 1
                },
                Run {
                    offset: 32,
                    width: 1,
                    count: 8
                },
            ]
        );
    }

    #[test]
    fn stores_only_what_changed() {
        #[repr(align(8))]
        struct Buf([u8; 40]);
        let mut shared = Buf([0xee; 40]);
        let old = [0u8; 40];
        let mut new = old;
        new[4] = 1; // pairs[0].b
        new[33] = 2; // bytes[1]
                     // SAFETY: `shared` is 8-aligned, 40 bytes, private to this test.
        assert!(unsafe { store_changed(shared.0.as_mut_ptr(), &runs(&TOP), &old, &new) });
        let mut expected = [0xee; 40];
        expected[4..8].copy_from_slice(&[1, 0, 0, 0]);
        expected[33] = 2;
        assert_eq!(shared.0, expected);
        // SAFETY: as above.
        assert!(!unsafe { store_changed(shared.0.as_mut_ptr(), &runs(&TOP), &new, &new) });

        // The overlay on a private copy leaves the same bytes.
        let mut copy = [0xee; 40];
        overlay_changed(&mut copy, &runs(&TOP), &old, &new);
        assert_eq!(copy, expected);

        // So do the changed ranges, stored from the new copy.
        let changes = diff(&runs(&TOP), &old, &new);
        assert_eq!(changes.ranges(), Some(&[(4, 8), (33, 34)][..]));
        let mut shared = Buf([0xee; 40]);
        // SAFETY: as above.
        unsafe {
            store_ranges(
                shared.0.as_mut_ptr(),
                &runs(&TOP),
                changes.ranges().unwrap(),
                &new,
            )
        };
        assert_eq!(shared.0, expected);
        assert!(diff(&runs(&TOP), &new, &new).is_empty());
    }

    #[test]
    fn diff_merges_neighbours_and_gives_up_past_the_limit() {
        static WORDS: TypeInfo = TypeInfo::Array {
            element: &U64,
            len: 64,
        };
        let runs = runs(&WORDS);
        let old = [0u8; 512];
        let mut new = old;
        new[8..24].fill(1); // words 1 and 2: one range
        new[200] = 1; // word 25, in another block
        assert_eq!(
            diff(&runs, &old, &new).ranges(),
            Some(&[(8, 24), (200, 208)][..])
        );
        let mut many = old;
        for word in (0..64).step_by(2) {
            many[word * 8] = 1;
        }
        let changes = diff(&runs, &old, &many);
        assert!(!changes.is_empty() && changes.ranges().is_none());
    }

    /// Every width, a padding byte (13), and a length (1032) that is not a
    /// whole number of blocks.
    static MIXED: TypeInfo = TypeInfo::Struct {
        name: "Mixed",
        size: 1032,
        align: 8,
        fields: &[
            FieldInfo {
                name: "bytes",
                offset: 0,
                ty: &TypeInfo::Array {
                    element: &U8,
                    len: 13,
                },
            },
            FieldInfo {
                name: "halves",
                offset: 14,
                ty: &TypeInfo::Array {
                    element: &U16,
                    len: 9,
                },
            },
            FieldInfo {
                name: "words",
                offset: 32,
                ty: &TypeInfo::Array {
                    element: &U32,
                    len: 50,
                },
            },
            FieldInfo {
                name: "longs",
                offset: 232,
                ty: &TypeInfo::Array {
                    element: &U64,
                    len: 100,
                },
            },
        ],
    };

    proptest::proptest! {
        /// Comparing in place against shared memory finds what comparing
        /// two private copies finds.
        #[test]
        fn diff_in_place_agrees_with_diff_of_copies(
            old in proptest::collection::vec(proptest::num::u8::ANY, 1032),
            edits in proptest::collection::vec((0..1032usize, 1..=255u8), 0..14),
        ) {
            #[repr(C, align(64))]
            struct Shared([u8; 1088]);
            let runs = runs(&MIXED);
            let mut new = old.clone();
            for (at, flip) in edits {
                new[at] ^= flip;
            }
            let mut shared = Shared([0; 1088]);
            shared.0[..1032].copy_from_slice(&old);
            let copies = diff(&runs, &old, &new);
            // SAFETY: `shared` is 64-aligned and holds the struct's 1032
            // bytes; nothing else touches it.
            let in_place = unsafe { diff_shared(&runs, shared.0.as_ptr(), &new) };
            proptest::prop_assert_eq!(in_place.is_empty(), copies.is_empty());
            proptest::prop_assert_eq!(in_place.ranges(), copies.ranges());
        }
    }
}
