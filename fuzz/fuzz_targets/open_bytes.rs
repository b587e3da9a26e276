//! Header decoding through the public open path: the input is the whole
//! file, opened read-only and read-write as `Foo` (see `shm_testing::open_check`).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = SCRATCH.get_or_init(shm_testing::open_check::scratch_file);
    shm_testing::open_check::check_as(0, path, data);
});
