//! Opening regions: creation, validation, refusal of what is not ours, and
//! the permissions and names the contract fixes. Real files and real
//! `/dev/shm` objects throughout.

mod support;

use std::os::unix::fs::PermissionsExt;

use shm_runtime::{remove_shm, Error, OpenOptions};
use shm_testing::{Foo, Renamed, Wide, SEED};
use support::{snapshot_file, Scratch, Target};

#[test]
fn default_open_creates_zeroed_and_reopens() {
    for scratch in Scratch::both() {
        let foo = scratch.target.open(&OpenOptions::<Foo>::new()).unwrap();
        assert_eq!((foo.bar.get(), foo.baz.get()), (0, 0));
        foo.baz.set(-5);
        let again = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        assert_eq!(again.baz.get(), -5, "reopening must not reinitialise");
    }
}

#[test]
fn generated_constructors_open_file_and_shm() {
    let scratch = Scratch::file();
    let Target::File(path) = &scratch.target else {
        unreachable!()
    };
    Foo::open_file(path).unwrap().bar.set(7);
    assert_eq!(Foo::open_file(path).unwrap().bar.get(), 7);

    let scratch = Scratch::shm();
    let Target::Shm(name) = &scratch.target else {
        unreachable!()
    };
    let bare = name.trim_start_matches('/');
    Foo::open_shm(bare).unwrap().bar.set(8);
    assert_eq!(
        Foo::open_shm(name).unwrap().bar.get(),
        8,
        "leading '/' is optional"
    );
}

#[test]
fn empty_file_is_initialised() {
    let scratch = Scratch::file();
    let path = scratch.target.backing_path();
    std::fs::File::create(&path).unwrap();
    let foo = Foo::options().initial(SEED).open_file(&path).unwrap();
    assert_eq!((foo.bar.get(), foo.baz.get()), (42, 98));
    assert!(std::fs::metadata(&path).unwrap().len() >= 4096);
}

#[test]
fn foreign_files_are_refused_and_untouched() {
    let mut noise = vec![0u8; 10_000];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    // (what, contents, whether it starts like one of ours)
    let cases: [(&str, &[u8], bool); 5] = [
        ("random bytes", &noise, false),
        ("text", b"hello, this is somebody's notes file\n", false),
        ("one byte", b"x", false),
        ("zeros", &[0u8; 8192], false),
        ("our magic, nothing else", b"SHMSTATE", true),
    ];
    for (what, bytes, ours) in cases {
        let scratch = Scratch::file();
        let path = scratch.target.backing_path();
        std::fs::write(&path, bytes).unwrap();
        let (before, meta_before) = snapshot_file(&path);
        let err = Foo::options().initial(SEED).open_file(&path).unwrap_err();
        match err {
            Error::Truncated { .. } if ours => {}
            Error::NotSharedState { .. } if !ours => {}
            _ => panic!("{what}: unexpected {err:?}"),
        }
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let (after, meta_after) = snapshot_file(&path);
        assert!(before == after, "{what}: contents changed");
        assert_eq!(
            meta_before.len(),
            meta_after.len(),
            "{what}: length changed"
        );
        assert_eq!(
            meta_before.modified().unwrap(),
            meta_after.modified().unwrap(),
            "{what}: mtime moved"
        );
    }
}

#[test]
fn directories_and_other_non_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Foo::open_file(dir.path()),
        Err(Error::Io { .. } | Error::NotSharedState { .. })
    ));
}

#[test]
fn truncated_regions_are_refused_and_untouched() {
    for scratch in Scratch::both() {
        let path = scratch.target.backing_path();
        drop(scratch.target.open(Foo::options().initial(SEED)).unwrap());
        let full = std::fs::metadata(&path).unwrap().len();
        for len in [full - 1, 4096, 200, 100] {
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(len).unwrap();
            let (before, _) = snapshot_file(&path);
            match scratch.target.open(&OpenOptions::<Foo>::new()) {
                Err(Error::Truncated {
                    expected, found, ..
                }) => {
                    assert_eq!(found, len);
                    assert!(expected > len);
                }
                other => panic!("length {len}: expected Truncated, got {other:?}"),
            }
            assert!(snapshot_file(&path).0 == before, "length {len}: modified");
        }
    }
}

#[test]
fn other_layouts_are_refused_naming_both_types() {
    for scratch in Scratch::both() {
        drop(scratch.target.open(Foo::options().initial(SEED)).unwrap());
        let path = scratch.target.backing_path();
        let (before, _) = snapshot_file(&path);

        // Same size and alignment, other field names.
        let err = scratch
            .target
            .open(&OpenOptions::<Renamed>::new())
            .unwrap_err();
        assert!(
            matches!(&err, Error::LayoutMismatch { expected, found: Some(f), .. } if expected == "Renamed" && f == "Foo"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("`Renamed`") && message.contains("`Foo`"),
            "{message}"
        );
        // The difference is named, from the schema the region embeds.
        assert!(
            message.contains("renamed") && message.contains("`baz`") && message.contains("`qux`"),
            "{message}"
        );

        // Another size.
        let err = scratch
            .target
            .open(&OpenOptions::<Wide>::new())
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("`samples`") && message.contains("`bar`"),
            "names the fields added and removed: {message}"
        );
        assert!(
            matches!(
                err,
                Error::LayoutMismatch {
                    expected_size: 32,
                    found_size: 8,
                    ..
                }
            ),
            "{err:?}"
        );

        assert!(
            snapshot_file(&path).0 == before,
            "a refused open modified the region"
        );
        assert_eq!(
            scratch
                .target
                .open(&OpenOptions::<Foo>::new())
                .unwrap()
                .bar
                .get(),
            42
        );
    }
}

