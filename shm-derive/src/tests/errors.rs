//! Bad input is reported, every mistake at once, each on its own span.

use syn::DeriveInput;

/// The messages of every error the derive reports for `input`.
fn errors(input: DeriveInput) -> Vec<String> {
    match crate::expand::derive(&input) {
        Ok(_) => panic!("the derive accepted bad input"),
        Err(error) => error.into_iter().map(|error| error.to_string()).collect(),
    }
}

fn assert_mentions(errors: &[String], expected: &[&str]) {
    assert_eq!(errors.len(), expected.len(), "errors: {errors:#?}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(
            error.contains(expected),
            "expected an error mentioning {expected:?}, got {error:?}"
        );
    }
}

#[test]
fn every_bad_field_is_reported() {
    let errors = errors(syn::parse_quote! {
        #[repr(C)]
        struct Foo {
            a: bool,
            b: u32,
            c: [char; 4],
            d: ::std::string::String,
            e: &'static u8,
            f: (u8, u8),
            g: Option<u32>,
            h: core::sync::atomic::AtomicU64,
            i: i128,
        }
    });
    assert_mentions(
        &errors,
        &[
            "`bool`",
            "`char`",
            "`String`",
            "a reference",
            "a tuple",
            "`Option`",
            "use the plain integer `u64`",
            "`[i64; 2]`",
        ],
    );
}

#[test]
fn shape_repr_and_options_are_reported_together() {
    let errors = errors(syn::parse_quote! {
        #[repr(packed)]
        #[shm(crate = "shm_runtime", colour = "blue", view = "Foo")]
        struct Foo<T> {
            #[shm(view = "x")]
            a: T,
            b: *const u8,
        }
    });
    assert_mentions(
        &errors,
        &[
            "`repr(packed)`",
            "needs `#[repr(C)]`",
            "unknown `shm` option `colour`",
            "other than the struct's",
            "generic struct",
            "no field options",
            "a raw pointer",
        ],
    );
}

#[test]
fn a_hint_replacing_repr_c_is_reported_once() {
    let errors = errors(syn::parse_quote! {
        #[repr(transparent)]
        struct Foo {
            a: u32,
        }
    });
    assert_mentions(&errors, &["`repr(transparent)`"]);
}

#[test]
fn paths_outside_std_are_left_to_the_trait_bound() {
    let input: DeriveInput = syn::parse_quote! {
        #[repr(C)]
        struct Foo {
            name: my::String,
            flag: mine::bool,
            other: Unknown,
        }
    };
    assert!(crate::expand::derive(&input).is_ok());
}

#[test]
fn shapes_other_than_a_braced_struct_are_reported() {
    for (input, expected) in [
        (
            syn::parse_quote!(
                #[repr(C)]
                enum E {
                    A,
                }
            ),
            "an enum",
        ),
        (syn::parse_quote!(#[repr(C)] union U { a: u32 }), "a union"),
        (
            syn::parse_quote!(
                #[repr(C)]
                struct T(u32);
            ),
            "named fields",
        ),
        (
            syn::parse_quote!(
                #[repr(C)]
                struct U;
            ),
            "unit struct",
        ),
        (
            syn::parse_quote!(
                #[repr(C)]
                struct E {}
            ),
            "add a field",
        ),
    ] {
        assert_mentions(&errors(input), &[expected]);
    }
}

#[test]
fn raw_identifiers_are_accepted() {
    let input: DeriveInput = syn::parse_quote! {
        #[repr(C)]
        struct r#Match {
            r#type: u32,
        }
    };
    let tokens = match crate::expand::derive(&input) {
        Ok(tokens) => tokens.to_string(),
        Err(error) => panic!("rejected: {error}"),
    };
    assert!(tokens.contains("struct MatchView"), "{tokens}");
    assert!(tokens.contains("name : \"type\""), "{tokens}");
}
