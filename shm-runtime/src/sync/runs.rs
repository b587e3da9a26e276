//! A struct's scalars as runs of equal-width elements, for comparing a
//! private copy with another and storing what changed with atomics of
//! exactly the fields' widths.

use std::sync::atomic::Ordering::Release;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};

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

fn add(out: &mut Vec<Run>, run: Run) {
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
                1 => store_run::<AtomicU8, u8>(dst, run, old, new),
                2 => store_run::<AtomicU16, u16>(dst, run, old, new),
                4 => store_run::<AtomicU32, u32>(dst, run, old, new),
                8 => store_run::<AtomicU64, u64>(dst, run, old, new),
                _ => false,
            }
        };
    }
    changed
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

/// An atomic the width of a scalar, for [`store_run`].
trait StoreAtomic<V> {
    fn store_release(&self, value: V);
}

macro_rules! store_atomic {
    ($($atomic:ident $v:ident),*) => {$(
        impl StoreAtomic<$v> for $atomic {
            #[inline(always)]
            fn store_release(&self, value: $v) {
                self.store(value, Release)
            }
        }
    )*};
}
store_atomic!(AtomicU8 u8, AtomicU16 u16, AtomicU32 u32, AtomicU64 u64);

/// # Safety
///
/// `run` lies inside `dst`, `old` and `new`; `dst + run.offset` is aligned
/// to `V` and only accessed atomically.
#[inline(always)]
unsafe fn store_run<A: StoreAtomic<V>, V: Copy + PartialEq>(
    dst: *const u8,
    run: &Run,
    old: &[u8],
    new: &[u8],
) -> bool {
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
            // SAFETY: aligned and in bounds (the caller's promise); `A` has
            // the size of `V` and is only accessed atomically.
            unsafe { (*dst.add(at).cast::<A>()).store_release(n) };
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
    }
}
