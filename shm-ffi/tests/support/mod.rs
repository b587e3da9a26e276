//! For the tests that build C programs: the C compiler and the library
//! cargo built (`shm_testing::c`), and `include/shm.h`'s directory. (The C
//! program that shares a region with Rust, steered over its standard input
//! and output, is shm-cli's tests/codegen_c.rs: it is built from the header
//! `shm codegen --lang c` writes.)

use std::path::{Path, PathBuf};

pub use shm_testing::c::*;

/// `include/shm.h`'s directory.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}
