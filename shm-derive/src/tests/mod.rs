//! Tests of the derive on proc_macro2 tokens: expansion snapshots, and the
//! errors reported for bad input.

mod errors;
mod grouping;
mod snapshot;
