//! `#[derive(SharedState)]` (being written).
use proc_macro::TokenStream;

#[proc_macro_derive(SharedState, attributes(shm))]
pub fn derive_shared_state(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
