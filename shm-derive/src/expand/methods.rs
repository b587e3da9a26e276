//! The inherent functions: open a region (read-write or read-only), get a
//! builder, convert to and from bytes.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;

use super::doc;
use crate::ast::Container;

/// `impl Foo { open_file, open_shm, open_file_read_only, open_shm_read_only,
/// options, as_bytes, from_bytes }`.
pub(super) fn inherent_impl(cont: &Container) -> TokenStream {
    let krate = &cont.options.krate;
    let name = cont.ident;
    let n = name.unraw().to_string();

    let open_file_doc = doc(&[
        &format!("Opens the `{n}` region in the file at `path`: created and filled"),
        &format!("with zero bytes when missing, opened when it already holds a `{n}`."),
        "",
        "Shorthand for `Self::options().open_file(path)`; [`options`](Self::options)",
        "sets whether to create, the permissions and the initial value.",
        "",
        "# Errors",
        "",
        "`Error::NotSharedState` when the file is not a region of this library",
        "(it is left untouched), `Error::LayoutMismatch` when it holds another",
        "layout, `Error::Truncated` when it is shorter than its header records,",
        "`Error::Io` when a system call fails.",
    ]);
    let open_shm_doc = doc(&[
        &format!("Opens the `{n}` region in the POSIX shared memory object `name`"),
        "(a leading `/` is optional): created and filled with zero bytes when",
        &format!("missing, opened when it already holds a `{n}`."),
        "",
        "# Errors",
        "",
        "`Error::InvalidName` for a name POSIX does not allow, and otherwise",
        "those of [`open_file`](Self::open_file).",
    ]);
    let open_file_read_only_doc = doc(&[
        &format!("Opens the `{n}` region in the file at `path` read-only: the handle's"),
        "view offers `get`, not `set`.",
        "",
        "Needs only read permission on the file, and maps it read-only: it never",
        "creates, initialises, writes or recovers anything. A region still being",
        "created is waited for (bounded).",
        "",
        "Shorthand for `Self::options().open_file_read_only(path)`.",
        "",
        "# Errors",
        "",
        "`Error::NotFound` when the file is missing, `Error::PermissionDenied`",
        "when it may not be read, `Error::NotSharedState` when it is not a region",
        "of this library, `Error::LayoutMismatch` when it holds another layout,",
        "`Error::Truncated` when it is shorter than its header records,",
        "`Error::Timeout` when its creator does not finish in time, `Error::Io`",
        "when a system call fails.",
    ]);
    let open_shm_read_only_doc = doc(&[
        &format!("Opens the `{n}` region in the POSIX shared memory object `name`"),
        "(a leading `/` is optional) read-only: the handle's view offers `get`,",
        "not `set`.",
        "",
        "Needs only read permission on the object, and maps it read-only: it",
        "never creates, initialises, writes or recovers anything.",
        "",
        "# Errors",
        "",
        "`Error::InvalidName` for a name POSIX does not allow, and otherwise",
        "those of [`open_file_read_only`](Self::open_file_read_only).",
    ]);
    let options_doc = doc(&[
        &format!("The builder that opens a `{n}` region with other settings:"),
        "whether to create, the permissions, the initial value.",
    ]);
    let as_bytes_doc = doc(&[
        &format!("The bytes of `self`: exactly `size_of::<{n}>()` of them, with no"),
        "padding, ready to send elsewhere.",
    ]);
    let from_bytes_doc = doc(&[
        &format!("A `{n}` from exactly `size_of::<{n}>()` bytes, in any alignment."),
        "",
        "# Errors",
        "",
        "`Error::WrongSize` when `bytes` has another length.",
    ]);

    quote! {
        #[automatically_derived]
        impl #name {
            #open_file_doc
            pub fn open_file<P: ::core::convert::AsRef<#krate::__private::Path>>(
                path: P,
            ) -> #krate::Result<#krate::Shared<Self>> {
                #krate::OpenOptions::<Self>::new().open_file(path)
            }

            #open_shm_doc
            pub fn open_shm(name: &str) -> #krate::Result<#krate::Shared<Self>> {
                #krate::OpenOptions::<Self>::new().open_shm(name)
            }

            #open_file_read_only_doc
            pub fn open_file_read_only<P: ::core::convert::AsRef<#krate::__private::Path>>(
                path: P,
            ) -> #krate::Result<#krate::ReadOnly<Self>> {
                #krate::OpenOptions::<Self>::new().open_file_read_only(path)
            }

            #open_shm_read_only_doc
            pub fn open_shm_read_only(name: &str) -> #krate::Result<#krate::ReadOnly<Self>> {
                #krate::OpenOptions::<Self>::new().open_shm_read_only(name)
            }

            #options_doc
            pub fn options() -> #krate::OpenOptions<Self> {
                #krate::OpenOptions::new()
            }

            #as_bytes_doc
            pub fn as_bytes(&self) -> &[u8] {
                #krate::as_bytes(self)
            }

            #from_bytes_doc
            pub fn from_bytes(bytes: &[u8]) -> #krate::Result<Self> {
                #krate::from_bytes(bytes)
            }
        }
    }
}
