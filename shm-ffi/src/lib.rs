//! The C interface of shm, and C declarations generated from a region's
//! schema.
//!
//! - The library (`libshm_ffi.so`, `libshm_ffi.a`) exports the functions
//!   declared in `include/shm.h`: open any region by file path or shm name,
//!   snapshot it into a caller's buffer, store a buffer back all or nothing,
//!   read and write single fields by path or byte offset, wait for changes.
//!   Every call goes through the runtime's [`Region`](shm_runtime::Region),
//!   so a C program speaks the protocol of the Rust version it was linked
//!   with, never a copy of it.
//! - [`c_declaration`] writes a self-contained C header for a region's
//!   struct: its typedefs, `_Static_assert`s on every size and offset, its
//!   fingerprint, and the declarations of `include/shm.h`.
//!
//! Every exported function returns a status (`SHM_OK` or a negative
//! `SHM_E_*`), records a message for `shm_last_error()` on failure, and
//! never lets a panic unwind into C. Its `# Safety` section is the contract
//! the header states for C callers.

#![deny(unsafe_op_in_unsafe_fn)]
#![cfg(target_os = "linux")]

mod abi;
mod args;
mod codegen;
mod number;
mod status;

pub use abi::*;
pub use args::ShmRegion;
pub use codegen::{c_declaration, HEADER};
pub use status::{
    status_of, SHM_E_INVALID_ARGUMENT, SHM_E_LAYOUT, SHM_E_NOT_FOUND, SHM_E_OTHER,
    SHM_E_PERMISSION, SHM_E_TIMEOUT, SHM_OK,
};
