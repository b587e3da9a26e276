//! Past the checksum: a real region of one type with its header words and
//! later bytes (sync area, payload, journal, schema) edited as the input
//! says, the checksum recomputed (unless the input asks to leave it stale),
//! opened as the same or another type (see `shm_testing::open_check::forge`).
//!
//! Input: a byte choosing the region's type, a byte choosing the type it
//! is opened as, then `forge`'s edits.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shm_testing::open_check::{check_as, forge, scratch_file, valid_region, KINDS};

struct Scratch {
    path: PathBuf,
    regions: Vec<Vec<u8>>,
}

static SCRATCH: OnceLock<Scratch> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scratch = SCRATCH.get_or_init(|| {
        let path = scratch_file();
        let regions = (0..KINDS).map(|kind| valid_region(kind, &path)).collect();
        Scratch { path, regions }
    });
    let [made_as, opened_as, edits @ ..] = data else {
        return;
    };
    let valid = &scratch.regions[usize::from(made_as % KINDS)];
    check_as(*opened_as, &scratch.path, &forge(valid, edits));
});
