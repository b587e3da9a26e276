//! One `Foo` on two machines: `bar = 31337` set on one is seen on the other.
//!
//!     cargo run -p shm-zenoh --example across_machines
//!
//! Two processes stand for two machines: each has a region of its own (a
//! file in its own folder) and a Zenoh session of its own, and they meet
//! only over TCP on loopback. Machine A publishes its `Foo` under the key
//! `demo/suchfoo`; machine B mirrors that key into its own `Foo`. A sets
//! `foo.bar.set(31337)`, a plain field write; B sees it arrive. On real
//! machines, replace `127.0.0.1` by A's address (and run B with
//! `--connect tcp/<A>:17447`), or use `shm publish` / `shm mirror`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shm_runtime::SharedState;
use shm_zenoh::{BridgeConfig, Mirror, MirrorOptions, PublishOptions, Publisher};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
struct Foo {
    bar: i32,
    baz: i32,
}

const KEY: &str = "demo/suchfoo";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => machine_a("tcp/127.0.0.1:17447"),
        [endpoint] => machine_a(endpoint),
        [role, endpoint] if role == "machine-b" => machine_b(endpoint),
        _ => Err("usage: across_machines [ENDPOINT]".into()),
    }
}

/// Machine A: its own `Foo`, published; starts machine B and sets `bar`
/// once B follows.
fn machine_a(endpoint: &str) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("suchfoo");
    let foo = Foo::options()
        .initial(Foo { bar: 42, baz: 98 })
        .open_file(&path)?;
    println!("machine A: {} holds {:?}", path.display(), foo.snapshot());

    let session = BridgeConfig {
        listen: vec![endpoint.to_owned()],
        ..BridgeConfig::default()
    }
    .open_session()?;
    let _publisher = Publisher::shared(&session, KEY, &foo, PublishOptions::default())?;
    println!("machine A: publishing it under `{KEY}` on {endpoint}");

    let mut b = Command::new(std::env::current_exe()?)
        .args(["machine-b", endpoint])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut b_says = BufReader::new(b.stdout.take().ok_or("no stdout")?).lines();
    let mut to_b = b.stdin.take().ok_or("no stdin")?;
    // B says when it follows; then A writes one field, as in the post.
    for line in b_says.by_ref() {
        let line = line?;
        println!("{line}");
        if line.contains("follows") {
            break;
        }
    }
    foo.bar.set(31337);
    println!("machine A: foo.bar.set(31337)");
    writeln!(to_b, "go")?;
    for line in b_says {
        println!("{}", line?);
    }
    let status = b.wait()?;
    if !status.success() {
        return Err(format!("machine B failed: {status}").into());
    }
    Ok(())
}

/// Machine B: its own `Foo` in its own folder, kept equal to A's.
fn machine_b(endpoint: &str) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("suchfoo");
    let foo = Foo::open_file(&path)?;
    let session = BridgeConfig {
        connect: vec![endpoint.to_owned()],
        ..BridgeConfig::default()
    }
    .open_session()?;
    let mirror = Mirror::shared(&session, KEY, &foo, MirrorOptions::default())?;
    mirror.wait_synced(Duration::from_secs(10))?;
    println!(
        "machine B: {} follows `{KEY}`: {:?}",
        path.display(),
        foo.snapshot()
    );
    std::io::stdout().flush()?;

    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    let mut seen = foo.version();
    while foo.bar.get() != 31337 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("bar = 31337 did not arrive within 10 s".into());
        }
        seen = foo.wait_for_change(seen, left).unwrap_or(seen);
    }
    println!(
        "machine B: foo.bar.get() == {} ({:.1} ms after A said it wrote it; A's \
         publisher notices a field write by polling, every 10 ms)",
        foo.bar.get(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
