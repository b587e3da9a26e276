//! The second (third, ...) process of the integration tests: one role per
//! invocation, chosen by the first argument; results on stdout, one line.
//!
//! `shm-test-child <role> <file|shm> <path|name> [args...]`, or
//! `shm-test-child soak <writer|reader> ...` (see `shm_testing::soak`)

use std::io::Write;
use std::process::ExitCode;

use std::time::{Duration, Instant};

use shm_runtime::{OpenOptions, Shared, SharedState};
use shm_testing::{Counter, Foo, Handoff, Huge, Invariant, Striped, Tally, Target, SEED};

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
    // A writer or reader of the soak (tests/soak.rs), which names its own
    // regions.
    if let [role, soak_args @ ..] = args {
        if role == "soak" {
            return shm_testing::soak::child_main(soak_args);
        }
    }
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
            let foo = open(&target, Foo::options().create(false))?;
            say(&format!("bar={} baz={}", foo.bar.get(), foo.baz.get()));
            foo.bar.set(31337);
        }
        // One of many processes racing to create the same region.
        "race" => {
            let foo = open(&target, Foo::options().initial(SEED))?;
            say(&format!("{} {}", foo.bar.get(), foo.baz.get()));
        }
        // `n` increments of one shared counter.
        "fetch-add" => {
            let n = number(0)?;
            let counter = open(&target, &OpenOptions::<Counter>::new())?;
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
            open(&target, Foo::options().create_new(true).mode(mode))?;
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
        // Rewrites the whole invariant struct `n` times (0: until killed).
        "invariant-writer" => {
            let n = number(0)?;
            let shared = open(&target, &OpenOptions::<Invariant>::new())?;
            say("ready");
            let mut i = 0;
            while n == 0 || i < n {
                shared.update(Invariant::advance);
                i += 1;
            }
        }
        // After a writer was killed: the state is consistent and an update
        // goes through. The dead writer's update may be rolled forward by
        // that update's recovery, so it adds one or two rounds. Prints the
        // round after it.
        "invariant-check" => {
            let shared = open(&target, OpenOptions::<Invariant>::new().create(false))?;
            let before = shared.snapshot();
            if !before.is_consistent() {
                return Err(format!("torn state after a crash: {before:?}"));
            }
            let after = shared.update(|v| {
                v.advance();
                *v
            });
            let check = shared.snapshot();
            let steps = after.round.wrapping_sub(before.round);
            if check != after || !(1..=2).contains(&steps) || !after.is_consistent() {
                return Err(format!(
                    "update after recovery: {before:?} -> {after:?}, then {check:?}"
                ));
            }
            say(&after.round.to_string());
        }
        // `n` updates of `by_update`.
        "tally-update" => {
            let n = number(0)?;
            let tally = open(&target, &OpenOptions::<Tally>::new())?;
            say("ready");
            for _ in 0..n {
                tally.update(|t| t.by_update += 1);
            }
        }
        // `n` fetch_adds of `by_field`.
        "tally-fetch-add" => {
            let n = number(0)?;
            let tally = open(&target, &OpenOptions::<Tally>::new())?;
            say("ready");
            for _ in 0..n {
                tally.by_field.fetch_add(1);
            }
        }
        // Enters an update and never leaves it (killed inside the closure).
        "hold-in-update" => {
            let shared = open(&target, &OpenOptions::<Invariant>::new())?;
            shared.update(|v| {
                v.advance();
                v.data[0] = u64::MAX; // half-built: must never be seen
                say("in update");
                loop {
                    std::thread::park();
                }
            });
        }
        // Waits for the version to move past `seen`; prints the new version
        // and the round it sees.
        "wait-change" => {
            let seen = number(0)?;
            let shared = open(&target, &OpenOptions::<Invariant>::new())?;
            say("waiting");
            let version = shared
                .wait_for_change(seen, Duration::from_secs(20))
                .map_err(|e| e.to_string())?;
            say(&format!("{version} {}", shared.snapshot().round));
        }
        // Measures how long an update takes to get through (after a crash).
        "timed-update" => {
            let shared = open(&target, &OpenOptions::<Invariant>::new())?;
            let started = Instant::now();
            shared.update(Invariant::advance);
            say(&format!("{}", started.elapsed().as_micros()));
        }
        // Every whole-struct operation on a 64 MiB struct, on the main
        // thread (8 MiB of stack): none may need the struct on the stack.
        "huge" => {
            let shared = open(&target, &OpenOptions::<Huge>::new())?;
            let mut value = shared.snapshot_boxed();
            value.head = 7;
            value.data[123] = 9;
            shared.store_from(&value);
            shared.update(|h| h.data[(64 << 20) / 8 - 2] = 11);
            shared.snapshot_into(&mut value);
            let reopened = Huge::options()
                .initial_from(&value)
                .open_file_read_only(match &target {
                    Target::File(path) => path.clone(),
                    Target::Shm(_) => return Err("huge takes a file".into()),
                })
                .map_err(|e| e.to_string())?;
            let seen = reopened.snapshot_boxed();
            say(&format!(
                "{} {} {} {}",
                shared.created(),
                seen.head,
                seen.data[123],
                seen.data[(64 << 20) / 8 - 2]
            ));
        }
        // Drops to user `uid`, then opens the region read-write (which
        // must be refused) and read-only; prints both outcomes.
        "as-user" => {
            let uid = number(0)? as u32;
            nix::unistd::setgid(nix::unistd::Gid::from_raw(uid)).map_err(|e| e.to_string())?;
            nix::unistd::setuid(nix::unistd::Uid::from_raw(uid)).map_err(|e| e.to_string())?;
            match open(&target, &OpenOptions::<Foo>::new()) {
                Ok(_) => say("read-write: opened"),
                Err(e) => say(&format!("read-write: {e}")),
            }
            let foo = match &target {
                Target::File(path) => Foo::open_file_read_only(path),
                Target::Shm(name) => Foo::open_shm_read_only(name),
            }
            .map_err(|e| e.to_string())?;
            say(&format!(
                "read-only: {} {}",
                foo.bar.get(),
                foo.snapshot().baz
            ));
        }
        // One update of the striped struct (journaled as whole copies).
        "striped-writer" => {
            let shared = open(&target, &OpenOptions::<Striped>::new())?;
            say("ready");
            shared.update(Striped::advance);
        }
        // One store of the striped struct that sets its first `n` even
        // words to one more than word 0: as `n` ranges, or as whole copies
        // when `n` is more than the journal lists.
        "striped-store" => {
            let n = usize::try_from(number(0)?).map_err(|e| e.to_string())?;
            let shared = open(&target, &OpenOptions::<Striped>::new())?;
            let mut value = shared.snapshot();
            let next = value.words[0] + 1;
            value
                .words
                .iter_mut()
                .step_by(2)
                .take(n)
                .for_each(|w| *w = next);
            say("ready");
            shared.store(value);
        }
        // Stores a new whole value in a loop, forever: `soak` (a 480-byte
        // struct whose invariant is one contiguous range: compared in
        // place) or `striped` (32 separate ranges: journaled as copies).
        "store-loop" => match rest.first().map(String::as_str) {
            Some("soak") => {
                let shared = open(&target, &OpenOptions::<shm_testing::soak::SoakState>::new())?;
                say("ready");
                loop {
                    let mut value = shared.snapshot();
                    value.advance();
                    shared.store(value);
                }
            }
            Some("striped") => {
                let shared = open(&target, &OpenOptions::<Striped>::new())?;
                say("ready");
                loop {
                    let mut value = shared.snapshot();
                    value.advance();
                    shared.store(value);
                }
            }
            other => return Err(format!("store-loop: soak or striped, not {other:?}")),
        },
        // Holds the lock inside an update until the region's `release` flag
        // is set, with `holding` set meanwhile; then adds `n` to `value`.
        // With a second argument, first renames the main thread (the
        // process's command name in /proc) to it, inside the update.
        "hold-until-released" => {
            let add = number(0)?;
            let shared = open(&target, &OpenOptions::<Handoff>::new())?;
            shared.update(|v| {
                if let Some(name) = rest.get(1) {
                    rename_this_thread(name)?;
                }
                hold_until_released(&shared, v, add)
            })?;
        }
        // The same from a second thread, after the main thread has ended
        // (its leader is a zombie while the process lives on).
        "hold-from-thread" => {
            let add = number(0)?;
            let shared = open(&target, &OpenOptions::<Handoff>::new())?;
            std::thread::spawn(move || {
                let held = shared.update(|v| hold_until_released(&shared, v, add));
                std::process::exit(i32::from(held.is_err()));
            });
            exit_this_thread();
        }
        // Holds the region open (mapped, registered), outside any update,
        // until its `release` flag is set; says "open" once it is.
        "hold-open" => {
            let shared = open(&target, OpenOptions::<Handoff>::new().create(false))?;
            say("open");
            wait_for_release(&shared)?;
        }
        // One update that adds `n` to `value`; says "updating" before it and
        // "done <value>" after.
        "add-handoff" => {
            let add = number(0)?;
            let shared = open(&target, &OpenOptions::<Handoff>::new())?;
            say("updating");
            let value = shared.update(|v| {
                v.value += add;
                v.value
            });
            say(&format!("done {value}"));
        }
        other => return Err(format!("unknown role {other:?}")),
    }
    Ok(())
}

