//! Code generation: from a checked [`Container`] to the view types, the
//! trait impls, the compile-time layout proofs and the constructors.
//!
//! Everything but the two view types goes into one `const _: () = { ... };`
//! block, so the derive adds only those nameable items to the user's module.
//! Paths are absolute (`::core::...`, and the runtime crate's path from
//! `#[shm(crate = "...")]`), so the output compiles whatever the user has
//! imported, in a `#![no_implicit_prelude]` module too.

mod layout;
mod methods;
mod view;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Container;
use view::Access;

/// The derive on proc_macro2 tokens: the generated items, or every error
/// found in `input`, combined.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cont = Container::from_ast(input)?;

    let view_structs = Access::BOTH.map(|access| view::view_struct(&cont, access));
    let view_debugs = Access::BOTH.map(|access| view::debug_impl(&cont, access));
    let shared_field = layout::shared_field_impl(&cont);
    let shared_state = layout::shared_state_impl(&cont);
    let assertions = layout::assertions(&cont);
    let methods = methods::inherent_impl(&cont);

    Ok(quote! {
        #(#view_structs)*

        const _: () = {
            #shared_field
            #shared_state
            #assertions
            #(#view_debugs)*
            #methods
        };
    })
}

/// `#[doc = "..."]` attributes, one per line, as `///` comments would give.
fn doc(lines: &[&str]) -> TokenStream {
    let lines = lines.iter().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}
