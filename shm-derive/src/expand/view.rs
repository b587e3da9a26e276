//! The views: the struct as seen in shared memory, one atomic per field,
//! read-write (through `Shared<T>`) or read-only (through `ReadOnly<T>`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::Ident;

use super::doc;
use crate::ast::Container;

/// Which of the two view types.
#[derive(Clone, Copy)]
pub(super) enum Access {
    /// `FooView`: every cell operation.
    ReadWrite,
    /// `FooReadOnlyView`: `get` only.
    ReadOnly,
}

impl Access {
    pub(super) const BOTH: [Access; 2] = [Access::ReadWrite, Access::ReadOnly];

    /// The view type's name.
    pub(super) fn name<'c>(self, cont: &'c Container) -> &'c Ident {
        match self {
            Access::ReadWrite => &cont.options.view,
            Access::ReadOnly => &cont.options.read_only_view,
        }
    }

    /// The associated type of `SharedField` that names this view, with the
    /// span an error about it should be reported at.
    pub(super) fn associated_type(self, span: Span) -> Ident {
        let name = match self {
            Access::ReadWrite => "View",
            Access::ReadOnly => "ReadOnlyView",
        };
        Ident::new(name, span)
    }
}

/// `pub struct FooView { pub bar: <i32 as SharedField>::View, ... }`, or
/// the same with `ReadOnlyView`, with the struct's visibility, `repr(C)`
/// and `align`, and each field's visibility and docs.
pub(super) fn view_struct(cont: &Container, access: Access) -> TokenStream {
    let krate = &cont.options.krate;
    let vis = cont.vis;
    let view = access.name(cont);
    let name = cont.ident.unraw();
    let repr = cont.repr.view_attr();
    let doc = match access {
        Access::ReadWrite => doc(&[
            &format!("Shared-memory view of [`{name}`]: one atomic cell per field."),
            "",
            &format!("`Shared<{name}>` dereferences to it. Each field is read and written with"),
            "atomic operations on the shared memory (`get`, `set`, `fetch_add`, ...);",
            "arrays index to cells and nested structs to their own views.",
        ]),
        Access::ReadOnly => doc(&[
            &format!("Read-only shared-memory view of [`{name}`]: one atomic cell per field,"),
            "which can be read but not written.",
            "",
            &format!("`ReadOnly<{name}>` (from `{name}::open_file_read_only`) dereferences to"),
            "it. Each field is read with an atomic load (`get`); arrays index to cells",
            "and nested structs to their own read-only views.",
        ]),
    };

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
        let associated_type = access.associated_type(ty.span());
        let view_ty = quote_spanned!(ty.span()=> <#ty as #krate::SharedField>::#associated_type);
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

/// `Debug` for a view: the current value of every field, each read
/// atomically on its own (not a consistent snapshot).
pub(super) fn debug_impl(cont: &Container, access: Access) -> TokenStream {
    let view = access.name(cont);
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
