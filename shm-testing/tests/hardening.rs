//! What a new user hits, and what an adversarial suite found: natural
//! arguments that must not panic, errors that say what is wrong, read-only
//! access, structs larger than a stack, links, holes, flipped words and
//! creation races. Real files, real `/dev/shm` objects, real processes.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shm_runtime::{Error, OpenOptions};
use shm_testing::{Big, Foo, Invariant, SEED};
use support::{Helper, Scratch, Target};

#[test]
fn no_duration_panics_and_max_means_no_deadline() {
    for scratch in Scratch::both() {
        let foo = scratch
            .target
            .open(Foo::options().timeout(Duration::MAX))
            .unwrap();
        let reopened = scratch
            .target
            .open(Foo::options().timeout(Duration::MAX))
            .unwrap();
        // A wait without a deadline returns when the version moves.
        let seen = foo.version();
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    reopened.update(|f| f.bar += 1);
                    std::thread::yield_now();
                }
            });
            let version = foo.wait_for_change(seen, Duration::MAX).unwrap();
            done.store(true, Ordering::Relaxed);
            assert_ne!(version, seen);
        });
        // Zero waits not at all.
        assert!(matches!(
            foo.wait_for_change(foo.version(), Duration::ZERO),
            Err(Error::Timeout { .. })
        ));
    }
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/x");
    for create in [true, false] {
        let err = Foo::options().create(create).open_file(&path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(
            message.contains(&format!(
                "its directory {} does not exist",
                dir.path().join("no/such/dir").display()
            )),
            "{message}"
        );
    }
}

#[test]
fn a_dangling_symlink_is_answered_at_once_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link");
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for create_new in [false, true] {
        let started = std::time::Instant::now();
        let err = Foo::options()
            .create_new(create_new)
            .timeout(Duration::from_secs(30))
            .open_file(&link)
            .unwrap_err();
        // A hang guard: it used to spin for the whole timeout.
        assert!(started.elapsed() < Duration::from_secs(10));
        let message = err.to_string();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(
            message.contains("symbolic link") && message.contains(&target.display().to_string()),
            "{message}"
        );
        assert!(!target.exists(), "a region was created through the link");
    }
    // A link to an existing region is followed for opening.
    drop(Foo::options().initial(SEED).open_file(&target).unwrap());
    assert_eq!(Foo::open_file(&link).unwrap().baz.get(), 98);
}

#[test]
fn created_says_whether_this_call_made_the_region() {
    for scratch in Scratch::both() {
        let first = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        assert!(first.created());
        let second = scratch
            .target
            .open(Foo::options().initial(Foo { bar: 1, baz: 1 }))
            .unwrap();
        assert!(!second.created(), "the region existed");
        assert_eq!(second.snapshot(), SEED, "initial is ignored when it exists");
    }
}

/// A 4 MiB struct in a thread with the default 2 MiB stack: every call that
/// does not move a `T` by value works.
#[test]
fn a_struct_larger_than_the_thread_stack() {
    for scratch in Scratch::both() {
        let target = scratch.target.clone();
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let zeroed = target.open(&OpenOptions::<Big>::new()).unwrap();
                let mut value = zeroed.snapshot_boxed();
                value.head = 1;
                value.data[7] = 2;
                zeroed.store_from(&value);
                zeroed.update(|b| b.data[(4 << 20) / 8 - 2] = 3);
                zeroed.snapshot_into(&mut value);
                assert_eq!(
                    (value.head, value.data[7], value.data[(4 << 20) / 8 - 2]),
                    (1, 2, 3)
                );
                let options = OpenOptions::<Big>::new().initial_from(&value).clone();
                let again = target.open(&options).unwrap();
                assert!(!again.created());
                assert_eq!(again.data[7].get(), 2);
            })
            .unwrap()
            .join()
            .expect("a 4 MiB struct overflowed a 2 MiB stack");
    }
}

