//! A Rust process sharing structs with Python: the Rust side of the `shm`
//! Python package's tests (`shm-python/tests/`), and an example of the two
//! languages on one region.
//!
//!     cargo run --example python_peer -- fingerprints
//!     cargo run --example python_peer -- serve Telemetry file /tmp/t create
//!     cargo run --example python_peer -- hammer file /tmp/tally 10000
//!
//! The same structs are declared in Python in `shm-python/tests/peer.py`;
//! the layouts (and so the fingerprints) are equal, so each language opens
//! the other's regions with its own declaration.
//!
//! `serve TYPE KIND TARGET create|open` opens the region (creating it with
//! a known value, or opening an existing one: a Python-made region must
//! pass the fingerprint check), prints `ready <fingerprint> <created>`,
//! then answers one line per command read from standard input:
//!
//! - `show`: every field, `path=value` separated by spaces, from one
//!   snapshot;
//! - `write`: field writes with the typed API (one atomic store each),
//!   then `notify`; answers `wrote <version>`;
//! - `update`: one `update` of several fields; answers `updated <version>`;
//! - `wait <version>`: waits (10 s at most) until the version differs;
//!   answers `changed <version>`;
//! - `exit`.
//!
//! `hammer KIND TARGET N` waits for a `go` line, then makes N updates of a
//! `Tally` (`by_rust += 1; total += 1`) while Python makes its own.

use std::io::{BufRead, Write};
use std::time::Duration;

use shm_runtime::schema::Schema;
use shm_runtime::{OpenOptions, Shared, SharedState, Value};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Foo {
    pub bar: i32,
    pub baz: i32,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: i16,
    pub y: i16,
}

/// Every scalar type, arrays (of scalars, of structs, of arrays) and
/// nesting, with no implicit padding.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Telemetry {
    pub count: u64,
    pub temps: [f32; 2],
    pub corners: [Point; 2],
    pub id: u32,
    pub small: [u8; 4],
    pub grid: [[i8; 2]; 2],
    pub level: i16,
    pub flags: u16,
    pub ratio: f64,
    pub offset: i64,
    pub origin: Point,
    pub sign: i32,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Tally {
    pub by_python: u64,
    pub by_rust: u64,
    pub total: u64,
}

const TELEMETRY: Telemetry = Telemetry {
    count: 1,
    temps: [1.5, -0.25],
    corners: [Point { x: 1, y: -2 }, Point { x: 30, y: 40 }],
    id: 7,
    small: [1, 2, 3, 255],
    grid: [[-1, 2], [-3, 4]],
    level: -5,
    flags: 0xbeef,
    ratio: 0.1,
    offset: -9_000_000_000,
    origin: Point { x: -7, y: 8 },
    sign: -1,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("python_peer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["fingerprints"] => {
            println!("Foo {:#018x}", Foo::FINGERPRINT);
            println!("Point {:#018x}", Point::FINGERPRINT);
            println!("Telemetry {:#018x}", Telemetry::FINGERPRINT);
            println!("Tally {:#018x}", Tally::FINGERPRINT);
            Ok(())
        }
        ["serve", "Foo", kind, target, how] => serve(
            open(kind, target, how, Foo { bar: 42, baz: 98 })?,
            |foo| {
                foo.bar.set(-31337);
                foo.baz.fetch_add(1);
            },
            |f| {
                f.bar += 1;
                f.baz -= 1;
            },
        ),
        ["serve", "Telemetry", kind, target, how] => serve(
            open(kind, target, how, TELEMETRY)?,
            |t| {
                t.count.fetch_add(10);
                t.temps[1].set(2.5);
                t.corners[1].y.set(-3);
                t.grid[1][0].set(-8);
                t.small[3].set(0);
                t.ratio.set(0.125);
                t.origin.x.set(70);
            },
            |t| {
                t.id += 1;
                t.level = -2;
                t.offset = i64::MIN;
                t.corners[0] = Point { x: 11, y: 12 };
            },
        ),
        ["hammer", kind, target, n] => hammer(kind, target, n.parse()?),
        _ => Err(
            "usage: python_peer fingerprints | serve TYPE KIND TARGET create|open | \
                  hammer KIND TARGET N"
                .into(),
        ),
    }
}

fn open<T: SharedState>(kind: &str, target: &str, how: &str, initial: T) -> Result<Shared<T>> {
    let mut options = OpenOptions::<T>::new();
    match how {
        "create" => options.create_new(true).initial(initial),
        "open" => options.create(false),
        _ => return Err(format!("create or open, not {how:?}").into()),
    };
    Ok(match kind {
        "file" => options.open_file(target)?,
        "shm" => options.open_shm(target)?,
        _ => return Err(format!("file or shm, not {kind:?}").into()),
    })
}

/// Every field of a value, `path=value`, from its bytes and the derived
/// schema.
fn show<T: SharedState>(value: &T) -> String {
    let schema = Schema::of::<T>();
    let bytes = shm_runtime::as_bytes(value);
    let mut fields = Vec::new();
    for leaf in schema.leaves() {
        let at = &bytes[leaf.offset..];
        let bits = match leaf.primitive.size() {
            1 => u64::from(at[0]),
            2 => u64::from(u16::from_ne_bytes([at[0], at[1]])),
            4 => u64::from(u32::from_ne_bytes([at[0], at[1], at[2], at[3]])),
            _ => u64::from_ne_bytes(at[..8].try_into().expect("8 bytes")),
        };
        let value = Value::from_bits(bits, leaf.primitive);
        fields.push(format!("{}={value}", leaf.path));
    }
    fields.join(" ")
}

fn serve<T: SharedState + Copy>(
    shared: Shared<T>,
    write: impl Fn(&Shared<T>),
    update: impl Fn(&mut T),
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {:#018x} {}", T::FINGERPRINT, shared.created())?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["show"] => writeln!(out, "{}", show(&shared.snapshot()))?,
            ["write"] => {
                write(&shared);
                writeln!(out, "wrote {}", shared.notify())?;
            }
            ["update"] => {
                shared.update(&update);
                writeln!(out, "updated {}", shared.version())?;
            }
            ["wait", seen] => {
                let version = shared.wait_for_change(seen.parse()?, Duration::from_secs(10))?;
                writeln!(out, "changed {version}")?;
            }
            ["exit"] => return Ok(()),
            _ => writeln!(out, "error: unknown command {line:?}")?,
        }
        out.flush()?;
    }
    Ok(())
}

fn hammer(kind: &str, target: &str, n: u64) -> Result<()> {
    let tally = open(kind, target, "open", Tally::default())?;
    println!("ready");
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go)?;
    for _ in 0..n {
        tally.update(|t| {
            t.by_rust += 1;
            t.total += 1;
        });
    }
    println!("done {}", show(&tally.snapshot()));
    Ok(())
}
