//! The layout: the `SharedField` and `SharedState` impls, and the
//! compile-time assertions that prove what those unsafe impls promise.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::Ident;

use super::view::Access;
use crate::ast::Container;
use crate::repr::MAX_ALIGN;

/// `unsafe impl SharedField`: the view types and the `TypeInfo` describing
/// the struct, field by field.
pub(super) fn shared_field_impl(cont: &Container) -> TokenStream {
    let krate = &cont.options.krate;
    let name = cont.ident;
    let name_str = name.unraw().to_string();
    let view = &cont.options.view;
    let read_only_view = &cont.options.read_only_view;
    let fields = cont.fields.iter().map(|field| {
        let ident = field.ident;
        let field_name = ident.unraw().to_string();
        let ty = &field.ty;
        let type_info = quote_spanned!(ty.span()=> <#ty as #krate::SharedField>::TYPE);
        quote! {
            #krate::FieldInfo {
                name: #field_name,
                offset: ::core::mem::offset_of!(#name, #ident),
                ty: #type_info,
            }
        }
    });

    // SAFETY (of the generated impl; a comment cannot travel in tokens, so
    // the proof lives here): the contract of `SharedField` is met because
    // - every field type is a `SharedField` (the bound is checked on the view's
    //   field types and on `TYPE`), so each is valid for every bit pattern and
    //   has no padding, and `assertions` below prove the struct has no
    //   padding between or after its fields and is not zero-sized: every bit
    //   pattern of the struct is valid and it has no padding bytes;
    //   `assertions` also prove its alignment is at most 4096;
    // - each view is `repr(C)` with the struct's `align` and fields of the
    //   same names and order, each the field type's view, or read-only view,
    //   (same size and alignment, made only of atomics); `assertions` prove
    //   that each view's size, alignment and every field offset equal the
    //   struct's;
    // - the read-only view has no operation of its own but `Debug`, which
    //   reads each field through the field's own `Debug`; every field is a
    //   read-only view, whose operations the field type's impl promises are
    //   defined on read-only memory;
    // - `TYPE` takes the size, alignment and offsets from the compiler
    //   (`size_of`, `align_of`, `offset_of!`) and each field's `TypeInfo` from
    //   that field type's own `SharedField` impl.
    quote! {
        #[automatically_derived]
        unsafe impl #krate::SharedField for #name {
            type View = #view;
            type ReadOnlyView = #read_only_view;

            const TYPE: &'static #krate::TypeInfo = &#krate::TypeInfo::Struct {
                name: #name_str,
                size: ::core::mem::size_of::<#name>(),
                align: ::core::mem::align_of::<#name>(),
                fields: &[#(#fields),*],
            };
        }
    }
}

/// `unsafe impl SharedState`: the struct's name.
pub(super) fn shared_state_impl(cont: &Container) -> TokenStream {
    let krate = &cont.options.krate;
    let name = cont.ident;
    let name_str = name.unraw().to_string();
    // SAFETY (of the generated impl): `TYPE` above is a `TypeInfo::Struct`
    // and `NAME` is the struct's name; the rest is `SharedField`'s contract.
    quote! {
        #[automatically_derived]
        unsafe impl #krate::SharedState for #name {
            const NAME: &'static str = #name_str;
        }
    }
}

/// `const` assertions, each on the span a failure should be reported at:
/// - no implicit padding: each field starts where the previous one ends,
///   and the struct ends where its last field ends;
/// - the struct is not zero-sized, and its alignment is at most a page's;
/// - each view overlays the struct: same size, alignment and field offsets.
pub(super) fn assertions(cont: &Container) -> TokenStream {
    let name = cont.ident;
    let name_str = name.unraw().to_string();
    let mut assertions = Vec::new();

    // Where the next field must start: the end of the previous one.
    let mut end = quote!(0);
    for field in &cont.fields {
        let ident = field.ident;
        let ty = &field.ty;
        let message = format!(
            "`{name_str}` has implicit padding before field `{}`: add an explicit field such as \
             `_pad: [u8; N]` in front of it to fill the gap",
            ident.unraw(),
        );
        let starts_at_end = quote!(::core::mem::offset_of!(#name, #ident) == #end);
        assertions.push(assertion(ident.span(), starts_at_end, &message));
        end = quote!(::core::mem::offset_of!(#name, #ident) + ::core::mem::size_of::<#ty>());
    }
    if let Some(last) = cont.fields.last() {
        let message = format!(
            "`{name_str}` has implicit padding after its last field `{}`: add an explicit \
             trailing field such as `_pad: [u8; N]`",
            last.ident.unraw(),
        );
        let ends_at_end = quote!(::core::mem::size_of::<#name>() == #end);
        assertions.push(assertion(name.span(), ends_at_end, &message));
    }
    let message = format!(
        "`{name_str}` is zero-sized, and zero-sized structs cannot be shared; add a field that \
         holds data"
    );
    let not_empty = quote!(::core::mem::size_of::<#name>() > 0);
    assertions.push(assertion(name.span(), not_empty, &message));
    // An `align(N)` above the limit is rejected where it is written; this
    // catches an alignment that comes from a field type.
    let message = format!(
        "`{name_str}` needs an alignment above {MAX_ALIGN} bytes, through one of its fields, but \
         shared regions are page-aligned: the largest supported alignment is {MAX_ALIGN}"
    );
    let max_align = proc_macro2::Literal::usize_unsuffixed(MAX_ALIGN);
    let page_aligned = quote!(::core::mem::align_of::<#name>() <= #max_align);
    assertions.push(assertion(name.span(), page_aligned, &message));

    for access in Access::BOTH {
        assertions.extend(overlay_assertions(cont, access.name(cont)));
    }

    quote!(#(#assertions)*)
}

/// That `view` overlays the struct: same size, alignment and field offsets.
/// These hold whenever every field type's `SharedField` impl keeps its
/// contract; a failure means one of those impls is wrong.
fn overlay_assertions(cont: &Container, view: &Ident) -> Vec<TokenStream> {
    let name = cont.ident;
    let name_str = name.unraw().to_string();
    let view_str = view.unraw().to_string();
    let mut assertions = Vec::new();

    let message = format!(
        "`{view_str}` must have the size of `{name_str}`: a field type's `SharedField` impl is \
         wrong"
    );
    let same_size = quote!(::core::mem::size_of::<#view>() == ::core::mem::size_of::<#name>());
    assertions.push(assertion(name.span(), same_size, &message));
    let message = format!(
        "`{view_str}` must have the alignment of `{name_str}`: a field type's `SharedField` impl \
         is wrong"
    );
    let same_align = quote!(::core::mem::align_of::<#view>() == ::core::mem::align_of::<#name>());
    assertions.push(assertion(name.span(), same_align, &message));
    for field in &cont.fields {
        let ident = field.ident;
        let field_name = ident.unraw();
        let message = format!(
            "`{view_str}::{field_name}` must be at the offset of `{name_str}::{field_name}`: the \
             field type's `SharedField` impl is wrong"
        );
        let same_offset = quote! {
            ::core::mem::offset_of!(#view, #ident) == ::core::mem::offset_of!(#name, #ident)
        };
        assertions.push(assertion(ident.span(), same_offset, &message));
    }
    assertions
}

/// `const _: () = ::core::assert!(condition, "message");`, reported at `span`.
fn assertion(span: Span, condition: TokenStream, message: &str) -> TokenStream {
    quote_spanned!(span=> const _: () = ::core::assert!(#condition, #message);)
}