#[test]
fn create_false_and_create_new() {
    for scratch in Scratch::both() {
        let err = scratch
            .target
            .open(Foo::options().create(false))
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(
            !scratch.target.backing_path().exists(),
            "create(false) created it"
        );

        let foo = scratch
            .target
            .open(Foo::options().create_new(true).initial(SEED))
            .unwrap();
        assert_eq!(foo.bar.get(), 42);
        let err = scratch
            .target
            .open(Foo::options().create_new(true))
            .unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
        assert_eq!(
            scratch
                .target
                .open(Foo::options().create(false))
                .unwrap()
                .baz
                .get(),
            98
        );
    }
}

#[test]
fn create_false_on_an_empty_file_does_not_initialise_it() {
    let scratch = Scratch::file();
    let path = scratch.target.backing_path();
    std::fs::File::create(&path).unwrap();
    let err = Foo::options().create(false).open_file(&path).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn permissions_default_to_owner_only_and_follow_mode_and_umask() {
    for scratch in Scratch::both() {
        drop(scratch.target.open(&OpenOptions::<Foo>::new()).unwrap());
        let mode = std::fs::metadata(scratch.target.backing_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{:?}", scratch.target);
    }
    // The umask is per process: set it in a helper, not in this
    // multi-threaded test process.
    for (mode, umask, expected) in [
        ("640", "022", 0o640),
        ("666", "022", 0o644),
        ("666", "077", 0o600),
    ] {
        for scratch in Scratch::both() {
            support::run("create-mode", &scratch.target, &[mode, umask]);
            let found = std::fs::metadata(scratch.target.backing_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                found & 0o777,
                expected,
                "mode {mode} umask {umask} {:?}",
                scratch.target
            );
        }
    }
}

#[test]
fn invalid_shm_names_fail_before_any_system_call() {
    let long = "x".repeat(256);
    for name in ["", "/", "a/b", "/a/b", "a\0b", long.as_str(), "/.."] {
        match Foo::open_shm(name) {
            Err(Error::InvalidName { name: reported, .. }) => assert_eq!(reported, name),
            other => panic!("{name:?}: expected InvalidName, got {other:?}"),
        }
        assert!(matches!(remove_shm(name), Err(Error::InvalidName { .. })));
    }
}

#[test]
fn longest_shm_name_works() {
    let name = format!("{}-{}", std::process::id(), "n".repeat(255));
    let name = &name[..255];
    let foo = Foo::open_shm(name).unwrap();
    foo.bar.set(1);
    remove_shm(name).unwrap();
    assert!(matches!(remove_shm(name), Err(Error::NotFound { .. })));
}

#[test]
fn remove_shm_then_open_creates_afresh() {
    let scratch = Scratch::shm();
    let Target::Shm(name) = &scratch.target else {
        unreachable!()
    };
    Foo::open_shm(name).unwrap().bar.set(5);
    remove_shm(name).unwrap();
    assert_eq!(Foo::open_shm(name).unwrap().bar.get(), 0);
}

#[test]
fn field_operations_on_the_mapping() {
    let scratch = Scratch::shm();
    let wide = scratch.target.open(&OpenOptions::<Wide>::new()).unwrap();
    wide.a.set(u64::MAX);
    assert_eq!(wide.a.fetch_add(2), u64::MAX);
    assert_eq!(wide.a.get(), 1);
    assert_eq!(wide.samples.len(), 6);
    wide.samples[3].set(9);
    assert_eq!(wide.samples[3].compare_exchange(9, 10), Ok(9));
    assert_eq!(wide.samples[3].fetch_max(4), 10);
    assert_eq!(wide.samples[2].get(), 0);
}

#[test]
fn bytes_round_trip_and_wrong_lengths_are_errors() {
    let bytes = SEED.as_bytes();
    assert_eq!(bytes.len(), 8);
    assert_eq!(Foo::from_bytes(bytes).unwrap(), SEED);
    for len in [0, 7, 9] {
        let err = Foo::from_bytes(&vec![0; len]).unwrap_err();
        assert!(err.to_string().contains(&len.to_string()), "{err}");
    }
}

/// The message of a layout mismatch says which program is out of date:
/// the fields renamed, retyped, added or removed.
#[test]
fn a_layout_mismatch_names_what_differs() {
    #[derive(shm_runtime::SharedState, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct Foo {
        bar: i32,
        bazz: i32,
    }
    let scratch = Scratch::file();
    drop(
        scratch
            .target
            .open(shm_testing::Foo::options().initial(SEED))
            .unwrap(),
    );
    let message = Foo::open_file(scratch.target.backing_path())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("field `baz` renamed to `bazz`"),
        "{message}"
    );
}
