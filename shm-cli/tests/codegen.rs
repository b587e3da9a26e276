//! `codegen`: the declarations it prints for a region, compared with
//! checked-in snapshots; the Rust one is also compiled here (`generated`
//! below includes it), has the original's fingerprint and opens its region.
//!
//! After an intended change to the output, rerun with `SHM_CLI_BLESS=1` to
//! rewrite the snapshots, and review the difference.

mod support;

use std::path::Path;

use predicates::prelude::*;
use shm_runtime::SharedState;
use support::{panel, shm, Scratch};

/// The struct a program made a region of: every scalar type, nesting,
/// arrays of structs and of arrays, explicit padding, an `align(N)`, a
/// keyword as a field name, an array too long for `Default`.
mod original {
    use shm_runtime::SharedState;

    #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
    #[repr(C)]
    pub struct Point {
        pub x: i16,
        pub y: i16,
    }

    #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
    #[repr(C, align(16))]
    pub struct Block {
        pub tag: u32,
        pub _pad: [u8; 12],
    }

    #[derive(SharedState, Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    pub struct Everything {
        pub a_u8: u8,
        pub a_i8: i8,
        pub a_u16: u16,
        pub a_i16: i16,
        pub _pad0: [u8; 2],
        pub a_u32: u32,
        pub a_i32: i32,
        pub a_f32: f32,
        pub b_f32: f32,
        pub a_u64: u64,
        pub a_i64: i64,
        pub a_usize: usize,
        pub a_isize: isize,
        pub a_f64: f64,
        pub origin: Point,
        pub path: [Point; 3],
        pub grid: [[u16; 2]; 2],
        pub _pad1: [u8; 8],
        pub block: Block,
        pub r#type: u32,
        pub history: [u8; 40],
        pub _pad2: [u8; 4],
    }
}

/// What `shm codegen --lang rust` printed for `original::Everything`.
mod generated {
    include!("fixtures/everything.rs");
}

fn everything() -> original::Everything {
    original::Everything {
        a_u8: 1,
        a_i8: -2,
        a_u16: 3,
        a_i16: -4,
        _pad0: [0; 2],
        a_u32: 5,
        a_i32: -6,
        a_f32: 0.5,
        b_f32: -0.25,
        a_u64: 1 << 40,
        a_i64: -(1 << 40),
        a_usize: 9,
        a_isize: -10,
        a_f64: 1e300,
        origin: original::Point { x: 1, y: 2 },
        path: [original::Point { x: 3, y: 4 }; 3],
        grid: [[5, 6], [7, 8]],
        _pad1: [0; 8],
        block: original::Block {
            tag: 11,
            _pad: [0; 12],
        },
        r#type: 12,
        history: [13; 40],
        _pad2: [0; 4],
    }
}

/// The command's output equals the snapshot (or, blessing, becomes it).
fn matches_snapshot(output: &[u8], snapshot: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(snapshot);
    let output = std::str::from_utf8(output).unwrap();
    if std::env::var_os("SHM_CLI_BLESS").is_some() {
        std::fs::write(&path, output).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(output, expected, "differs from {}", path.display());
}

#[test]
fn the_rust_declaration_compiles_to_the_same_layout() {
    let scratch = Scratch::file();
    let _original = scratch.create(everything());
    let out = shm()
        .args(["codegen", &scratch.arg, "--lang", "rust"])
        .assert()
        .success();
    matches_snapshot(&out.get_output().stdout, "everything.rs");

    assert_eq!(
        generated::Everything::FINGERPRINT,
        original::Everything::FINGERPRINT
    );
    assert_eq!(
        size_of::<generated::Everything>(),
        size_of::<original::Everything>()
    );
    assert_eq!(align_of::<generated::Block>(), 16);
    // The declaration opens the region and reads what the original wrote.
    let opened = generated::Everything::open_file_read_only(&scratch.arg).unwrap();
    let copy = opened.snapshot();
    assert_eq!(copy.a_f64, 1e300);
    assert_eq!(copy.path[2].y, 4);
    assert_eq!(copy.r#type, 12);
    assert_eq!(copy.block.tag, 11);
    // Nested structs short enough keep `Default`.
    assert_eq!(generated::Point::default(), generated::Point { x: 0, y: 0 });
}

#[test]
fn the_python_declaration_uses_shm_struct_classes() {
    let scratch = Scratch::shm();
    let _panel = scratch.create(panel());
    let out = shm()
        .args(["codegen", &scratch.arg, "--lang", "python"])
        .assert()
        .success();
    matches_snapshot(&out.get_output().stdout, "panel.py");
}

#[test]
fn what_a_language_cannot_declare_is_an_error() {
    let scratch = Scratch::file();
    let _original = scratch.create(everything());
    shm()
        .args(["codegen", &scratch.arg, "--lang", "python"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "`Block` is aligned to 16 bytes, more than its fields need (4)",
        ));
    shm().args(["codegen", &scratch.arg]).assert().code(2);
}

/// `--lang c` writes a header that compiles alone and checks the layout.
#[test]
fn c_declarations_compile_alone() {
    let scratch = Scratch::file();
    let _original = scratch.create(everything());
    let out = shm()
        .args(["codegen", &scratch.arg, "--lang", "c"])
        .assert()
        .success();
    let header = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(header.contains("_Static_assert(sizeof("), "{header}");
    assert!(header.contains("_FINGERPRINT"), "{header}");
    assert!(header.contains("shm_region_open"), "{header}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("region.h");
    std::fs::write(&path, &header).unwrap();
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    match std::process::Command::new(&compiler)
        .args(["-std=c11", "-Wall", "-Werror", "-fsyntax-only", "-x", "c"])
        .arg(&path)
        .output()
    {
        Ok(compiled) => assert!(
            compiled.status.success(),
            "{}",
            String::from_utf8_lossy(&compiled.stderr)
        ),
        Err(e) => eprintln!("SKIPPED: no C compiler ({compiler}: {e})"),
    }
}
