//! `#[shm(...)]` options.
//!
//! On the struct:
//! - `#[shm(crate = "path")]`: the path of the runtime crate in generated
//!   code, for a renamed dependency (default `::shm_runtime`);
//! - `#[shm(view = "Name")]`: the name of the generated view type (default
//!   `{Struct}View`);
//! - `#[shm(read_only_view = "Name")]`: the name of the generated read-only
//!   view type (default `{Struct}ReadOnlyView`).
//!
//! Fields take no options.

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;

const EXPECTED: &str =
    "expected `crate = \"path\"`, `view = \"Name\"` or `read_only_view = \"Name\"`";

/// The struct's `#[shm(...)]` options.
pub(crate) struct Container {
    /// The runtime crate, e.g. `::shm_runtime`.
    pub(crate) krate: Path,
    /// The view type's name.
    pub(crate) view: Ident,
    /// The read-only view type's name.
    pub(crate) read_only_view: Ident,
}

impl Container {
    /// Reads every `#[shm(...)]` on the struct named `name`, recording an
    /// error for each unknown, repeated or malformed option.
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute], name: &Ident) -> Container {
        let mut krate = None;
        let mut view = None;
        let mut read_only_view = None;
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("shm")) {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    parse_crate(cx, &meta, &mut krate)
                } else if meta.path.is_ident("view") {
                    parse_view(cx, &meta, &mut view, name, View::ReadWrite)
                } else if meta.path.is_ident("read_only_view") {
                    parse_view(cx, &meta, &mut read_only_view, name, View::ReadOnly)
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

        let view_given = view.is_some();
        let view = view.unwrap_or_else(|| View::ReadWrite.default_name(name));
        let read_only_view = match read_only_view {
            Some(read_only_view) => {
                if read_only_view == view {
                    cx.error_spanned_by(
                        &read_only_view,
                        "the read-only view needs a name other than the view's",
                    );
                }
                read_only_view
            }
            None => {
                let read_only_view = View::ReadOnly.default_name(name);
                if view_given && view == read_only_view {
                    let message = format!(
                        "`{read_only_view}` is the read-only view's default name; choose another \
                         name, or name the read-only view with `read_only_view = \"...\"`"
                    );
                    cx.error_spanned_by(&view, message);
                }
                read_only_view
            }
        };

        Container {
            krate: krate.unwrap_or_else(|| syn::parse_quote!(::shm_runtime)),
            view,
            read_only_view,
        }
    }
}

/// The two generated view types.
#[derive(Clone, Copy)]
enum View {
    ReadWrite,
    ReadOnly,
}

impl View {
    /// `FooView` or `FooReadOnlyView` for `Foo`, with a call-site span:
    /// generated code, as far as lints are concerned.
    fn default_name(self, name: &Ident) -> Ident {
        let suffix = match self {
            View::ReadWrite => "View",
            View::ReadOnly => "ReadOnlyView",
        };
        Ident::new(&format!("{}{suffix}", name.unraw()), Span::call_site())
    }

    /// The option's key.
    fn key(self) -> &'static str {
        match self {
            View::ReadWrite => "view",
            View::ReadOnly => "read_only_view",
        }
    }

    /// How messages call it.
    fn what(self) -> &'static str {
        match self {
            View::ReadWrite => "the view",
            View::ReadOnly => "the read-only view",
        }
    }
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

/// `view = "Name"` or `read_only_view = "Name"`.
fn parse_view(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    slot: &mut Option<Ident>,
    name: &Ident,
    kind: View,
) -> syn::Result<()> {
    let lit = string_value(meta)?;
    let example = kind.default_name(name);
    let (key, what) = (kind.key(), kind.what());
    match lit.parse::<Ident>() {
        Ok(ident) if ident == *name => cx.error_spanned_by(
            &lit,
            format!("{what} needs a name other than the struct's, such as \"{example}\""),
        ),
        Ok(ident) => set_once(cx, meta, slot, ident),
        Err(_) => cx.error_spanned_by(
            &lit,
            format!("`{key}` must be a type name, such as \"{example}\""),
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
