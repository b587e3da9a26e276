//! The C interface of shm.
//!
//! - The library (`libshm_ffi.so`, `libshm_ffi.a`) exports the functions
//!   declared in `include/shm.h`: open any region by file path or shm name,
//!   snapshot it into a caller's buffer, store a buffer back all or nothing,
//!   read and write single fields by path or byte offset, wait for changes.
//!   Every call goes through the runtime's [`Region`](shm_runtime::Region),
//!   so a C program speaks the protocol of the Rust version it was linked
//!   with, never a copy of it.
//! - [`HEADER`] is `include/shm.h` as the library was built with it.
//!   `shm codegen REGION --lang c` (in `shm-cli`) embeds it in the header
//!   it writes for a region's struct.
//!
//! Every exported function returns a status (`SHM_OK` or a negative
//! `SHM_E_*`), records a message for `shm_last_error()` on failure, and
//! never lets a panic unwind into C. Its `# Safety` section is the contract
//! the header states for C callers.

#![deny(unsafe_op_in_unsafe_fn)]
#![cfg(target_os = "linux")]

mod abi;
mod args;
mod number;
mod status;

pub use abi::*;
pub use args::ShmRegion;
pub use status::{
    status_of, SHM_E_INVALID_ARGUMENT, SHM_E_LAYOUT, SHM_E_NOT_FOUND, SHM_E_OTHER,
    SHM_E_PERMISSION, SHM_E_TIMEOUT, SHM_OK,
};

/// The C interface, `include/shm.h`, as this library was built with it.
/// The C declarations `shm codegen --lang c` writes embed it, so a
/// generated header and the library it is linked against never disagree.
pub const HEADER: &str = include_str!("../include/shm.h");
