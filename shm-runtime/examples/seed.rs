//! The original scenario, end to end: two processes share a `Foo`.
//!
//!     cargo run --example seed
//!
//! The first process creates a file-backed `Foo { bar: 42, baz: 98 }` and
//! starts a second process of this same program. The second opens the
//! region, prints what it sees and sets `bar = 31337`; the first prints the
//! change through its existing mapping, without reopening. Then the same
//! through a POSIX shm object. Everything is removed at the end.

use std::process::Command;
use std::time::{Duration, Instant};

use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
struct Foo {
    bar: i32,
    baz: i32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [role, kind, target] if role == "second" => second(kind, target),
        [] => first(),
        _ => Err("usage: seed (the second process is started by the first)".into()),
    }
}

/// The first process: create, hand over, watch the change arrive.
fn first() -> Result<(), Box<dyn std::error::Error>> {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("shm-seed-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("suchfoo");
    let name = format!("such_foo_{pid}");

    println!("== file-backed: {}", path.display());
    let foo = Foo::options()
        .initial(Foo { bar: 42, baz: 98 })
        .open_file(&path)?;
    show("first ", "created", &foo);
    hand_over(&foo, "file", &path.display().to_string())?;
    std::fs::remove_dir_all(&dir)?;
    println!("first : removed {}", path.display());

    println!("\n== POSIX shm: /{name}");
    let foo = Foo::options()
        .initial(Foo { bar: 42, baz: 98 })
        .open_shm(&name)?;
    show("first ", "created", &foo);
    hand_over(&foo, "shm", &name)?;
    shm_runtime::remove_shm(&name)?;
    println!("first : removed /{name}");
    Ok(())
}

/// Starts the second process on the region and waits for its write to show
/// through this process's mapping.
fn hand_over(
    foo: &Shared<Foo>,
    kind: &str,
    target: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("first : starting the second process");
    let status = Command::new(std::env::current_exe()?)
        .args(["second", kind, target])
        .status()?;
    if !status.success() {
        return Err(format!("the second process failed: {status}").into());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while foo.bar.get() != 31337 {
        if Instant::now() > deadline {
            return Err("the second process's write never arrived".into());
        }
        std::thread::yield_now();
    }
    show("first ", "sees, without reopening", foo);
    Ok(())
}

/// The second process: open what the first created, read, write.
fn second(kind: &str, target: &str) -> Result<(), Box<dyn std::error::Error>> {
    let foo = match kind {
        "file" => Foo::options().create(false).open_file(target)?,
        _ => Foo::options().create(false).open_shm(target)?,
    };
    show("second", "opened", &foo);
    foo.bar.set(31337);
    println!("second: set bar = 31337 and exits");
    Ok(())
}

fn show(who: &str, what: &str, foo: &Shared<Foo>) {
    println!(
        "{who}: {what}: bar = {}, baz = {}",
        foo.bar.get(),
        foo.baz.get()
    );
}
