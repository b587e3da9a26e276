//! The whole open path on arbitrary file contents, as each struct type:
//! the first byte chooses the type (see `shm_testing::open_check::kind_name`), the
//! rest is the file.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

static SCRATCH: OnceLock<PathBuf> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&kind, file)) = data.split_first() else {
        return;
    };
    let path = SCRATCH.get_or_init(shm_testing::open_check::scratch_file);
    shm_testing::open_check::check_as(kind, path, file);
});
