//! The C interface as C sees it: `include/shm.h` and generated declarations
//! compile on their own with `cc -std=c11 -Wall -Werror`, together, and
//! beside the system's shm headers; the header declares exactly the
//! functions the library exports, with the status values the library
//! returns; and both the static and the shared library link.

mod support;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use shm_ffi::{c_declaration, HEADER};
use shm_runtime::{Primitive, Schema, SharedState, StructDesc, TypeDesc};
use support::{c_compiler, cc, include_dir, library_dir, NATIVE_LIBS, STRICT};

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Point {
    x: i16,
    y: i16,
}

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Leg {
    corners: [Point; 3],
    _pad: [u8; 4],
    lengths: [[f64; 2]; 2],
}

/// Nesting two levels deep, arrays of structs and of arrays, every scalar
/// type.
#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Walker {
    legs: [Leg; 2],
    origin: Point,
    a: u8,
    b: i8,
    c: u16,
    d: i32,
    e: u32,
    f: f32,
    m: [u8; 4],
    g: u64,
    h: i64,
    i: usize,
    j: isize,
    k: f64,
}

/// Compiles C `source`, written to `dir/name`, with the strict flags and
/// `extra`; `-c`, so nothing is linked.
fn compile_alone(compiler: &str, dir: &Path, name: &str, source: &str, extra: &[&str]) {
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

#[test]
fn the_interface_header_compiles_alone() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    compile_alone(&compiler, dir.path(), "shm.h", HEADER, &[]);
    compile_alone(
        &compiler,
        dir.path(),
        "shm-pedantic.h",
        HEADER,
        &["-Wextra", "-Wpedantic"],
    );
    // Beside POSIX shm_open/shm_unlink and the System V SHM_* names.
    let beside_system = format!(
        "#define _GNU_SOURCE\n#include <sys/mman.h>\n#include <sys/shm.h>\n{HEADER}\n#include <sys/ipc.h>\n"
    );
    compile_alone(&compiler, dir.path(), "beside.c", &beside_system, &[]);
}

#[test]
fn generated_declarations_compile_alone_and_with_the_interface() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    let walker = c_declaration(&Schema::of::<Walker>());
    compile_alone(&compiler, dir.path(), "walker.h", &walker, &[]);
    compile_alone(
        &compiler,
        dir.path(),
        "walker-pedantic.h",
        &walker,
        &["-Wextra", "-Wpedantic"],
    );
    std::fs::write(dir.path().join("walker_decl.h"), &walker).unwrap();
    std::fs::write(dir.path().join("shm.h"), HEADER).unwrap();
    let include = format!("-I{}", dir.path().display());
    for (name, source) in [
        (
            "twice.c",
            "#include \"walker_decl.h\"\n#include \"walker_decl.h\"\n",
        ),
        (
            "shm_first.c",
            "#include \"shm.h\"\n#include \"walker_decl.h\"\n",
        ),
        (
            "shm_after.c",
            "#include \"walker_decl.h\"\n#include \"shm.h\"\n",
        ),
    ] {
        compile_alone(&compiler, dir.path(), name, source, &[&include]);
    }

    // Names C cannot take, an over-aligned struct, a zero-sized field.
    let awkward = StructDesc::repr_c_aligned(
        "int",
        vec![
            ("double".to_owned(), Primitive::F64.into()),
            ("größe".to_owned(), Primitive::U32.into()),
            (
                "nothing".to_owned(),
                TypeDesc::array(Primitive::U8.into(), 0),
            ),
            ("errno".to_owned(), Primitive::I32.into()),
            // Up to the 64 bytes the alignment rounds the size to.
            ("NULL".to_owned(), TypeDesc::array(Primitive::U8.into(), 48)),
        ],
        64,
    )
    .unwrap();
    let awkward = c_declaration(&Schema::new(awkward));
    assert!(awkward.contains("_Alignas(64)"), "{awkward}");
    // With errno's macro in scope, as most programs have it.
    let with_errno = format!("#include <errno.h>\n#include <stdio.h>\n{awkward}");
    compile_alone(&compiler, dir.path(), "awkward.h", &with_errno, &[]);
}

