//! Expansion snapshots: the generated code, pretty-printed, compared with
//! files committed under `tests/snapshots/`, so that every change to it
//! shows up in review. `UPDATE_SNAPSHOTS=1 cargo test -p shm-derive`
//! rewrites them.

use std::path::PathBuf;

use syn::DeriveInput;

/// Expands `input` and compares the pretty-printed result with
/// `tests/snapshots/{name}.expanded.rs`.
fn assert_snapshot(name: &str, input: DeriveInput) {
    let tokens = match crate::expand::derive(&input) {
        Ok(tokens) => tokens,
        Err(error) => panic!("the derive rejected the snapshot input: {error}"),
    };
    let file: syn::File = match syn::parse2(tokens) {
        Ok(file) => file,
        Err(error) => panic!("the expansion is not a Rust file: {error}"),
    };
    let expanded = prettyplease::unparse(&file);

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.expanded.rs"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expanded).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {}: {error}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if committed != expanded {
        panic!(
            "the expansion differs from {}; if the change is intended, run with \
             UPDATE_SNAPSHOTS=1 and review the diff\n--- new expansion ---\n{expanded}",
            path.display()
        );
    }
}

#[test]
fn foo() {
    assert_snapshot(
        "foo",
        syn::parse_quote! {
            /// A representative struct.
            #[derive(SharedState, Clone, Copy, Debug, Default)]
            #[repr(C)]
            pub struct Foo {
                /// A scalar.
                pub bar: i32,
                /// An array.
                pub baz: [u8; 4],
                /// A nested struct.
                pub inner: Inner,
                pub(crate) ratio: f64,
                counts: [[u16; 2]; 4],
            }
        },
    );
}

#[test]
fn options() {
    assert_snapshot(
        "options",
        syn::parse_quote! {
            #[derive(SharedState, Clone, Copy)]
            #[repr(C, align(16))]
            #[shm(crate = "::my::shm", view = "Cells", read_only_view = "ReadCells")]
            struct Aligned {
                r#type: u32,
                _pad: [u8; 12],
            }
        },
    );
}
