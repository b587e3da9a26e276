//! The redo journal's format: what an update is about to store, written
//! before the commit so that anyone can finish the update if its writer
//! dies (see `seqlock`).
//!
//! ```text
//! 0    kind (u64): RANGES or COPIES
//! 8    RANGES: how many ranges
//! 64   RANGES: per range, its start and end (u64 each), then its new bytes,
//!           padded to 8
//!      COPIES: the whole old value, then (at 64 + round_up(size, 64)) the
//!           whole new value
//! ```
//!
//! An update that changes a few fields journals just those (`RANGES`: a few
//! dozen bytes, whatever the struct weighs); one that changes more than
//! [`MAX_RANGES`](super::runs::MAX_RANGES) separate ranges journals both
//! copies, and the scalars that differ between them are what it stores. The
//! journal's room, `64 + 2 * round_up(size, 64)` bytes, holds the copies, so
//! ranges that would not fit take that form too.
//!
//! Every access is atomic (`atomic_copy`): readers stuck behind a dead
//! writer read the journal while an inheritor may be replaying it.

use super::atomic_copy;
use super::runs::{Changes, MAX_RANGES};

const KIND_RANGES: u64 = 1;
const KIND_COPIES: u64 = 2;
/// Where the entries start, past the kind and count words.
const BODY: usize = 64;

/// The journal's length for a payload of `size` bytes.
pub(crate) const fn len(size: usize) -> usize {
    BODY + 2 * copy_len(size)
}

/// Room for one whole copy: `size` rounded up to a cache line.
const fn copy_len(size: usize) -> usize {
    size.div_ceil(64) * 64
}

/// What a journal entry says to store, read back into private memory.
#[allow(clippy::large_enum_variant)] // read once per recovery, never moved in bulk
pub(crate) enum Entry {
    /// These ranges take their bytes from `new` (a full-size buffer; only
    /// the ranges' bytes are meaningful).
    Ranges { changes: Changes, new: Vec<u8> },
    /// Store every scalar that differs between the two copies.
    Copies { old: Vec<u8>, new: Vec<u8> },
}

/// What a publish stores, as its journal entry records it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stores<'a> {
    /// Each range, made of whole scalars, takes its bytes from `new`, a
    /// full-size copy of which only these ranges are read.
    Ranges {
        ranges: &'a [(usize, usize)],
        new: &'a [u8],
    },
    /// Every scalar whose bytes differ between `old` and `new`.
    Copies { old: &'a [u8], new: &'a [u8] },
}

impl<'a> Stores<'a> {
    /// The stores of an update that turns `old` into `new`, `changes` being
    /// what differs between them: its ranges if it has them and they fit
    /// the journal, otherwise both copies.
    pub(crate) fn of(changes: &'a Changes, old: &'a [u8], new: &'a [u8]) -> Stores<'a> {
        match Stores::ranges(changes, new) {
            Some(ranges) => ranges,
            None => Stores::Copies { old, new },
        }
    }

    /// The stores of `changes` as ranges of `new`; `None` if they are
    /// "many" or would not fit the journal's room (which only whole copies
    /// are sure to fit).
    pub(crate) fn ranges(changes: &'a Changes, new: &'a [u8]) -> Option<Stores<'a>> {
        let ranges = changes.ranges()?;
        let needed: usize = ranges
            .iter()
            .map(|(s, e)| 16 + (e - s).div_ceil(8) * 8)
            .sum();
        (needed <= 2 * copy_len(new.len())).then_some(Stores::Ranges { ranges, new })
    }

    /// The payload's size.
    pub(crate) fn size(&self) -> usize {
        match *self {
            Stores::Ranges { new, .. } => new.len(),
            Stores::Copies { old, new } => old.len().min(new.len()),
        }
    }
}

