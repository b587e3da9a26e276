//! Field types rejected by their syntax, each with a message that says why
//! and what to use instead.
//!
//! This is a courtesy, not the safety check: any type that gets through here
//! must still implement `SharedField`, a bound the generated code states on
//! the field's own span, and whose `#[diagnostic::on_unimplemented]` message
//! covers every type not named below.

use syn::{GenericArgument, Path, PathArguments, Type};

use crate::ctxt::Ctxt;

const REFERENCE: &str = "a reference cannot be shared: addresses mean nothing in another process; store the value itself, or an index as an integer";
const RAW_POINTER: &str = "a raw pointer cannot be shared: addresses mean nothing in another process; store an index or an offset as an integer";
const FN_POINTER: &str = "a function pointer cannot be shared: code addresses mean nothing in another process; store an integer that selects the function";
const SLICE: &str = "a slice `[T]` has no fixed size; use an array `[T; N]`";
const UNIT: &str = "`()` holds no data; remove the field";
const TUPLE: &str = "a tuple's layout is up to the compiler, so other processes and languages cannot rely on it; use a nested `#[repr(C)]` struct that derives `SharedState`, or an array";
const TRAIT_OBJECT: &str = "a trait object has no fixed size, and its vtable pointer means nothing in another process; use a concrete field type";
const BOOL: &str = "`bool` can hold invalid bit patterns when another process writes it; use `u8`";
const CHAR: &str = "`char` can hold invalid bit patterns (surrogates, values past U+10FFFF) when another process writes it; use `u32`";
const STR: &str = "`str` has no fixed size; use a fixed-size byte array such as `[u8; N]`";
const OPTION: &str = "`Option` cannot be shared: its tag can hold invalid bit patterns when another process writes it; use a value plus an explicit `u8` flag field";
const PHANTOM_DATA: &str = "`PhantomData` holds no data, and a shared struct has no type parameters to mark; remove the field";
const ATOMIC_BOOL: &str = "`AtomicBool` is not needed: every field is already accessed atomically through the view, and `bool` can hold invalid bit patterns; use `u8`";

/// Records an error on `ty`, or on the offending part of it (the element of
/// an array), when it is a type that can never be shared.
pub(crate) fn check(cx: &Ctxt, ty: &Type) {
    let message = match ty {
        Type::Array(array) => return check(cx, &array.elem),
        Type::Paren(paren) => return check(cx, &paren.elem),
        Type::Group(group) => return check(cx, &group.elem),
        Type::Path(path) if path.qself.is_none() => match path_message(&path.path) {
            Some(message) => message,
            None => return,
        },
        Type::Reference(_) => REFERENCE.to_owned(),
        Type::Ptr(_) => RAW_POINTER.to_owned(),
        Type::BareFn(_) => FN_POINTER.to_owned(),
        Type::Slice(_) => SLICE.to_owned(),
        Type::Tuple(tuple) if tuple.elems.is_empty() => UNIT.to_owned(),
        Type::Tuple(_) => TUPLE.to_owned(),
        Type::TraitObject(_) => TRAIT_OBJECT.to_owned(),
        _ => return,
    };
    cx.error_spanned_by(ty, message);
}

/// The message for a path type that is rejected, by its last segment.
///
/// Only bare names (`String`) and paths into the standard library
/// (`std::string::String`) are judged: `my::String` is the user's own type
/// and is left to the `SharedField` bound.
fn path_message(path: &Path) -> Option<String> {
    let first = path.segments.first()?;
    let is_std = ["std", "core", "alloc"]
        .iter()
        .any(|krate| first.ident == krate);
    let is_bare = path.segments.len() == 1 && path.leading_colon.is_none();
    if !is_std && !is_bare {
        return None;
    }
    let last = path.segments.last()?;
    let name = last.ident.to_string();
    let on_heap = |what: &str, instead: &str| {
        format!(
            "`{name}` cannot be shared: {what}, and heap pointers mean nothing in another \
             process; {instead}"
        )
    };
    let message = match name.as_str() {
        "bool" => BOOL.to_owned(),
        "char" => CHAR.to_owned(),
        "u128" | "i128" => {
            let half = name.replace("128", "64");
            format!(
                "`{name}` cannot be shared: there are no 16-byte atomics; use two `{half}` \
                 fields or `[{half}; 2]`"
            )
        }
        "str" => STR.to_owned(),
        "String" => on_heap(
            "it points to heap memory",
            "use a fixed-size byte array such as `[u8; N]`, with a length field if the length \
             varies",
        ),
        "Vec" => {
            let element = simple_type_argument(&last.arguments).unwrap_or_else(|| "T".to_owned());
            on_heap(
                "it points to heap memory",
                &format!(
                    "use a fixed-size array such as `[{element}; N]`, with a length field if the \
                     count varies"
                ),
            )
        }
        "Box" => on_heap("it points to heap memory", "store the value itself"),
        "Rc" | "Arc" | "Weak" => on_heap(
            "it points to a reference-counted heap allocation",
            "store the value itself",
        ),
        "Option" => OPTION.to_owned(),
        "PhantomData" => PHANTOM_DATA.to_owned(),
        "NonNull" | "AtomicPtr" => format!(
            "`{name}` cannot be shared: addresses mean nothing in another process; store an \
             index or an offset as an integer"
        ),
        "AtomicBool" => ATOMIC_BOOL.to_owned(),
        _ => {
            if let Some(plain) = plain_integer(&name, "Atomic") {
                format!(
                    "`{name}` is not needed: every field is already accessed atomically through \
                     the view; use the plain integer `{plain}`"
                )
            } else if let Some(plain) = plain_integer(&name, "NonZero") {
                format!(
                    "`{name}` cannot hold zero, which another process may write; use the plain \
                     integer `{plain}`"
                )
            } else {
                return None;
            }
        }
    };
    Some(message)
}

/// `u32` for (`AtomicU32`, `"Atomic"`) or (`NonZeroU32`, `"NonZero"`).
fn plain_integer(name: &str, prefix: &str) -> Option<String> {
    let plain = name.strip_prefix(prefix)?.to_ascii_lowercase();
    let integers = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
    ];
    integers.contains(&plain.as_str()).then_some(plain)
}

/// `u32` for `<u32>`: the one type argument, when it is a plain name.
fn simple_type_argument(arguments: &PathArguments) -> Option<String> {
    let PathArguments::AngleBracketed(arguments) = arguments else {
        return None;
    };
    match arguments.args.first()? {
        GenericArgument::Type(Type::Path(path)) if path.qself.is_none() => {
            path.path.get_ident().map(ToString::to_string)
        }
        _ => None,
    }
}
