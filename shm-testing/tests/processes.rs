//! Several real processes on one region: the seed scenario, persistence,
//! creation races, creators killed half-way, and exact atomic counts.

mod support;

use std::time::{Duration, Instant};

use shm_runtime::{Error, OpenOptions};
use shm_testing::{Counter, Foo, SEED};
use support::{Helper, Scratch, Target};

#[test]
fn seed_scenario_another_process_sees_and_changes_the_struct() {
    for scratch in Scratch::both() {
        let foo = scratch.target.open(Foo::options().initial(SEED)).unwrap();
        let out = support::run("seed", &scratch.target, &[]);
        assert_eq!(out, ["bar=42 baz=98"], "{:?}", scratch.target);
        // The change shows through this process's existing mapping.
        assert_eq!(foo.bar.get(), 31337);
        assert_eq!(foo.baz.get(), 98);
    }
}

#[test]
fn state_outlives_every_process() {
    for scratch in Scratch::both() {
        support::run("race", &scratch.target, &[]); // creates with SEED, exits
        support::run("seed", &scratch.target, &[]); // sets bar, exits
        let foo = scratch.target.open(Foo::options().create(false)).unwrap();
        assert_eq!((foo.bar.get(), foo.baz.get()), (31337, 98));
    }
}

#[test]
fn racing_creators_all_see_the_initial_value() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 25;
    for round in 0..ROUNDS {
        for scratch in Scratch::both() {
            let helpers: Vec<Helper> = (0..PROCESSES)
                .map(|_| Helper::start("race", &scratch.target, &[], &[]))
                .collect();
            for helper in helpers {
                assert_eq!(
                    helper.finish(),
                    ["42 98"],
                    "round {round} {:?}",
                    scratch.target
                );
            }
        }
    }
}

/// A creator of a missing region builds it out of sight and links it into
/// place: stopped at any step, it blocks nobody, and killed there, it
/// leaves nothing behind.
#[test]
fn creator_stopped_or_killed_while_creating_blocks_nobody() {
    for point in ["created", "header-written", "allocated", "before-publish"] {
        for scratch in Scratch::both() {
            let mut creator = Helper::start(
                "race",
                &scratch.target,
                &[],
                &[("SHM_RUNTIME_PAUSE_AT", point)],
            );
            assert_eq!(creator.line(), format!("shm-runtime: paused at {point}"));
            assert!(
                !scratch.target.backing_path().exists(),
                "{point}: a region under construction is visible under its name"
            );

            // A bounded open does not wait for the stopped creator: it
            // creates the region itself.
            let foo = scratch
                .target
                .open(
                    Foo::options()
                        .timeout(Duration::from_millis(50))
                        .initial(Foo { bar: 7, baz: 8 }),
                )
                .unwrap();
            assert!(foo.created(), "{point}");
            assert_eq!((foo.bar.get(), foo.baz.get()), (7, 8), "{point}");

            creator.kill();
            let again = scratch.target.open(Foo::options().create(false)).unwrap();
            assert!(!again.created());
            assert_eq!((again.bar.get(), again.baz.get()), (7, 8), "{point}");
            if let Target::File(path) = &scratch.target {
                let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
                assert_eq!(entries, 1, "{point}: the killed creator left a file behind");
            }
        }
    }
}

/// An existing empty object is initialised in place under its init lock: a
/// bounded open waits for a live initialiser, and one killed at any step
/// leaves an object the next opener initialises, promptly.
#[test]
fn initialiser_of_an_empty_object_killed_half_way_is_recovered() {
    for point in [
        "initialising",
        "header-written",
        "allocated",
        "before-publish",
    ] {
        for scratch in Scratch::both() {
            std::fs::File::create(scratch.target.backing_path()).unwrap();
            let mut creator = Helper::start(
                "race",
                &scratch.target,
                &[],
                &[("SHM_RUNTIME_PAUSE_AT", point)],
            );
            assert_eq!(creator.line(), format!("shm-runtime: paused at {point}"));

            let err = scratch
                .target
                .open(Foo::options().timeout(Duration::from_millis(50)))
                .unwrap_err();
            assert!(matches!(err, Error::Timeout { .. }), "{point}: {err:?}");

            creator.kill();
            let started = Instant::now();
            let foo = scratch
                .target
                .open(Foo::options().initial(Foo { bar: 7, baz: 8 }))
                .unwrap();
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{point}: recovery took {:?}",
                started.elapsed()
            );
            // The dead creator never published: this opener initialised it.
            assert!(foo.created(), "{point}");
            assert_eq!(
                (foo.bar.get(), foo.baz.get()),
                (7, 8),
                "{point} {:?}",
                scratch.target
            );
        }
    }
}

#[test]
fn empty_file_locked_by_a_dead_process_is_initialised() {
    let scratch = Scratch::file();
    std::fs::File::create(scratch.target.backing_path()).unwrap();
    let mut holder = Helper::start("hold-flock", &scratch.target, &[], &[]);
    assert_eq!(holder.line(), "locked");
    holder.kill();
    let foo = scratch.target.open(Foo::options().initial(SEED)).unwrap();
    assert_eq!(foo.bar.get(), 42);
}

#[test]
fn racing_creators_with_random_kills_never_wedge_the_region() {
    for round in 0..20u64 {
        for scratch in Scratch::both() {
            let victims: Vec<Helper> = (0..4)
                .map(|_| Helper::start("race", &scratch.target, &[], &[]))
                .collect();
            // Kill them at staggered instants, some before, some during,
            // some after initialisation.
            for (i, victim) in victims.into_iter().enumerate() {
                std::thread::sleep(Duration::from_micros((round * 37 + i as u64 * 113) % 900));
                victim.kill();
            }
            let out = support::run("race", &scratch.target, &[]);
            assert_eq!(out, ["42 98"], "round {round} {:?}", scratch.target);
        }
    }
}

#[test]
fn four_processes_fetch_add_exactly() {
    const PER_PROCESS: u64 = 200_000;
    for scratch in Scratch::both() {
        let counter = scratch.target.open(&OpenOptions::<Counter>::new()).unwrap();
        let mut helpers: Vec<Helper> = (0..4)
            .map(|_| {
                Helper::start(
                    "fetch-add",
                    &scratch.target,
                    &[&PER_PROCESS.to_string()],
                    &[],
                )
            })
            .collect();
        for helper in &mut helpers {
            assert_eq!(helper.line(), "ready");
        }
        for helper in helpers {
            helper.finish();
        }
        assert_eq!(counter.count.get(), 4 * PER_PROCESS, "{:?}", scratch.target);
    }
}

#[test]
fn shm_target_paths_are_where_the_tests_look() {
    let scratch = Scratch::shm();
    let Target::Shm(name) = &scratch.target else {
        unreachable!()
    };
    drop(Foo::open_shm(name).unwrap());
    assert!(scratch.target.backing_path().exists());
}
