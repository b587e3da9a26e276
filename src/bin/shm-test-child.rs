//! The second (third, ...) process of the integration tests: one role per
//! invocation, chosen by the first argument; results on stdout, one line.
//!
//! `shm-test-child <role> <file|shm> <path|name> [args...]`

use std::io::Write;
use std::process::ExitCode;

use shm::{Counter, Foo, Target, SEED};
use shm_runtime::OpenOptions;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("shm-test-child {args:?}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let [role, kind, where_, rest @ ..] = args else {
        return Err("usage: shm-test-child <role> <file|shm> <path|name> [args...]".into());
    };
    let target = Target::from_args(kind, where_).ok_or("kind must be file or shm")?;
    let number = |i: usize| -> Result<u64, String> {
        rest.get(i)
            .ok_or("missing number argument")?
            .parse::<u64>()
            .map_err(|e| e.to_string())
    };
    match role.as_str() {
        // The second process of the seed scenario: read, then write.
        "seed" => {
            let foo = target
                .open(Foo::options().create(false))
                .map_err(|e| e.to_string())?;
            say(&format!("bar={} baz={}", foo.bar.get(), foo.baz.get()));
            foo.bar.set(31337);
        }
        // One of many processes racing to create the same region.
        "race" => {
            let foo = target
                .open(Foo::options().initial(SEED))
                .map_err(|e| e.to_string())?;
            say(&format!("{} {}", foo.bar.get(), foo.baz.get()));
        }
        // `n` increments of one shared counter.
        "fetch-add" => {
            let n = number(0)?;
            let counter = target
                .open(&OpenOptions::<Counter>::new())
                .map_err(|e| e.to_string())?;
            say("ready");
            for _ in 0..n {
                counter.count.fetch_add(1);
            }
        }
        // Create with `mode` under `umask` (both octal).
        "create-mode" => {
            let parse = |s: Option<&String>| {
                u32::from_str_radix(s.map_or("", String::as_str), 8).map_err(|e| e.to_string())
            };
            let mode = parse(rest.first())?;
            let umask = parse(rest.get(1))?;
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
            target
                .open(Foo::options().create_new(true).mode(mode))
                .map_err(|e| e.to_string())?;
        }
        // Hold the file's exclusive flock (the init lock) until killed.
        "hold-flock" => {
            let Target::File(path) = &target else {
                return Err("hold-flock takes a file".into());
            };
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| e.to_string())?;
            let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, e)| e.to_string())?;
            say("locked");
            loop {
                std::thread::park();
            }
        }
        other => return Err(format!("unknown role {other:?}")),
    }
    Ok(())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
