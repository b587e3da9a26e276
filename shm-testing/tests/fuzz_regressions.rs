//! The fuzz targets' inputs worth keeping, replayed through the same checks
//! (`shm_testing::open_check`) in a normal test run.
//!
//! Every file under `tests/fuzz-regressions/<target>/` is an input of that
//! cargo-fuzz target (`fuzz/fuzz_targets/<target>.rs`), decoded the same
//! way: add a crash input there (`cp fuzz/artifacts/<target>/crash-...`)
//! and it is replayed here for good. The named tests below are forged
//! damage a crash or a copy could leave, built with `open_check::forge`.

mod support;

use std::path::Path;

use shm_testing::open_check::{self, check_as, forge, kind_name, valid_region, Outcome, KINDS};
use shm_testing::Foo;

/// Replays one input of `target`.
fn replay(target: &str, path: &Path, input: &[u8]) -> Outcome {
    match target {
        "open_bytes" => check_as(0, path, input),
        "open_any_type" => match input.split_first() {
            Some((&kind, file)) => check_as(kind, path, file),
            None => Outcome::default(),
        },
        "open_forged" => match input {
            [made_as, opened_as, edits @ ..] => {
                let valid = valid_region(*made_as, path);
                check_as(*opened_as, path, &forge(&valid, edits))
            }
            _ => Outcome::default(),
        },
        other => panic!("no fuzz target {other}"),
    }
}

#[test]
fn saved_inputs_replay_cleanly() {
    let scratch = support::Scratch::file();
    let path = scratch.target.backing_path();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for target in ["open_bytes", "open_forged", "open_any_type"] {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let file = entry.expect("listing the saved inputs").path();
            let input = std::fs::read(&file).expect("reading a saved input");
            println!("{target}: {}", file.display());
            replay(target, &path, &input);
            replayed += 1;
        }
    }
    println!("{replayed} saved inputs replayed");
}

/// The sync area starts right after the 128-byte header; `forge` counts
/// its body edits from there.
fn body_edit(offset_in_file: usize, xor: u8) -> [u8; 3] {
    let at = u16::try_from(offset_in_file - 128).expect("within 64 KiB");
    let [lo, hi] = at.to_le_bytes();
    [lo, hi, xor]
}

/// `forge`'s prefix that keeps every header word and the length, then the
/// body edits.
fn edits(body: &[[u8; 3]]) -> Vec<u8> {
    let mut input = vec![0u8; 1 + 13 + 1];
    input.extend(body.iter().flatten());
    input
}

#[test]
fn every_type_opens_its_own_region_and_refuses_the_others() {
    let scratch = support::Scratch::file();
    let path = scratch.target.backing_path();
    for made_as in 0..KINDS {
        let valid = valid_region(made_as, &path);
        for opened_as in 0..KINDS {
            let outcome = check_as(opened_as, &path, &valid);
            // Foo and Renamed differ in a field name only: still refused.
            let same = made_as == opened_as;
            assert_eq!(
                outcome,
                Outcome {
                    read_only: same,
                    read_write: same
                },
                "a {} region opened as {}",
                kind_name(made_as),
                kind_name(opened_as)
            );
        }
    }
}