#[test]
fn a_declaration_that_does_not_match_the_compiler_fails_to_compile() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The assertions are what make a generated header trustworthy: break
    // one offset and the compile must fail, naming the field.
    let broken = c_declaration(&Schema::of::<Walker>()).replace(
        "offsetof(Walker, origin) == ",
        "offsetof(Walker, origin) == 1 + ",
    );
    let file = dir.path().join("broken.h");
    std::fs::write(&file, broken).unwrap();
    let output = Command::new(&compiler)
        .args(STRICT)
        .args(["-x", "c", "-c"])
        .arg(&file)
        .arg("-o")
        .arg(dir.path().join("broken.o"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Walker.origin: offset"), "{stderr}");
}

/// The functions a C header declares: identifiers followed by `(` outside
/// comments and preprocessor lines.
fn declared_functions(header: &str) -> BTreeSet<String> {
    let mut code = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = &rest[start + 2..];
        rest = &rest[rest.find("*/").map_or(rest.len(), |end| end + 2)..];
    }
    code.push_str(rest);
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut chars = line.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if !(c.is_ascii_alphabetic() || c == '_') {
                continue;
            }
            let mut end = start + 1;
            while let Some(&(i, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    chars.next();
                    end = i + 1;
                } else {
                    break;
                }
            }
            if line[end..].starts_with('(') {
                names.insert(line[start..end].to_owned());
            }
        }
    }
    names
}

#[test]
fn the_header_declares_exactly_what_the_library_exports() {
    let declared = declared_functions(HEADER);
    assert!(declared.contains("shm_region_open"), "{declared:?}");
    assert!(declared.contains("shm_fetch_add_f64_at"), "{declared:?}");
    assert_eq!(declared.len(), 30, "{declared:?}");

    let library = library_dir().join("libshm_ffi.so");
    let output = match Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&library)
        .output()
    {
        Ok(output) if output.status.success() => output,
        _ => {
            eprintln!("SKIPPED the export check: nm (binutils) does not run");
            return;
        }
    };
    let exported: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace().rev();
            let name = parts.next()?;
            let kind = parts.next()?;
            (kind == "T" && name.starts_with("shm_")).then(|| name.to_owned())
        })
        .collect();
    assert_eq!(declared, exported);
}

#[test]
fn the_header_states_the_status_codes_the_library_returns() {
    for (name, value) in [
        ("SHM_OK", shm_ffi::SHM_OK),
        ("SHM_E_NOT_FOUND", shm_ffi::SHM_E_NOT_FOUND),
        ("SHM_E_PERMISSION", shm_ffi::SHM_E_PERMISSION),
        ("SHM_E_LAYOUT", shm_ffi::SHM_E_LAYOUT),
        ("SHM_E_TIMEOUT", shm_ffi::SHM_E_TIMEOUT),
        ("SHM_E_INVALID_ARGUMENT", shm_ffi::SHM_E_INVALID_ARGUMENT),
        ("SHM_E_OTHER", shm_ffi::SHM_E_OTHER),
    ] {
        let line = HEADER
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} =")))
            .unwrap_or_else(|| panic!("{name} is not in the header"));
        let stated: i32 = line
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .trim_end_matches(',')
            .parse()
            .unwrap();
        assert_eq!(stated, value, "{name}");
    }
}

/// A C program that calls into the library; linked statically and
/// dynamically, both run.
#[test]
fn the_static_and_the_shared_library_link_and_run() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("missing.c");
    std::fs::write(
        &source,
        r#"#include <shm.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    shm_region *region = (shm_region *)&argc;
    int status = shm_region_open(argv[1], &region);
    if (status != SHM_E_NOT_FOUND || region != NULL) return 1;
    if (strstr(shm_last_error(), "not found") == NULL) return 2;
    printf("%d %s\n", status, shm_last_error());
    return 0;
}
"#,
    )
    .unwrap();
    let lib = library_dir();
    let include = include_dir();
    let missing = dir.path().join("no-such-region");
    for linkage in ["static", "shared"] {
        let program = dir.path().join(linkage);
        let mut args: Vec<&OsStr> = STRICT.iter().map(OsStr::new).collect();
        let include_flag = format!("-I{}", include.display());
        let lib_flag = format!("-L{}", lib.display());
        let rpath = format!("-Wl,-rpath,{}", lib.display());
        let archive = lib.join("libshm_ffi.a");
        args.extend([OsStr::new(&include_flag), source.as_os_str()]);
        if linkage == "static" {
            args.push(archive.as_os_str());
            args.extend(NATIVE_LIBS.iter().map(OsStr::new));
        } else {
            args.extend([
                OsStr::new(&lib_flag),
                OsStr::new("-lshm_ffi"),
                OsStr::new(&rpath),
            ]);
        }
        args.extend([OsStr::new("-o"), program.as_os_str()]);
        cc(&compiler, &args);
        let output = Command::new(&program).arg(&missing).output().unwrap();
        assert!(
            output.status.success(),
            "{linkage}: {:?} {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        );
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(printed.starts_with("-1 "), "{printed}");
        assert!(
            printed.contains(&missing.display().to_string()),
            "{printed}"
        );
    }
}
