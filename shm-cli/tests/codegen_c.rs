//! `codegen --lang c` as C compilers and C programs see it.
//!
//! Generated headers compile on their own with `cc -std=c11 -Wall -Werror`
//! (also with `-Wextra -Wpedantic`), twice, and before or after shm-ffi's
//! `shm.h`; names C cannot take still compile with their macros in scope;
//! a broken `_Static_assert` stops the compiler, naming the field.
//!
//! And a C program and a Rust process on one region: the region is made by
//! Rust from a derived struct, its C declaration is what `shm codegen
//! REGION --lang c` prints for it, and the C program
//! (`tests/c/end_to_end.c`), compiled against that declaration and linked
//! with shm-ffi's static library as cargo built it, runs as a separate
//! process, steered over its standard input and output.
//!
//! The C side reads every scalar through its own struct (so the generated
//! layout must be the region's), writes by path, by offset and with a store,
//! and takes snapshots while Rust updates, checking an invariant that spans
//! the struct. The Rust side checks every byte the C side wrote.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use shm_runtime::{Primitive, Region, Schema, Shared, SharedState, StructDesc, TypeDesc, Value};
use support::c::{c_compiler, cc, compile_alone, library_dir, CProgram, NATIVE_LIBS, STRICT};
use support::{shm, Scratch, PATIENCE};

/// What `shm codegen REGION --lang c` prints.
fn c_declaration(region: &str) -> String {
    let out = shm()
        .args(["codegen", region, "--lang", "c"])
        .assert()
        .success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
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

/// The C declaration of a `Walker` region.
fn walker_declaration() -> String {
    let scratch = Scratch::file();
    let _walker = scratch.create(Walker::default());
    c_declaration(&scratch.arg)
}

#[test]
fn generated_declarations_compile_alone_and_with_the_interface() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    let walker = walker_declaration();
    compile_alone(&compiler, dir.path(), "walker.h", &walker, &[]);
    compile_alone(
        &compiler,
        dir.path(),
        "walker-pedantic.h",
        &walker,
        &["-Wextra", "-Wpedantic"],
    );
    std::fs::write(dir.path().join("walker_decl.h"), &walker).unwrap();
    std::fs::write(dir.path().join("shm.h"), shm_ffi::HEADER).unwrap();
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
    let path = dir.path().join("awkward");
    let _awkward = Region::options()
        .schema(Schema::new(awkward))
        .open_file(&path)
        .unwrap();
    let awkward = c_declaration(path.to_str().unwrap());
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
    let broken = walker_declaration().replace(
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

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: i16,
    pub y: i16,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Sensor {
    pub id: u32,
    pub pos: Point,
    pub readings: [f64; 3],
    pub flags: [[u8; 3]; 2],
    pub _pad: [u8; 2],
}

/// The struct the two languages share: nested structs in an array, an
/// array of arrays, every width, and an invariant group (`generation`,
/// `left`, `right`, `sensors[0].readings`) spread over more than one cache
/// line.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Station {
    pub counter: u64,
    pub level: i32,
    pub ratio: f32,
    pub sensors: [Sensor; 2],
    pub generation: u64,
    pub left: i64,
    pub right: i64,
    pub small: u8,
    pub tiny: i8,
    pub half: u16,
    pub word: u32,
    pub size: usize,
}

/// Distinct values everywhere, so a field read from the wrong place shows.
fn initial() -> Station {
    let sensor = |i: u8| Sensor {
        id: 10 + u32::from(i),
        pos: Point {
            x: -1 - i16::from(i),
            y: 300 + i16::from(i),
        },
        readings: [
            0.25 + f64::from(i),
            -1.5 - f64::from(i),
            1e10 + f64::from(i),
        ],
        flags: [[1 + i, 2 + i, 3 + i], [4 + i, 5 + i, 6 + i]],
        _pad: [20 + i, 30 + i],
    };
    Station {
        counter: 1 << 40,
        level: -123_456,
        ratio: 0.1,
        sensors: [sensor(0), sensor(1)],
        generation: 11,
        left: -22,
        right: 33,
        small: 200,
        tiny: -5,
        half: 60_000,
        word: 3_000_000_000,
        size: 1 << 33,
    }
}

/// What the C program's writes (`write_fields`) leave.
fn after_c_writes() -> Station {
    let mut s = initial();
    s.sensors[1].pos.x = -1234;
    s.counter = 1005;
    s.ratio = 0.25;
    s.sensors[0].readings[1] = -7.5;
    s.sensors[1].readings[0] += 1.5;
    s.sensors[0].pos.y = 77;
    s.word = 0xdead_beef;
    s.level += 10;
    s.tiny = -100;
    s.sensors[1].readings[2] = 3.75;
    s.sensors[1].flags[1][2] = 200;
    // The store.
    s.half = 4242;
    s.small = 7;
    s.sensors[0].id = 99;
    s.size = 123_456_789;
    s
}

/// Compiles the C program against `station.h`, the declaration of the
/// region at `region` (written into `dir`), and the static library.
fn build_c_program(compiler: &str, dir: &Path, region: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("station.h"), c_declaration(region)).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/end_to_end.c");
    let program = dir.join("end_to_end");
    let archive = library_dir().join("libshm_ffi.a");
    let include = format!("-I{}", dir.display());
    let mut args: Vec<&OsStr> = STRICT.iter().map(OsStr::new).collect();
    args.extend([
        OsStr::new("-Wextra"),
        OsStr::new(&include),
        source.as_os_str(),
        archive.as_os_str(),
    ]);
    args.extend(NATIVE_LIBS.iter().map(OsStr::new));
    args.extend([OsStr::new("-o"), program.as_os_str()]);
    cc(compiler, &args);
    program
}

