//! The input model: a shared struct and its fields, built from the
//! `DeriveInput` once every rule it must follow has been checked.

use quote::ToTokens;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr;
use crate::ctxt::Ctxt;
use crate::field_type;
use crate::grouping;
use crate::repr::Repr;

/// A struct that `SharedState` can be derived for.
pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) repr: Repr,
    pub(crate) options: attr::Container,
    /// At least one.
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    /// The field's type as generated code repeats it: as written, with the
    /// grouping of macro fragments made explicit (see `grouping`).
    pub(crate) ty: Type,
    /// The field's `#[doc]` attributes, copied onto the view's field.
    pub(crate) docs: Vec<&'a Attribute>,
}

impl<'a> Container<'a> {
    /// Builds the model, or returns every error found in `input` at once.
    pub(crate) fn from_ast(input: &'a DeriveInput) -> syn::Result<Container<'a>> {
        // Checked in source order, so the errors come out in that order.
        let cx = Ctxt::new();
        let repr = Repr::from_attrs(&cx, &input.attrs, &input.ident);
        let options = attr::Container::from_attrs(&cx, &input.attrs, &input.ident);
        let generics = &input.generics;
        if !generics.params.is_empty() || generics.where_clause.is_some() {
            // `Generics` prints only `<...>`: a bare `where` clause is spanned on its own.
            let spanned = match &generics.where_clause {
                Some(where_clause) if generics.params.is_empty() => where_clause.to_token_stream(),
                _ => generics.to_token_stream(),
            };
            cx.error_spanned_by(
                spanned,
                "`SharedState` cannot be derived for a generic struct: its layout must be known where it is declared; use concrete field types",
            );
        }
        let fields = fields_of(&cx, input);
        cx.check()?;
        Ok(Container {
            ident: &input.ident,
            vis: &input.vis,
            repr,
            options,
            fields,
        })
    }
}

/// The named fields of a braced struct with at least one field; for any
/// other shape, an error and no fields.
fn fields_of<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Vec<Field<'a>> {
    let data = match &input.data {
        Data::Struct(data) => data,
        Data::Enum(data) => {
            cx.error_spanned_by(
                data.enum_token,
                "`SharedState` cannot be derived for an enum: another process could write a tag that names no variant; use a struct with an integer tag field, e.g. `kind: u32`",
            );
            return Vec::new();
        }
        Data::Union(data) => {
            cx.error_spanned_by(
                data.union_token,
                "`SharedState` cannot be derived for a union: which field is valid is not recorded in the bytes; use a struct with an integer tag field, e.g. `kind: u32`, or a byte array such as `[u8; N]`",
            );
            return Vec::new();
        }
    };
    let named = match &data.fields {
        Fields::Named(named) => named,
        Fields::Unnamed(unnamed) => {
            cx.error_spanned_by(
                unnamed,
                "`SharedState` needs named fields, which the view mirrors by name; use a struct with named fields, e.g. `struct Point { x: i32, y: i32 }`",
            );
            return Vec::new();
        }
        Fields::Unit => {
            cx.error_spanned_by(
                &input.ident,
                "`SharedState` cannot be derived for a unit struct: zero-sized structs cannot be shared; add named fields, e.g. `struct Flag { value: u8 }`",
            );
            return Vec::new();
        }
    };
    if named.named.is_empty() {
        cx.error_spanned_by(named, "zero-sized structs cannot be shared; add a field");
    }
    named
        .named
        .iter()
        .filter_map(|field| {
            attr::reject_field_attrs(cx, &field.attrs);
            field_type::check(cx, &field.ty);
            Some(Field {
                // Always present in `Fields::Named`.
                ident: field.ident.as_ref()?,
                vis: &field.vis,
                ty: grouping::explicit(&field.ty),
                docs: field
                    .attrs
                    .iter()
                    .filter(|attr| attr.path().is_ident("doc"))
                    .collect(),
            })
        })
        .collect()
}
