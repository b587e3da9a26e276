//! Which bytes changed between two states: the ranges a delta carries.

use std::ops::Range;

use crate::wire::RANGE_OVERHEAD;

/// The byte ranges where `new` differs from `old` (equal lengths), in
/// increasing order. Two ranges closer than a range's own overhead on the
/// wire are merged: sending the equal bytes between them costs less than
/// a second range header.
///
/// Equal 8-byte words are skipped a word at a time.
pub fn changed_ranges(old: &[u8], new: &[u8]) -> Vec<Range<usize>> {
    debug_assert_eq!(old.len(), new.len());
    let len = old.len().min(new.len());
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let mut push = |at: usize| match ranges.last_mut() {
        Some(last) if at <= last.end + RANGE_OVERHEAD => last.end = at + 1,
        _ => ranges.push(at..at + 1),
    };
    let words = len / 8;
    for word in 0..words {
        let at = word * 8;
        if old[at..at + 8] != new[at..at + 8] {
            for i in at..at + 8 {
                if old[i] != new[i] {
                    push(i);
                }
            }
        }
    }
    for i in words * 8..len {
        if old[i] != new[i] {
            push(i);
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_change_no_ranges() {
        assert!(changed_ranges(&[1, 2, 3], &[1, 2, 3]).is_empty());
        assert!(changed_ranges(&[], &[]).is_empty());
    }

    #[test]
    fn close_changes_merge_far_ones_do_not() {
        let old = [0u8; 64];
        let mut new = old;
        new[3] = 1;
        new[5] = 1; // 1 byte apart: merged
        new[40] = 1; // far: its own range
        new[63] = 1;
        assert_eq!(changed_ranges(&old, &new), vec![3..6, 40..41, 63..64]);
    }

    proptest! {
        /// Every changed byte is inside a range, ranges are increasing and
        /// do not touch, and copying the ranges turns old into new.
        #[test]
        fn ranges_cover_exactly_what_changed(
            old in prop::collection::vec(any::<u8>(), 0..200),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..20),
        ) {
            let mut new = old.clone();
            if !new.is_empty() {
                for (at, v) in edits {
                    let at = at.index(new.len());
                    new[at] = v;
                }
            }
            let ranges = changed_ranges(&old, &new);
            let mut rebuilt = old.clone();
            let mut end = 0;
            for r in &ranges {
                prop_assert!(r.start >= end && !r.is_empty() && r.end <= new.len());
                prop_assert!(r.start == 0 || r.start > end + RANGE_OVERHEAD || end == 0);
                rebuilt[r.clone()].copy_from_slice(&new[r.clone()]);
                end = r.end;
            }
            prop_assert_eq!(rebuilt, new);
        }
    }
}