/// A 64 MiB struct on a main thread (8 MiB of stack), in a process of its
/// own.
#[test]
fn a_struct_larger_than_the_main_stack() {
    let scratch = Scratch::file();
    assert_eq!(support::run("huge", &scratch.target, &[]), ["true 7 9 11"]);
}

#[test]
fn read_only_handles_read_wait_and_never_create() {
    for scratch in Scratch::both() {
        let options = OpenOptions::<Foo>::new();
        let missing = match &scratch.target {
            Target::File(path) => options.open_file_read_only(path),
            Target::Shm(name) => options.open_shm_read_only(name),
        };
        assert!(matches!(missing, Err(Error::NotFound { .. })));
        assert!(!scratch.target.backing_path().exists());

        let writer = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        let reader = match &scratch.target {
            Target::File(path) => options.open_file_read_only(path),
            Target::Shm(name) => options.open_shm_read_only(name),
        }
        .unwrap();
        assert_eq!(reader.snapshot(), SEED);
        assert_eq!(reader.bar.get(), 42);
        writer.bar.set(5);
        assert_eq!(reader.bar.get(), 5);

        let seen = reader.version();
        std::thread::scope(|s| {
            let waiting = s.spawn(|| reader.wait_for_change(seen, Duration::from_secs(30)));
            writer.update(|f| f.baz = 1);
            assert_eq!(waiting.join().unwrap().unwrap(), writer.version());
        });
        assert_eq!(reader.snapshot(), Foo { bar: 5, baz: 1 });
    }
}

#[test]
fn read_only_open_of_an_empty_object_waits_for_a_creator_then_times_out() {
    for scratch in Scratch::both() {
        let path = scratch.target.backing_path();
        std::fs::File::create(&path).unwrap();
        let options = OpenOptions::<Foo>::new()
            .timeout(Duration::from_millis(20))
            .clone();
        let err = match &scratch.target {
            Target::File(path) => options.open_file_read_only(path),
            Target::Shm(name) => options.open_shm_read_only(name),
        }
        .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "it wrote");
    }
}

/// Read permission is all a read-only handle needs; asking for more is
/// `PermissionDenied`, naming the access needed.
#[test]
fn read_permission_suffices_for_a_read_only_handle() {
    const NOBODY: &str = "65534";
    for scratch in Scratch::both() {
        drop(
            scratch
                .target
                .open(Foo::options().initial(SEED).mode(0o644))
                .unwrap(),
        );
        let path = scratch.target.backing_path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        if let Target::File(path) = &scratch.target {
            let dir = path.parent().unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = support::run("as-user", &scratch.target, &[NOBODY]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].contains("permission denied")
                && out[0].contains("read and write permission")
                && out[0].contains("read-only"),
            "{out:?}"
        );
        assert_eq!(out[1], "read-only: 42 98");
    }
}

/// A writer stopped half-way through a publish (SIGSTOP, alive) stalls no
/// reader: after a liveness period each returns the state the journal
/// entry describes, and a read-only reader writes nothing.
#[test]
fn readers_never_wait_on_a_stopped_writer() {
    for scratch in Scratch::both() {
        let (shared, writer) = support::invariant_writer_paused_at(&scratch.target, "half-applied");
        let pid = nix::unistd::Pid::from_raw(writer.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::SIGSTOP).unwrap();

        let (before, _) = support::snapshot_file(&scratch.target.backing_path());
        let options = OpenOptions::<Invariant>::new();
        let reader = match &scratch.target {
            Target::File(path) => options.open_file_read_only(path),
            Target::Shm(name) => options.open_shm_read_only(name),
        }
        .unwrap();
        let expected = Invariant {
            round: 6,
            data: [6; 31],
        };
        assert_eq!(reader.snapshot(), expected);
        assert_eq!(shared.snapshot(), expected);
        assert!(
            support::snapshot_file(&scratch.target.backing_path()).0 == before,
            "a reader wrote to the region"
        );
        nix::sys::signal::kill(pid, nix::sys::signal::SIGCONT).unwrap();
        writer.kill();
    }
}