/// Checks a `read` line: every scalar of the struct, as C read it through
/// its own declaration, equals the scalar at that path in `expected`, and
/// none is missing.
fn check_read_line(line: &str, expected: &Station) {
    let printed: BTreeMap<&str, &str> = line
        .split(' ')
        .map(|pair| {
            pair.split_once('=')
                .unwrap_or_else(|| panic!("{pair:?} in {line}"))
        })
        .collect();
    let schema = Schema::of::<Station>();
    let bytes = expected.as_bytes();
    let mut count = 0;
    for leaf in schema.leaves() {
        let text = printed
            .get(leaf.path.as_str())
            .unwrap_or_else(|| panic!("C did not print `{}`: {line}", leaf.path));
        let mut bits = [0u8; 8];
        let width = leaf.primitive.size();
        bits[..width].copy_from_slice(&bytes[leaf.offset..leaf.offset + width]);
        let value = Value::from_bits(u64::from_le_bytes(bits), leaf.primitive);
        let same = match value {
            Value::Signed(v) => text.parse::<i64>() == Ok(v),
            Value::Unsigned(v) => text.parse::<u64>() == Ok(v),
            Value::F32(v) => text.parse::<f32>() == Ok(v),
            Value::F64(v) => text.parse::<f64>() == Ok(v),
        };
        assert!(same, "`{}`: C read {text}, Rust wrote {value}", leaf.path);
        count += 1;
    }
    assert_eq!(
        count,
        printed.len(),
        "C printed fields the schema lacks: {line}"
    );
}

/// Runs the whole conversation with the C program over the region at
/// `location` (`station` is the same region, typed).
fn converse(program: &Path, location: &str, not_a_region: &Path, station: &Shared<Station>) {
    let before = station.version();
    let mut c = CProgram::start(program, &[location, not_a_region.to_str().unwrap()]);

    // 1. C reads every scalar through its struct.
    check_read_line(&c.expect("read"), &initial());

    // 3. C's writes by path, by offset and its store, byte for byte; the
    // old values its read-modify-writes returned; the store moved the
    // version.
    assert_eq!(
        c.expect("wrote"),
        format!(
            "counter=1000 level={} reading={}",
            initial().level,
            initial().sensors[1].readings[0]
        )
    );
    assert_eq!(station.snapshot(), after_c_writes());
    assert!(station.version() > before, "the store moves the version");

    // 4. C's notify wakes a Rust waiter.
    let seen = station.version();
    c.send("notify");
    let notified: u64 = c.expect("notified").parse().unwrap();
    assert_eq!(station.wait_for_change(seen, PATIENCE).unwrap(), notified);

    // 5. A Rust update wakes C's wait.
    let waiting: u64 = c.expect("waiting").parse().unwrap();
    assert_eq!(waiting, station.version());
    station.update(|s| s.half += 1);
    let changed = c.expect("changed");
    assert_eq!(changed, format!("{} half=4243", station.version()));

    // 6. With nobody writing, C's short wait times out.
    c.expect("timed-out");

    // 7. C snapshots while Rust updates the invariant group as fast as it
    // can, and adds to `counter`, which the updates leave alone.
    let step = |s: &mut Station| {
        let g = s.generation + 1;
        s.generation = g;
        s.left = g as i64;
        s.right = -(g as i64);
        s.sensors[0].readings = [g as f64; 3];
    };
    // The invariant holds before C looks.
    station.update(step);
    let counter = station.counter.get();
    let stop = AtomicBool::new(false);
    let updates = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut updates = 0u64;
            while !stop.load(Ordering::Relaxed) {
                station.update(step);
                updates += 1;
            }
            updates
        });
        // Stops the writer however this ends: a failed check below must
        // not leave the scope waiting for it forever.
        let _stop = StopOnDrop(&stop);
        c.send("consistency");
        let result = c.expect("consistent");
        let distinct: u32 = result
            .strip_prefix("rounds=2000 distinct=")
            .unwrap_or_else(|| panic!("{result}"))
            .parse()
            .unwrap();
        assert!(distinct > 1, "C saw {distinct} states: {result}");
        drop(_stop);
        writer.join().unwrap()
    });
    assert!(updates > 0);
    assert_eq!(
        station.counter.get(),
        counter + 2000,
        "an add by C was lost to a concurrent update"
    );
    let s = station.snapshot();
    assert_eq!(
        (s.left, s.right),
        (s.generation as i64, -(s.generation as i64))
    );

    c.expect("done");
    c.finish();
}

#[test]
fn a_c_program_shares_a_region_with_rust() {
    let Some(compiler) = c_compiler() else { return };
    let dir = tempfile::tempdir().unwrap();
    let not_a_region = dir.path().join("not-a-region");
    std::fs::write(&not_a_region, b"plain text\n").unwrap();

    // A file-backed region, by path.
    let path = dir.path().join("station");
    let station = Station::options()
        .initial(initial())
        .open_file(&path)
        .unwrap();
    let program = build_c_program(&compiler, dir.path(), path.to_str().unwrap());
    converse(&program, path.to_str().unwrap(), &not_a_region, &station);

    // A POSIX shm region, by name.
    let name = ShmName(format!("shm-cli-c-e2e-{}", std::process::id()));
    let station = Station::options()
        .initial(initial())
        .open_shm(&name.0)
        .unwrap();
    converse(&program, &name.0, &not_a_region, &station);
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A shm name, removed when the test ends, whether it passes or not.
struct ShmName(String);

impl Drop for ShmName {
    fn drop(&mut self) {
        let _ = shm_runtime::remove_shm(&self.0);
    }
}