/// Opens a region of `T` at `target`, the error as text for the exit message.
fn open<T: SharedState>(target: &Target, options: &OpenOptions<T>) -> Result<Shared<T>, String> {
    target.open(options).map_err(|e| e.to_string())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The body of an update that holds the lock until told to let go: sets
/// `holding`, says "in update", waits for `release`, adds `add`, clears
/// `holding`.
fn hold_until_released(shared: &Shared<Handoff>, v: &mut Handoff, add: u64) -> Result<(), String> {
    shared.holding.set(1);
    say("in update");
    wait_for_release(shared)?;
    v.value += add;
    shared.holding.set(0);
    Ok(())
}

/// Waits (at most a minute) until the region's `release` flag is set.
fn wait_for_release(shared: &Shared<Handoff>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.release.get() == 0 {
        if Instant::now() > deadline {
            return Err("never released".into());
        }
        let seen = shared.version();
        if shared.release.get() == 0 {
            // The releaser sets the flag, then notifies.
            let _ = shared.wait_for_change(seen, Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Ends the calling thread only (the raw `exit` system call, not
/// `exit_group`), leaving the other threads running.
fn exit_this_thread() -> ! {
    // SAFETY: SYS_exit ends this thread without running anything of it
    // again: no destructor, no unwinding, so no Rust invariant can be seen
    // broken. Only this thread's stack goes away; nothing on another thread
    // borrows from it (the spawned thread owns everything it uses).
    unsafe {
        nix::libc::syscall(nix::libc::SYS_exit, 0);
    }
    unreachable!("SYS_exit returned")
}

/// Sets the calling thread's name (for the main thread: the command name
/// that `/proc/<pid>/stat` shows), cut to 15 bytes as the kernel does.
fn rename_this_thread(name: &str) -> Result<(), String> {
    let mut bytes = [0u8; 16];
    let len = name.len().min(15);
    bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from the pointer: `bytes` is 16 bytes and ends with a NUL.
    let rc = unsafe { nix::libc::prctl(nix::libc::PR_SET_NAME, bytes.as_ptr()) };
    if rc != 0 {
        return Err(format!(
            "prctl(PR_SET_NAME): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
