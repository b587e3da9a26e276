//! `#[derive(SharedState)]`, re-exported by `shm_runtime`: use it from there.
//!
//! This file is the entry point only. The input model and its rules are in
//! `ast` (shape), `repr` (`#[repr]`), `attr` (`#[shm(...)]`) and
//! `field_type` (field types rejected by syntax), with every error collected
//! by `ctxt`; `grouping` keeps macro fragments' precedence in the types the
//! generated code repeats; code generation is in `expand`.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod field_type;
mod grouping;
mod repr;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `SharedState` for a `#[repr(C)]` struct with named fields, so it
/// can live in a region of shared memory that several processes map.
///
/// ```ignore
/// use shm_runtime::SharedState;
///
/// #[derive(SharedState, Clone, Copy, Debug, Default)]
/// #[repr(C)]
/// pub struct Foo {
///     pub bar: i32,
///     pub samples: [u16; 8],
/// }
/// ```
///
/// Fields may be integers (`u8`..`u64`, `i8`..`i64`, `usize`, `isize`),
/// `f32`, `f64`, arrays of those, and structs that derive `SharedState`. The
/// struct must have no implicit padding (add explicit `_pad: [u8; N]`
/// fields), an alignment of at most 4096 (regions are page-aligned), and
/// must implement `Copy`.
///
/// Generated, next to the struct: the view type `FooView` that
/// `Shared<Foo>` dereferences to, with one public atomic member per field
/// (`foo.bar.get()`, `foo.samples[3].set(9)`); the read-only view type
/// `FooReadOnlyView` that `ReadOnly<Foo>` dereferences to, the same with
/// `get` only; and on `Foo`: `open_file`, `open_shm`, `open_file_read_only`,
/// `open_shm_read_only`, `options`, `as_bytes` and `from_bytes`.
///
/// Options, on the struct:
/// - `#[shm(crate = "path")]`: where the runtime crate is, for a renamed
///   dependency or a re-export (default `::shm_runtime`);
/// - `#[shm(view = "Name")]`: the view type's name (default `{Struct}View`);
/// - `#[shm(read_only_view = "Name")]`: the read-only view type's name
///   (default `{Struct}ReadOnlyView`).
#[proc_macro_derive(SharedState, attributes(shm))]
pub fn derive_shared_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