impl Entry {
    /// The stores this entry records, as its writer's publish made them.
    pub(crate) fn stores(&self) -> Stores<'_> {
        match self {
            Entry::Ranges { changes, new } => Stores::Ranges {
                // `read` builds entries of ranges only.
                ranges: changes.ranges().unwrap_or_default(),
                new,
            },
            Entry::Copies { old, new } => Stores::Copies { old, new },
        }
    }
}

/// Writes the entry of a publish that makes `stores`.
///
/// # Safety
///
/// `journal` is a region's journal for a payload of `stores.size()` bytes:
/// valid for [`len`] bytes, 64-aligned, only accessed atomically, and the
/// caller holds the writer lock (nobody else writes it).
#[inline(always)]
pub(crate) unsafe fn write(journal: *const u8, stores: &Stores<'_>) {
    // SAFETY: every offset below stays inside the journal's `len(size)`
    // bytes (`Stores::ranges` checked the ranges' total against the room;
    // the copies are `copy_len` each), 8-aligned; the caller's promise does
    // the rest.
    unsafe {
        match *stores {
            Stores::Ranges { ranges, new } => {
                store_word(journal, 0, KIND_RANGES);
                store_word(journal, 8, ranges.len() as u64);
                let mut at = BODY;
                for &(start, end) in ranges {
                    store_word(journal, at, start as u64);
                    store_word(journal, at + 8, end as u64);
                    atomic_copy::store(journal.add(at + 16), new[start..end].as_ptr(), end - start);
                    at += 16 + (end - start).div_ceil(8) * 8;
                }
            }
            Stores::Copies { old, new } => {
                let size = stores.size();
                store_word(journal, 0, KIND_COPIES);
                atomic_copy::store(journal.add(BODY), old.as_ptr(), size);
                atomic_copy::store(journal.add(BODY + copy_len(size)), new.as_ptr(), size);
            }
        }
    }
}

/// Reads back the entry for a payload of `size` bytes; `None` if it does
/// not parse (a damaged journal: nothing to replay).
///
/// # Safety
///
/// As [`write`], except that the caller need not hold the lock: a reader
/// may read while an inheritor replays (which does not write the journal);
/// the caller checks afterwards that the entry it read stayed committed.
pub(crate) unsafe fn read(journal: *const u8, size: usize) -> Option<Entry> {
    let room = 2 * copy_len(size);
    // SAFETY: offsets inside the journal's `len(size)` bytes, checked below
    // before each read; the caller's promise does the rest.
    unsafe {
        match load_word(journal, 0) {
            KIND_RANGES => {
                let count = usize::try_from(load_word(journal, 8)).ok()?;
                if count > MAX_RANGES {
                    return None;
                }
                let mut ranges = [(0usize, 0usize); MAX_RANGES];
                let mut new = vec![0u8; size];
                let mut at = BODY;
                for range in &mut ranges[..count] {
                    if at + 16 > BODY + room {
                        return None;
                    }
                    let start = usize::try_from(load_word(journal, at)).ok()?;
                    let end = usize::try_from(load_word(journal, at + 8)).ok()?;
                    let padded = end.checked_sub(start)?.div_ceil(8) * 8;
                    if end > size || at + 16 + padded > BODY + room {
                        return None;
                    }
                    atomic_copy::load(
                        journal.add(at + 16),
                        new[start..end].as_mut_ptr(),
                        end - start,
                    );
                    *range = (start, end);
                    at += 16 + padded;
                }
                let changes = Changes::from_ranges(&ranges[..count], size)?;
                Some(Entry::Ranges { changes, new })
            }
            KIND_COPIES => {
                let mut old = vec![0u8; size];
                let mut new = vec![0u8; size];
                atomic_copy::load(journal.add(BODY), old.as_mut_ptr(), size);
                atomic_copy::load(journal.add(BODY + copy_len(size)), new.as_mut_ptr(), size);
                Some(Entry::Copies { old, new })
            }
            _ => None,
        }
    }
}

/// # Safety
///
/// `journal + at` is 8-aligned, inside the journal, only accessed atomically.
unsafe fn store_word(journal: *const u8, at: usize, value: u64) {
    // SAFETY: the caller's promise.
    unsafe { atomic_copy::store(journal.add(at), value.to_le_bytes().as_ptr(), 8) };
}

