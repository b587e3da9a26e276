//! `#[shm(...)]` options.
//!
//! On the struct:
//! - `#[shm(crate = "path")]`: the path of the runtime crate in generated
//!   code, for a renamed dependency (default `::shm_runtime`);
//! - `#[shm(view = "Name")]`: the name of the generated view type (default
//!   `{Struct}View`).
//!
//! Fields take no options.

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;

const EXPECTED: &str = "expected `crate = \"path\"` or `view = \"Name\"`";

/// The struct's `#[shm(...)]` options.
pub(crate) struct Container {
    /// The runtime crate, e.g. `::shm_runtime`.
    pub(crate) krate: Path,
    /// The view type's name.
    pub(crate) view: Ident,
}

impl Container {
    /// Reads every `#[shm(...)]` on the struct named `name`, recording an
    /// error for each unknown, repeated or malformed option.
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute], name: &Ident) -> Container {
        let mut krate = None;
        let mut view = None;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("shm")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    parse_crate(cx, &meta, &mut krate)
                } else if meta.path.is_ident("view") {
                    parse_view(cx, &meta, &mut view, name)
                } else {
                    let key = meta.path.to_token_stream().to_string().replace(' ', "");
                    let message = format!("unknown `shm` option `{key}`; {EXPECTED}");
                    cx.error_spanned_by(&meta.path, message);
                    skip_value(&meta)
                }
            });
            if let Err(error) = parsed {
                cx.syn_error(error);
            }
        }

        Container {
            krate: krate.unwrap_or_else(|| syn::parse_quote!(::shm_runtime)),
            view: view.unwrap_or_else(|| default_view(name)),
        }
    }
}

/// `FooView` for `Foo`, with a call-site span: generated code, as far as
/// lints are concerned.
fn default_view(name: &Ident) -> Ident {
    Ident::new(&format!("{}View", name.unraw()), Span::call_site())
}

/// `crate = "path"`.
fn parse_crate(cx: &Ctxt, meta: &ParseNestedMeta, krate: &mut Option<Path>) -> syn::Result<()> {
    let lit = string_value(meta)?;
    match lit.parse::<Path>() {
        Ok(path) => set_once(cx, meta, krate, path),
        Err(_) => cx.error_spanned_by(
            &lit,
            "`crate` must be a path such as \"shm_runtime\" or \"::my::reexport\"",
        ),
    }
    Ok(())
}

/// `view = "Name"`.
fn parse_view(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    view: &mut Option<Ident>,
    name: &Ident,
) -> syn::Result<()> {
    let lit = string_value(meta)?;
    let example = default_view(name);
    match lit.parse::<Ident>() {
        Ok(ident) if ident == *name => cx.error_spanned_by(
            &lit,
            format!("the view needs a name other than the struct's, such as \"{example}\""),
        ),
        Ok(ident) => set_once(cx, meta, view, ident),
        Err(_) => cx.error_spanned_by(
            &lit,
            format!("`view` must be a type name, such as \"{example}\""),
        ),
    }
    Ok(())
}

/// Records an error for every `#[shm(...)]` on a field: fields take no options.
pub(crate) fn reject_field_attrs(cx: &Ctxt, attrs: &[Attribute]) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("shm")) {
        cx.error_spanned_by(
            attr,
            "`#[shm(...)]` has no field options; put `crate = \"...\"` or `view = \"...\"` on the struct",
        );
    }
}

/// The `"..."` after `key =`.
fn string_value(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    let value = meta.value()?;
    value.parse::<LitStr>().map_err(|error| {
        syn::Error::new(
            error.span(),
            "expected a string literal, e.g. `key = \"...\"`",
        )
    })
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        cx.error_spanned_by(&meta.path, format!("duplicate `shm` option `{key}`"));
    } else {
        *slot = Some(value);
    }
}

/// Consumes whatever follows an unknown key (`= value` or `(...)`), so that
/// the options after it are still checked.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}