/// A region file copied (or left by a crash) between a writer's journal
/// commit and its first payload store: `seq` odd, the entry committed,
/// the lock word naming a process that is gone. Both handles give the
/// committed value, and the read-write one rolls it forward.
#[test]
fn a_file_left_mid_publish_is_rolled_forward() {
    let scratch = support::Scratch::file();
    let path = scratch.target.backing_path();
    let valid = valid_region(0, &path);
    // Foo: payload at 4096; journal at 4160: its kind word (2: whole
    // copies), then the old copy at 4224 and the new one at 4288.
    let dead_owner = (0x7fff_fff0u64 << 32) | 0x1234_5679;
    let mut body = vec![
        body_edit(128, 1),  // seq = 1
        body_edit(136, 2),  // journal_target = 2
        body_edit(4160, 2), // journal kind: copies
        body_edit(4288, 0x11),
    ];
    body.extend(
        dead_owner
            .to_le_bytes()
            .iter()
            .enumerate()
            .map(|(i, &b)| body_edit(256 + i, b)),
    );
    // The old copy must equal the payload where the update did not
    // change it: Foo's initial bytes are i * 31 + 7.
    body.extend((0..8).map(|i| body_edit(4224 + i, (i as u8).wrapping_mul(31).wrapping_add(7))));
    body.extend((1..8).map(|i| body_edit(4288 + i, (i as u8).wrapping_mul(31).wrapping_add(7))));
    let forged = forge(&valid, &edits(&body));
    let committed = Foo {
        bar: i32::from_le_bytes([0x11, 38, 69, 100]),
        baz: i32::from_le_bytes([131, 162, 193, 224]),
    };

    std::fs::write(&path, &forged).unwrap();
    let reader = Foo::open_file_read_only(&path).unwrap();
    assert_eq!(
        reader.snapshot(),
        committed,
        "read-only sees the committed state"
    );
    drop(reader);
    assert_eq!(std::fs::read(&path).unwrap(), forged, "a reader wrote");
    let writer = Foo::open_file(&path).unwrap();
    assert_eq!(writer.snapshot(), committed);
    assert_eq!(
        writer.update(|f| *f),
        committed,
        "rolled forward under the lock"
    );

    open_check::check_as(0, &path, &forged);
}

/// Odd `seq` with no committed entry, a lock word with the contended bit
/// and no owner, waiters counted that do not exist: damage no protocol
/// step leaves. Opening and one update still work.
#[test]
fn damaged_sync_words_do_not_wedge_the_region() {
    let scratch = support::Scratch::file();
    let path = scratch.target.backing_path();
    let valid = valid_region(4, &path);
    let cases: [&[[u8; 3]]; 4] = [
        &[body_edit(128, 1)],
        &[body_edit(128, 1), body_edit(136, 0x40)],
        &[body_edit(263, 0x80)],
        &[
            body_edit(196, 3),
            body_edit(200, 0xff),
            body_edit(256 + 4, 0xff),
        ],
    ];
    for body in cases {
        let outcome = check_as(4, &path, &forge(&valid, &edits(body)));
        assert_eq!(
            outcome,
            Outcome {
                read_only: true,
                read_write: true
            },
            "{body:?}"
        );
    }
}

/// Header words edited and the checksum recomputed, so only the geometry
/// checks stand between the bytes and a mapping.
#[test]
fn forged_geometry_is_refused_without_touching_the_file() {
    let scratch = support::Scratch::file();
    let path = scratch.target.backing_path();
    let valid = valid_region(0, &path);
    // Tag 3 replaces a word with the next eight bytes; words in the order
    // fingerprint, payload offset/size/align, journal offset/len, schema
    // offset/len, total length.
    let replace = |word: usize, value: u64| {
        let mut input = vec![0u8];
        for i in 0..13 {
            if i == word {
                input.push(3);
                input.extend(value.to_le_bytes());
            } else {
                input.push(0);
            }
        }
        input.push(0);
        input
    };
    for (word, value) in [
        (1, 0),        // payload inside the header page
        (1, 4097),     // misaligned payload
        (2, 0),        // empty payload
        (2, u64::MAX), // payload past everything
        (3, 3),        // alignment not a power of two
        (3, 8192),     // alignment above a page
        (4, 4096),     // journal over the payload
        (5, 8),        // journal too small
        (6, 4100),     // schema over the journal
        (7, u64::MAX), // schema length overflows
        (8, 4096),     // total length inside the payload
        (8, 1 << 41),  // total length over the limit
        (8, 12288),    // longer than the file: truncated
    ] {
        let outcome = check_as(0, &path, &forge(&valid, &replace(word, value)));
        assert_eq!(outcome, Outcome::default(), "word {word} = {value}");
    }
}