/// # Safety
///
/// As [`store_word`].
unsafe fn load_word(journal: *const u8, at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: the caller's promise.
    unsafe { atomic_copy::load(journal.add(at), bytes.as_mut_ptr(), 8) };
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Primitive, TypeInfo};
    use crate::sync::runs::{self, diff};

    #[repr(C, align(64))]
    struct Journal([u8; len(256)]);

    static U32: TypeInfo = TypeInfo::Primitive(Primitive::U32);
    static WORDS: TypeInfo = TypeInfo::Array {
        element: &U32,
        len: 64,
    };

    fn round_trip(old: &[u8], new: &[u8]) -> Entry {
        let mut journal = Journal([0xaa; len(256)]);
        let changes = diff(&runs::runs(&WORDS), old, new);
        // SAFETY: a private, 64-aligned buffer of the journal's length.
        unsafe {
            write(journal.0.as_mut_ptr(), &Stores::of(&changes, old, new));
            read(journal.0.as_ptr(), old.len()).expect("a journal just written parses")
        }
    }

    #[test]
    fn a_few_changes_journal_as_ranges() {
        let old = [0u8; 256];
        let mut new = old;
        new[4..8].copy_from_slice(&7u32.to_le_bytes());
        new[100..104].copy_from_slice(&9u32.to_le_bytes());
        match round_trip(&old, &new) {
            Entry::Ranges { changes, new: back } => {
                assert_eq!(changes.ranges(), Some(&[(4, 8), (100, 104)][..]));
                assert_eq!(back[4..8], new[4..8]);
                assert_eq!(back[100..104], new[100..104]);
            }
            Entry::Copies { .. } => panic!("two words changed: expected ranges"),
        }
    }

    #[test]
    fn many_changes_journal_as_copies() {
        let old = [0u8; 256];
        let mut new = old;
        for word in (0..64).step_by(2) {
            new[word * 4] = 1;
        }
        match round_trip(&old, &new) {
            Entry::Copies { old: o, new: n } => assert_eq!((&o[..], &n[..]), (&old[..], &new[..])),
            Entry::Ranges { .. } => panic!("32 ranges: expected copies"),
        }
    }

    #[test]
    fn damaged_journals_do_not_parse() {
        let mut journal = Journal([0; len(256)]);
        // SAFETY: a private, 64-aligned buffer of the journal's length.
        let read_back = |j: &Journal| unsafe { read(j.0.as_ptr(), 256) }.is_none();
        assert!(read_back(&journal), "kind 0");
        journal.0[0] = KIND_RANGES as u8;
        journal.0[8] = 200; // count above MAX_RANGES
        assert!(read_back(&journal));
        journal.0[8] = 1;
        journal.0[BODY..BODY + 8].copy_from_slice(&300u64.to_le_bytes()); // start past the end
        journal.0[BODY + 8..BODY + 16].copy_from_slice(&304u64.to_le_bytes());
        assert!(read_back(&journal));
    }

    /// A journal buffer for a payload of `size` bytes, 64-aligned, filled
    /// with `fill`.
    fn journal_of(size: usize, fill: u8) -> Vec<Line> {
        vec![Line([fill; 64]); len(size) / 64]
    }

    #[derive(Clone, Copy)]
    #[repr(C, align(64))]
    struct Line([u8; 64]);

    fn bytes(lines: &mut [Line]) -> *mut u8 {
        lines.as_mut_ptr().cast()
    }

    static U8: TypeInfo = TypeInfo::Primitive(Primitive::U8);

    proptest::proptest! {
        /// Entries of changed ranges, written and read back, for ranges of
        /// every length at every place: each range's bytes land wherever
        /// the entries before it end (any multiple of 8 in the journal),
        /// and come back exactly.
        #[test]
        fn range_entries_round_trip_at_every_alignment(
            size in 1usize..=700,
            cuts in proptest::collection::vec(0usize..=700, 0..=2 * MAX_RANGES),
            seed in proptest::prelude::any::<u8>(),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (size + 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let ranges: Vec<(usize, usize)> = cuts
                .chunks_exact(2)
                .map(|pair| (pair[0], pair[1]))
                .collect();
            // What `Stores::ranges` lets through: entries that fit the room.
            let needed: usize = ranges.iter().map(|(s, e)| 16 + (e - s).div_ceil(8) * 8).sum();
            proptest::prop_assume!(needed <= 2 * copy_len(size));
            let new: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(seed | 1)).collect();
            let stores = Stores::Ranges { ranges: &ranges, new: &new };
            let mut journal = journal_of(size, 0xaa);
            // SAFETY: a private, 64-aligned buffer of the journal's length;
            // the ranges are sorted, disjoint and inside `size`, at most
            // MAX_RANGES, which the room holds.
            let entry = unsafe {
                write(bytes(&mut journal), &stores);
                read(bytes(&mut journal), size)
            };
            match entry {
                Some(Entry::Ranges { changes, new: back }) => {
                    proptest::prop_assert_eq!(changes.ranges(), Some(&ranges[..]));
                    for &(start, end) in &ranges {
                        proptest::prop_assert_eq!(&back[start..end], &new[start..end]);
                    }
                }
                Some(Entry::Copies { .. }) => proptest::prop_assert!(false, "read back copies"),
                None => proptest::prop_assert!(ranges.is_empty(), "{ranges:?} did not parse"),
            }
        }

        /// Forged journals, whatever their words say (kinds, counts, ranges
        /// past the end, reversed or overlapping, lengths that reach past
        /// the room, at every alignment), read without a fault and yield
        /// only entries inside the payload, which apply without one.
        #[test]
        fn forged_entries_read_and_apply_safely(
            size in 1usize..=700,
            words in proptest::collection::vec(
                (0usize..64, proptest::prelude::any::<u64>()),
                0..48,
            ),
            kind in 0u64..=3,
            count in 0u64..=10,
            small in proptest::collection::vec(0u64..=720, 0..32),
        ) {
            let mut journal = journal_of(size, 0);
            let at = bytes(&mut journal);
            let room = len(size);
            let put = |offset: usize, value: u64| {
                let offset = offset / 8 * 8;
                if offset + 8 <= room {
                    // SAFETY: inside the private buffer, 8-aligned.
                    unsafe { at.add(offset).cast::<u64>().write(value) };
                }
            };
            put(0, kind);
            put(8, count);
            // Plausible starts and ends, so that entries parse often and
            // their bytes fall at every 8-aligned place.
            for (i, &v) in small.iter().enumerate() {
                put(BODY + 8 * i, v);
            }
            for &(slot, value) in &words {
                put(8 * slot, value);
            }
            // SAFETY: a private, 64-aligned buffer of the journal's length.
            let entry = unsafe { read(at, size) };
            let Some(entry) = entry else { return Ok(()) };
            let mut out = vec![0u8; size];
            let runs = runs::runs(&TypeInfo::Array { element: &U8, len: size });
            match entry.stores() {
                Stores::Ranges { ranges, new } => {
                    let mut end_of_previous = 0;
                    for &(start, end) in ranges {
                        proptest::prop_assert!(end_of_previous <= start && start < end && end <= size);
                        end_of_previous = end;
                    }
                    let mut payload = journal_of(size, 0);
                    // SAFETY: a private, 64-aligned buffer of at least
                    // `size` bytes; the ranges lie inside `size` (checked
                    // just above) and the runs are of single bytes.
                    unsafe { runs::store_ranges(bytes(&mut payload), &runs, ranges, new) };
                }
                Stores::Copies { old, new } => {
                    proptest::prop_assert!(old.len() == size && new.len() == size);
                    runs::overlay_changed(&mut out, &runs, old, new);
                }
            }
        }
    }
}
