//! Compile-time behaviour of `#[derive(SharedState)]`: every rejection, with
//! its message and span (`tests/ui/fail/*.stderr`), and every accepted shape
//! (`tests/ui/pass`). `TRYBUILD=overwrite cargo test --test ui` regenerates
//! the `.stderr` files; read the diff before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
