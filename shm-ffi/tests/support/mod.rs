//! For the tests that build C programs: the C compiler and the library
//! cargo built. (The C program that shares a region with Rust, steered over
//! its standard input and output, is shm-cli's tests/codegen_c.rs: it is
//! built from the header `shm codegen --lang c` writes.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the static library needs from the system, as
/// `rustc --print native-static-libs` lists it for a Linux staticlib.
pub const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The C compiler: `$CC`, else `cc`. `None` (and a message saying the test
/// is skipped) when there is none.
pub fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    match Command::new(&cc).arg("--version").output() {
        Ok(output) if output.status.success() => Some(cc),
        _ => {
            eprintln!(
                "SKIPPED: no C compiler ({cc:?} does not run); set CC or install gcc to run the C tests"
            );
            None
        }
    }
}

/// The directory holding `libshm_ffi.a` and `libshm_ffi.so` of this build.
///
/// Cargo builds a library with all its crate types in one compiler run, and
/// does so before the integration tests that depend on it; it leaves them in
/// `target/<profile>/deps`, the directory of the test executable itself
/// (with `--target`, `target/<triple>/<profile>/deps`), and copies them
/// one level up on `cargo build`. Looking beside the running test finds
/// the artifacts of this very build, whatever `CARGO_TARGET_DIR`, profile
/// or target.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    let candidates = [Some(deps), deps.parent()];
    for dir in candidates.iter().flatten() {
        if dir.join("libshm_ffi.a").is_file() && dir.join("libshm_ffi.so").is_file() {
            return dir.to_path_buf();
        }
    }
    panic!(
        "libshm_ffi.a and libshm_ffi.so not found beside the test executable {} (looked in {:?}); \
         cargo builds them with the library's crate types cdylib and staticlib",
        exe.display(),
        candidates
    );
}

/// `include/shm.h`'s directory.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// Runs the C compiler with `args`; panics with its output if it fails.
pub fn cc(compiler: &str, args: &[&std::ffi::OsStr]) {
    let output = Command::new(compiler)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The flags every C compile in these tests uses: those the generated code
/// promises to pass, and then some.
pub const STRICT: &[&str] = &["-std=c11", "-Wall", "-Werror"];
