//! Property tests: whatever bytes a file holds, opening it as a region never
//! panics, never maps past its end (a SIGBUS would kill this test process),
//! never accepts it by accident, and never changes it.

mod support;

use proptest::prelude::*;
use shm_runtime::Error;
use shm_testing::{Foo, SEED};
use support::{snapshot_file, Scratch};

/// A real region's bytes, to mutate into plausible-looking damage.
fn valid_region() -> Vec<u8> {
    let scratch = Scratch::file();
    let path = scratch.target.backing_path();
    drop(Foo::options().initial(SEED).open_file(&path).unwrap());
    std::fs::read(path).unwrap()
}

fn check_refused(bytes: &[u8]) -> Result<(), TestCaseError> {
    let scratch = Scratch::file();
    let path = scratch.target.backing_path();
    std::fs::write(&path, bytes).unwrap();
    let before = snapshot_file(&path);
    let result = Foo::open_file(&path);
    let after = snapshot_file(&path);
    prop_assert!(before.0 == after.0, "contents changed");
    prop_assert_eq!(before.1.len(), after.1.len());
    match result {
        Err(
            Error::NotSharedState { .. } | Error::Truncated { .. } | Error::LayoutMismatch { .. },
        ) => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "{} bytes: {other:?}",
            bytes.len()
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 1..12_000)) {
        check_refused(&bytes)?;
    }

    #[test]
    fn magic_followed_by_random_bytes_is_refused(tail in prop::collection::vec(any::<u8>(), 0..9_000)) {
        let mut bytes = b"SHMSTATE".to_vec();
        bytes.extend(tail);
        check_refused(&bytes)?;
    }

    /// One to four header bytes changed (the state word aside, which only
    /// moves between INITIALISING and READY) or the region cut short.
    #[test]
    fn damaged_regions_are_refused(
        edits in prop::collection::vec((0usize..128, 1u8..=255), 1..4),
        cut in prop::option::of(0usize..12_288),
    ) {
        let mut bytes = valid_region();
        for (at, flip) in edits {
            if (16..20).contains(&at) {
                continue;
            }
            bytes[at] ^= flip;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.clamp(1, bytes.len() - 1));
        } else if bytes == valid_region() {
            return Ok(()); // every edit hit the state word: nothing damaged
        }
        check_refused(&bytes)?;
    }
}