/// A damaged state word makes a published region look abandoned: it is
/// initialised again in place, never truncated under the processes that
/// map it.
#[test]
fn a_flipped_state_word_never_truncates_a_mapped_region() {
    for scratch in Scratch::both() {
        let mapped = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        let path = scratch.target.backing_path();
        let len = std::fs::metadata(&path).unwrap().len();
        // state = INITIALISING (1), little-endian, at byte 16.
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&file, &1u32.to_le_bytes(), 16).unwrap();

        let mut opener = Helper::start(
            "race",
            &scratch.target,
            &[],
            &[("SHM_RUNTIME_PAUSE_AT", "header-written")],
        );
        assert_eq!(opener.line(), "shm-runtime: paused at header-written");
        // Mid-initialisation, the old mapping still has every page.
        assert!(std::fs::metadata(&path).unwrap().len() >= len);
        let _ = mapped.bar.get();
        opener.kill();
        let reopened = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        assert_eq!(reopened.snapshot(), SEED);
        assert!(std::fs::metadata(&path).unwrap().len() >= len);
    }
}

/// A sparse copy of a region gets its storage reserved by the first
/// read-write open, so a full disk is an error there, not a SIGBUS later.
#[test]
fn a_sparse_copy_has_its_storage_reserved_at_open() {
    let original = Scratch::file();
    drop(original.target.open(&OpenOptions::<Big>::new()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    let status = std::process::Command::new("cp")
        .arg("--sparse=always")
        .arg(original.target.backing_path())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let meta = std::fs::metadata(&copy).unwrap();
    let holes = meta.blocks() * 512 < meta.len();
    let opened = OpenOptions::<Big>::new().open_file(&copy).unwrap();
    let meta = std::fs::metadata(&copy).unwrap();
    assert!(
        meta.blocks() * 512 >= meta.len(),
        "{} of {} bytes reserved (the copy had holes: {holes})",
        meta.blocks() * 512,
        meta.len()
    );
    opened.data[1000].set(1);
}

/// The caller that creates a region with `create_new` is the one whose
/// initial value it holds, however other openers race it.
#[test]
fn create_new_keeps_its_initial_value_under_a_race() {
    for round in 0..50 {
        for scratch in Scratch::both() {
            let target = &scratch.target;
            std::thread::scope(|s| {
                let racers: Vec<_> = (0..3)
                    .map(|_| {
                        s.spawn(|| target.open(&OpenOptions::<Foo>::new()).map(|f| f.created()))
                    })
                    .collect();
                let mine = target.open(Foo::options().create_new(true).initial(SEED));
                let others: Vec<bool> = racers
                    .into_iter()
                    .map(|r| r.join().unwrap().unwrap())
                    .collect();
                match mine {
                    Ok(foo) => {
                        assert!(foo.created());
                        assert_eq!(foo.snapshot(), SEED, "round {round}");
                        assert!(others.iter().all(|c| !c), "round {round}: two creators");
                    }
                    Err(Error::AlreadyExists { .. }) => {
                        assert_eq!(others.iter().filter(|c| **c).count(), 1, "round {round}");
                    }
                    Err(e) => panic!("round {round}: {e}"),
                }
            });
        }
    }
}

/// A region of the previous format is refused, saying so, and left as it
/// was.
#[test]
fn a_region_of_an_older_format_is_refused_by_name() {
    let scratch = Scratch::file();
    drop(scratch.target.open(Foo::options().initial(SEED)).unwrap());
    let path = scratch.target.backing_path();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &1u32.to_le_bytes(), 8).unwrap();
    let (before, _) = support::snapshot_file(&path);
    let message = Foo::open_file(&path).unwrap_err().to_string();
    assert!(
        message.contains("region format 1") && message.contains("older version of shm"),
        "{message}"
    );
    assert!(support::snapshot_file(&path).0 == before);
}
