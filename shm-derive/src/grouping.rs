//! Field types as the generated code repeats them, with the invisible
//! grouping of `macro_rules!` fragments made visible.
//!
//! A struct declared by a macro carries each `$len:expr` fragment as a group
//! without delimiters: `[u64; $bytes / 8 - 1]` with `$bytes = 1 << 20` is
//! `[u64; ⟦1 << 20⟧ / 8 - 1]`. rustc does not honour such a group's
//! precedence when it parses a derive's output, so the type pasted back into
//! `size_of::<...>()` or the view would read `1 << 20 / 8 - 1`, another
//! length. Every group in an expression position becomes parentheses, which
//! mean the same thing and survive re-parsing.

use std::mem;

use proc_macro2::TokenStream;
use syn::visit_mut::{self, VisitMut};
use syn::{token, Expr, ExprParen, Type};

/// `ty` with every delimiter-less group inside it (in array lengths, at any
/// depth) turned into parentheses; spans are kept.
pub(crate) fn explicit(ty: &Type) -> Type {
    let mut ty = ty.clone();
    ExplicitGroups.visit_type_mut(&mut ty);
    ty
}

struct ExplicitGroups;

impl VisitMut for ExplicitGroups {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        if !matches!(expr, Expr::Group(_)) {
            return;
        }
        if let Expr::Group(group) = mem::replace(expr, Expr::Verbatim(TokenStream::new())) {
            *expr = Expr::Paren(ExprParen {
                attrs: group.attrs,
                paren_token: token::Paren(group.group_token.span),
                expr: group.expr,
            });
        }
    }
}
