//! The view: the struct as seen in shared memory, one atomic per field.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::doc;
use crate::ast::Container;

/// `pub struct FooView { pub bar: <i32 as SharedField>::View, ... }`, with
/// the struct's visibility, `repr(C)` and `align`, and each field's
/// visibility and docs.
pub(super) fn view_struct(cont: &Container) -> TokenStream {
    let krate = &cont.options.krate;
    let vis = cont.vis;
    let view = &cont.options.view;
    let name = cont.ident.unraw();
    let repr = cont.repr.view_attr();
    let doc = doc(&[
        &format!("Shared-memory view of [`{name}`]: one atomic cell per field."),
        "",
        &format!("`Shared<{name}>` dereferences to it. Each field is read and written with"),
        "atomic operations on the shared memory (`get`, `set`, `fetch_add`, ...);",
        "arrays index to cells and nested structs to their own views.",
    ]);

    let fields = cont.fields.iter().map(|field| {
        let docs = &field.docs;
        let vis = field.vis;
        // A call-site span marks the field as generated code, so lints such
        // as `dead_code` do not fire on it in the user's crate.
        let mut ident = field.ident.clone();
        ident.set_span(Span::call_site());
        let ty = &field.ty;
        // The field's span: a type that is not a `SharedField` is reported
        // on the field, with the trait's `on_unimplemented` message.
        let view_ty = quote_spanned!(ty.span()=> <#ty as #krate::SharedField>::View);
        quote! {
            #(#docs)*
            #vis #ident: #view_ty
        }
    });

    quote! {
        #doc
        #repr
        #vis struct #view {
            #(#fields,)*
        }
    }
}

/// `Debug` for the view: the current value of every field, each read
/// atomically on its own (not a consistent snapshot).
pub(super) fn debug_impl(cont: &Container) -> TokenStream {
    let view = &cont.options.view;
    let view_name = view.unraw().to_string();
    let fields = cont.fields.iter().map(|field| {
        let ident = field.ident;
        let name = ident.unraw().to_string();
        quote!(.field(#name, &self.#ident))
    });
    quote! {
        #[automatically_derived]
        impl ::core::fmt::Debug for #view {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#view_name)
                    #(#fields)*
                    .finish()
            }
        }
    }
}
