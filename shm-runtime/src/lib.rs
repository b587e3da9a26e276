//! Typed shared state between processes.
//!
//! Derive [`SharedState`] on a `#[repr(C)]` struct, open it by file or POSIX
//! shm name, and every process that opens the same region reads and writes
//! the same fields, each access one atomic instruction:
//!
//! ```
//! use shm_runtime::SharedState;
//!
//! #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
//! #[repr(C)]
//! pub struct Foo {
//!     pub bar: i32,
//!     pub baz: i32,
//! }
//!
//! # fn main() -> shm_runtime::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("shm-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("suchfoo");
//! let foo = Foo::options().initial(Foo { bar: 42, baz: 98 }).open_file(&path)?;
//! assert_eq!(foo.bar.get(), 42);
//! foo.bar.set(31337); // seen at once by every process that opened the file
//! assert_eq!(Foo::open_file(&path)?.bar.get(), 31337);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```
//!
//! What the crate guarantees, and where each guarantee is made:
//! - Only types valid for every bit pattern can be fields, and implicit
//!   padding is rejected, at compile time (the derive).
//! - Every field operation is one atomic instruction ([`SharedCell`]).
//! - A region carries a self-checking header with the layout fingerprint; a
//!   file that is not a region is never modified, a region of another layout
//!   or one shorter than recorded is refused (`header`, [`OpenOptions`]).
//! - Any number of processes may race to create a region; exactly one
//!   initialises it, and a creator killed half-way is detected and redone.

#![deny(unsafe_op_in_unsafe_fn)]

// Said once, plainly, rather than a crate that silently compiles to nothing.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "shm-runtime supports Linux only: it uses /dev/shm, O_TMPFILE, flock, fallocate, \
     futexes and /proc (see the README's Limits)"
);

mod cell;
mod deadline;
mod dynamic;
mod error;
mod fault;
mod header;
mod layout;
mod mapping;
mod open;
mod os;
mod raw;
mod read_only;
mod region;
pub mod schema;
mod shared;
mod sync;
mod traits;

pub use cell::{ReadOnlyCell, Scalar, SharedCell};
pub use dynamic::{
    FieldOp, LockState, Mapped, Region, RegionOptions, Removal, Transaction, User, Users, Value,
};
pub use error::{Error, LayoutMismatchDetail, Location, Result};
pub use layout::{FieldInfo, Primitive, TypeInfo};
pub use read_only::ReadOnly;
pub use region::{remove_shm, OpenOptions};
pub use schema::{FieldDesc, Schema, StructDesc, TypeDesc};
pub use shared::Shared;
pub use traits::{as_bytes, from_bytes, SharedField, SharedState};

/// The derive: `#[derive(SharedState)]` on a `#[repr(C)]` struct.
pub use shm_derive::SharedState;

/// Items the generated code names. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use std::path::Path;
}
