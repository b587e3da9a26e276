//! `#[repr(...)]`: a typed parser that keeps each hint's tokens for error
//! spans, and the rules a shared struct's representation must follow.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitInt, Meta, Token};

use crate::ctxt::Ctxt;

/// One hint inside `#[repr(...)]`.
enum Hint {
    C,
    Rust,
    Transparent,
    /// `packed` or `packed(N)`.
    Packed,
    /// `align(N)`, when `N` is an integer literal.
    Align(LitInt),
    /// `u8`, `i32`, ...: only meaningful on enums.
    Int,
    /// Anything else (`simd`, a typo): rustc reports it, we leave it alone.
    Other,
}

impl Hint {
    fn of(meta: &Meta) -> Hint {
        let Some(name) = meta.path().get_ident().map(Ident::to_string) else {
            return Hint::Other;
        };
        match (name.as_str(), meta) {
            ("C", Meta::Path(_)) => Hint::C,
            ("Rust", Meta::Path(_)) => Hint::Rust,
            ("transparent", Meta::Path(_)) => Hint::Transparent,
            ("packed", Meta::Path(_) | Meta::List(_)) => Hint::Packed,
            ("align", Meta::List(list)) => match list.parse_args::<LitInt>() {
                Ok(n) => Hint::Align(n),
                // A malformed `align(...)` is rustc's to report.
                Err(_) => Hint::Other,
            },
            (
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
                | "i128" | "isize",
                Meta::Path(_),
            ) => Hint::Int,
            _ => Hint::Other,
        }
    }
}

/// The largest alignment a shared struct may have: a region's payload
/// starts on a page boundary, and pages are 4096 bytes.
pub(crate) const MAX_ALIGN: usize = 4096;

const MISSING_C: &str = "`SharedState` needs `#[repr(C)]` so every process and language agrees on the layout; add `#[repr(C)]`";
const TRANSPARENT: &str = "`SharedState` needs `#[repr(C)]`, not `repr(transparent)`, so every process and language agrees on the layout; use `#[repr(C)]`";
const RUST: &str = "`SharedState` needs `#[repr(C)]`, not `repr(Rust)`, whose field order and padding are up to the compiler; use `#[repr(C)]`";

/// The representation of a shared struct, once its rules are checked:
/// `repr(C)`, plus the `align(N)` hints that the view must mirror.
pub(crate) struct Repr {
    /// `N` of each `align(N)` hint, as written.
    aligns: Vec<LitInt>,
}

impl Repr {
    /// Parses every `#[repr]` attribute in `attrs` and records an error for
    /// each hint a shared struct cannot have. `name` is the struct's name,
    /// where a missing `repr(C)` is reported.
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute], name: &Ident) -> Repr {
        let mut has_c = false;
        // Set when an error already told the user to write `#[repr(C)]`
        // instead of some hint, so a missing `repr(C)` is not reported twice.
        let mut suggested_c = false;
        let mut aligns = Vec::new();

        for (hint, meta) in hints(attrs) {
            match hint {
                Hint::C => has_c = true,
                Hint::Align(n) => {
                    // A value rustc rejects (not a power of two, too large
                    // for any type) is rustc's to report.
                    if n.base10_parse::<usize>().is_ok_and(|n| n > MAX_ALIGN) {
                        let message = format!(
                            "`SharedState` cannot be derived for a `repr({})` struct: shared \
                             regions are page-aligned, so the largest supported alignment is \
                             {MAX_ALIGN}; use `align({MAX_ALIGN})` or less",
                            compact(&meta),
                        );
                        cx.error_spanned_by(&meta, message);
                    }
                    aligns.push(n);
                }
                Hint::Packed => {
                    let message = format!(
                        "`SharedState` cannot be derived for a `repr({})` struct: misaligned \
                         fields cannot be accessed atomically; remove it, and add explicit \
                         fields such as `_pad: [u8; N]` where you need a fixed layout",
                        compact(&meta),
                    );
                    cx.error_spanned_by(&meta, message);
                }
                Hint::Transparent => {
                    suggested_c = true;
                    cx.error_spanned_by(&meta, TRANSPARENT);
                }
                Hint::Rust => {
                    suggested_c = true;
                    cx.error_spanned_by(&meta, RUST);
                }
                Hint::Int => {
                    suggested_c = true;
                    let message = format!(
                        "`SharedState` needs `#[repr(C)]`, not `repr({})`, which only sets an \
                         enum's tag type; use `#[repr(C)]`",
                        compact(&meta),
                    );
                    cx.error_spanned_by(&meta, message);
                }
                Hint::Other => {}
            }
        }

        if !has_c && !suggested_c {
            cx.error_spanned_by(name, MISSING_C);
        }
        Repr { aligns }
    }

    /// The `#[repr(...)]` attribute of the generated view: `repr(C)` and
    /// the struct's own `align(N)` hints, so both have the same alignment.
    pub(crate) fn view_attr(&self) -> TokenStream {
        let aligns = &self.aligns;
        quote::quote!(#[repr(C #(, align(#aligns))*)])
    }
}

/// Every hint of every `#[repr(...)]` in `attrs`, in order, with its tokens.
fn hints(attrs: &[Attribute]) -> Vec<(Hint, Meta)> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
        // rustc rejects a malformed `#[repr]` with its own error.
        .filter_map(|attr| {
            attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .map(|meta| (Hint::of(&meta), meta))
        .collect()
}

/// `packed(2)` rather than `packed (2)`, for messages.
fn compact(meta: &Meta) -> String {
    meta.to_token_stream().to_string().replace(' ', "")
}
