//! Macro fragments keep their precedence in the types the derive repeats.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::quote;
use syn::Type;

/// `tokens` inside a group without delimiters, as `macro_rules!` passes an
/// `$x:expr` or `$t:ty` fragment.
fn fragment(tokens: TokenStream) -> TokenStream {
    let group = Group::new(Delimiter::None, tokens);
    quote!(#group)
}

fn explicit(tokens: TokenStream) -> String {
    let ty: Type = match syn::parse2(tokens) {
        Ok(ty) => ty,
        Err(error) => panic!("not a type: {error}"),
    };
    let ty = crate::grouping::explicit(&ty);
    quote!(#ty).to_string()
}

#[test]
fn a_length_fragment_becomes_parenthesised() {
    let bytes = fragment(quote!(1 << 20));
    assert_eq!(
        explicit(quote!([u64; #bytes / 8 - 1])),
        quote!([u64; (1 << 20) / 8 - 1]).to_string()
    );
}

#[test]
fn fragments_are_found_at_any_depth() {
    let len = fragment(quote!(1 + 1));
    let elem = fragment(quote!([u32; #len * 2]));
    // The type fragment stays a group: in a type position, it keeps its
    // meaning without delimiters.
    let explicit_elem = fragment(quote!([u32; (1 + 1) * 2]));
    assert_eq!(
        explicit(quote!([#elem; #len])),
        quote!([#explicit_elem; (1 + 1)]).to_string()
    );
}

#[test]
fn types_without_fragments_are_unchanged() {
    let ty = quote!([[u16; 2 + 2]; 4]);
    assert_eq!(explicit(ty.clone()), ty.to_string());
}
