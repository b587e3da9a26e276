//! For the tests that build C programs (shm-ffi's, and shm-cli's from
//! `shm codegen --lang c`): the C compiler, shm-ffi's libraries as cargo
//! built them, and the flags every compile uses.

use std::ffi::OsStr;
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
         cargo builds them, with the library's crate types cdylib and staticlib, for a test of a crate that depends on shm-ffi",
        exe.display(),
        candidates
    );
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

/// Compiles C `source`, written to `dir/name`, with the strict flags and
/// `extra`; `-c`, so nothing is linked.
pub fn compile_alone(compiler: &str, dir: &Path, name: &str, source: &str, extra: &[&str]) {
    let file = dir.join(name);
    std::fs::write(&file, source).unwrap();
    let object = dir.join(format!("{name}.o"));
    let mut args: Vec<&OsStr> = STRICT.iter().map(OsStr::new).collect();
    args.extend(extra.iter().map(OsStr::new));
    args.extend([
        OsStr::new("-x"),
        OsStr::new("c"),
        OsStr::new("-c"),
        file.as_os_str(),
        OsStr::new("-o"),
        object.as_os_str(),
    ]);
    cc(compiler, &args);
}
