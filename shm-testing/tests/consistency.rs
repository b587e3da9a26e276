//! Whole-struct consistency across real processes: no torn snapshots, no
//! lost updates, no clobbered fields, all-or-nothing under SIGKILL, robust
//! lock recovery, change notification.

mod support;

use std::os::unix::fs::FileExt;
use std::time::Duration;

use shm_runtime::{Error, OpenOptions};
use shm_testing::{Invariant, Striped, Tally};
use support::{Helper, Scratch, Target};

/// Byte offset of the writer lock word in a region (see `sync::SyncArea`):
/// the tests forge lock states a crash would leave.
const LOCK_WORD_OFFSET: u64 = 256;

#[test]
fn snapshots_are_never_torn_and_versions_never_go_back() {
    const MIN_SNAPSHOTS: u64 = 300_000;
    for scratch in Scratch::both() {
        let shared = scratch
            .target
            .open(&OpenOptions::<Invariant>::new())
            .unwrap();
        let mut writer = Helper::start("invariant-writer", &scratch.target, &["0"], &[]);
        assert_eq!(writer.line(), "ready");
        let (mut last_round, mut last_version, mut taken, mut rounds_seen) = (0, 0, 0u64, 0u64);
        // On until the writer has visibly run across the snapshots too (a
        // loaded machine may keep it off the CPU a while): bounded by the
        // patience, not by a count.
        let started = std::time::Instant::now();
        while taken < MIN_SNAPSHOTS || rounds_seen <= 10 {
            assert!(
                taken % 1024 != 0 || started.elapsed() < support::PATIENCE,
                "only {rounds_seen} distinct rounds in {taken} snapshots within {:?}",
                support::PATIENCE
            );
            let version = shared.version();
            let snap = shared.snapshot();
            assert!(snap.is_consistent(), "torn snapshot: {snap:?}");
            assert!(
                snap.round >= last_round,
                "went back: {} after {last_round}",
                snap.round
            );
            assert!(version >= last_version, "version went back");
            rounds_seen += u64::from(snap.round != last_round);
            (last_round, last_version) = (snap.round, version);
            taken += 1;
        }
        writer.kill();
    }
}

/// `store` from another process, both when it compares in place and
/// journals ranges (`soak`) and when it journals whole copies (`striped`):
/// no snapshot is ever torn, and rounds never go back.
#[test]
fn stored_values_are_never_torn() {
    const MIN_SNAPSHOTS: u64 = 100_000;
    fn watch<T: shm_runtime::SharedState + std::fmt::Debug>(
        shared: &shm_runtime::Shared<T>,
        round_of: impl Fn(&T) -> Option<u64>,
    ) {
        // At least MIN_SNAPSHOTS, and on until the writer has visibly run
        // across them (more than 10 rounds): a loaded machine may keep it
        // off the CPU for a while, which is no failure; only no progress
        // within the patience is.
        let (mut last_round, mut rounds_seen, mut taken) = (0, 0u64, 0u64);
        let started = std::time::Instant::now();
        while taken < MIN_SNAPSHOTS || rounds_seen <= 10 {
            let snap = shared.snapshot();
            let round = round_of(&snap).unwrap_or_else(|| panic!("torn snapshot: {snap:?}"));
            assert!(round >= last_round, "went back: {round} after {last_round}");
            rounds_seen += u64::from(round != last_round);
            last_round = round;
            taken += 1;
            assert!(
                taken % 1024 != 0 || started.elapsed() < support::PATIENCE,
                "only {rounds_seen} distinct rounds in {taken} snapshots within {:?}",
                support::PATIENCE
            );
        }
    }
    for scratch in Scratch::both() {
        let soak = scratch
            .target
            .open(&OpenOptions::<shm_testing::soak::SoakState>::new())
            .unwrap();
        let mut writer = Helper::start("store-loop", &scratch.target, &["soak"], &[]);
        assert_eq!(writer.line(), "ready");
        watch(&soak, |s| s.is_consistent().then_some(s.round));
        writer.kill();
    }
    for scratch in Scratch::both() {
        let striped = scratch.target.open(&OpenOptions::<Striped>::new()).unwrap();
        let mut writer = Helper::start("store-loop", &scratch.target, &["striped"], &[]);
        assert_eq!(writer.line(), "ready");
        watch(&striped, |s| s.is_consistent().then_some(s.words[0]));
        writer.kill();
    }
}

#[test]
fn four_processes_updating_lose_nothing() {
    const PER_PROCESS: u64 = 5_000;
    for scratch in Scratch::both() {
        let tally = scratch.target.open(&OpenOptions::<Tally>::new()).unwrap();
        let version_before = tally.version();
        let helpers: Vec<Helper> = (0..4)
            .map(|_| {
                Helper::start(
                    "tally-update",
                    &scratch.target,
                    &[&PER_PROCESS.to_string()],
                    &[],
                )
            })
            .collect();
        helpers.into_iter().for_each(|h| drop(h.finish()));
        assert_eq!(tally.snapshot().by_update, 4 * PER_PROCESS);
        assert_eq!(
            tally.version() - version_before,
            4 * PER_PROCESS,
            "one version step per update"
        );
    }
}

#[test]
fn updates_do_not_clobber_concurrent_field_writes() {
    for scratch in Scratch::both() {
        let tally = scratch.target.open(&OpenOptions::<Tally>::new()).unwrap();
        let mut adder = Helper::start("tally-fetch-add", &scratch.target, &["300000"], &[]);
        let mut updater = Helper::start("tally-update", &scratch.target, &["20000"], &[]);
        assert_eq!(adder.line(), "ready");
        assert_eq!(updater.line(), "ready");
        adder.finish();
        updater.finish();
        assert_eq!(
            tally.snapshot(),
            Tally {
                by_field: 300_000,
                by_update: 20_000
            }
        );
    }
}

#[test]
fn writer_killed_at_varied_instants_leaves_a_consistent_region() {
    const ROUNDS: u64 = 40;
    for scratch in Scratch::both() {
        for round in 0..ROUNDS {
            let mut writer = Helper::start("invariant-writer", &scratch.target, &["0"], &[]);
            assert_eq!(writer.line(), "ready");
            std::thread::sleep(Duration::from_micros((round * 7919) % 4000));
            writer.kill();
            let out = support::run("invariant-check", &scratch.target, &[]);
            assert_eq!(out.len(), 1, "{out:?}");
        }
    }
}

/// Killed between the journal's commit and the first store, and half-way
/// through the stores: either way the next process sees the update whole.
#[test]
fn writer_killed_mid_publish_is_rolled_forward() {
    for point in ["journal-committed", "half-applied"] {
        for scratch in Scratch::both() {
            let (shared, writer) = support::invariant_writer_paused_at(&scratch.target, point);
            writer.kill();
            // A reader sees the region before (journal committed, nothing
            // applied yet) or after (it completes a half-applied publish
            // itself), never in between.
            let snap = shared.snapshot();
            assert!(
                snap.is_consistent() && (5..=6).contains(&snap.round),
                "{point}: {snap:?}"
            );
            // The next writer rolls the dead one's update forward, then
            // applies its own.
            assert_eq!(
                support::run("invariant-check", &scratch.target, &[]),
                ["7"],
                "{point}"
            );
            assert_eq!(
                shared.snapshot(),
                Invariant {
                    round: 7,
                    data: [7; 31]
                }
            );
        }
    }
}

/// Killed inside the closure: nothing was published; the lock is recovered.
#[test]
fn lock_holder_killed_inside_the_closure_is_recovered() {
    for scratch in Scratch::both() {
        let shared = scratch
            .target
            .open(&OpenOptions::<Invariant>::new())
            .unwrap();
        shared.store(Invariant {
            round: 3,
            data: [3; 31],
        });
        let mut holder = Helper::start("hold-in-update", &scratch.target, &[], &[]);
        assert_eq!(holder.line(), "in update");
        assert_eq!(
            shared.snapshot().round,
            3,
            "readers are not blocked by the lock holder"
        );
        holder.kill();
        let out = support::run("timed-update", &scratch.target, &[]);
        let micros: u64 = out[0].parse().unwrap();
        // A hang guard, not a benchmark: recovery must not wait out a lease.
        assert!(
            micros < 2_000_000,
            "update after the holder died took {micros} us"
        );
        assert_eq!(
            shared.snapshot(),
            Invariant {
                round: 4,
                data: [4; 31]
            }
        );
    }
}

/// A region file copied while its lock was held: the copy's lock names a
/// process that is then gone.
#[test]
fn region_file_copied_while_locked_opens_and_updates() {
    let scratch = Scratch::file();
    let shared = scratch
        .target
        .open(&OpenOptions::<Invariant>::new())
        .unwrap();
    shared.store(Invariant {
        round: 9,
        data: [9; 31],
    });
    let mut holder = Helper::start("hold-in-update", &scratch.target, &[], &[]);
    assert_eq!(holder.line(), "in update");
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = Target::File(copy_dir.path().join("copy"));
    std::fs::copy(scratch.target.backing_path(), copy.backing_path()).unwrap();
    holder.kill();
    // The holder never committed: both see round 9, then their own update.
    assert_eq!(support::run("invariant-check", &copy, &[]), ["10"]);
    assert_eq!(
        support::run("invariant-check", &scratch.target, &[]),
        ["10"]
    );
}

/// A lock word naming a live pid but another incarnation (another boot, or
/// a reused pid): the kernel knows nothing of it, the token check does.
#[test]
fn lock_left_by_a_previous_boot_is_recovered() {
    let scratch = Scratch::file();
    let shared = scratch
        .target
        .open(&OpenOptions::<Invariant>::new())
        .unwrap();
    shared.store(Invariant {
        round: 1,
        data: [1; 31],
    });
    // This test process is alive; the tag is not its tag.
    let forged = (u64::from(std::process::id()) << 32) | 0x5a5a_5a5b;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(scratch.target.backing_path())
        .unwrap();
    file.write_all_at(&forged.to_le_bytes(), LOCK_WORD_OFFSET)
        .unwrap();
    shared.update(Invariant::advance);
    assert_eq!(
        shared.snapshot(),
        Invariant {
            round: 2,
            data: [2; 31]
        }
    );
}

#[test]
fn wait_for_change_wakes_on_another_process_update() {
    for scratch in Scratch::both() {
        let shared = scratch
            .target
            .open(&OpenOptions::<Invariant>::new())
            .unwrap();
        let seen = shared.version();
        let mut waiter = Helper::start("wait-change", &scratch.target, &[&seen.to_string()], &[]);
        assert_eq!(waiter.line(), "waiting");
        std::thread::sleep(Duration::from_millis(20)); // let it fall asleep
        shared.update(Invariant::advance);
        assert_eq!(waiter.finish(), [format!("{} 1", seen + 1)]);
    }
}

#[test]
fn wait_for_change_times_out_and_notify_moves_the_version() {
    let scratch = Scratch::shm();
    let shared = scratch
        .target
        .open(&OpenOptions::<Invariant>::new())
        .unwrap();
    let seen = shared.version();
    let err = shared
        .wait_for_change(seen, Duration::from_millis(30))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("shm-test-"), "{err}");
    assert_eq!(shared.notify(), seen + 1);
    assert_eq!(
        shared.wait_for_change(seen, Duration::ZERO).unwrap(),
        seen + 1
    );
    shared.data[0].set(77); // field writes do not move the version
    assert_eq!(shared.version(), seen + 1);
}

#[test]
fn update_returns_the_closure_value_and_store_replaces() {
    for scratch in Scratch::both() {
        let tally = scratch.target.open(&OpenOptions::<Tally>::new()).unwrap();
        let r = tally.update(|t| {
            t.by_update = 10;
            t.by_update * 2
        });
        assert_eq!(r, 20);
        tally.store(Tally {
            by_field: 1,
            by_update: 2,
        });
        assert_eq!(
            tally.snapshot(),
            Tally {
                by_field: 1,
                by_update: 2
            }
        );
        assert_eq!(tally.by_update.get(), 2);
        tally.flush().unwrap();
    }
}

#[test]
fn a_panicking_closure_publishes_nothing_and_releases_the_lock() {
    let scratch = Scratch::shm();
    let tally = scratch.target.open(&OpenOptions::<Tally>::new()).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tally.update(|t| {
            t.by_update = 99;
            panic!("closure failed");
        })
    }));
    assert!(outcome.is_err());
    assert_eq!(tally.snapshot().by_update, 0);
    tally.update(|t| t.by_update += 1);
    assert_eq!(tally.snapshot().by_update, 1);
}

/// A writer killed after its publish moved the version, but before it woke
/// the waiters: whoever inherits its lock wakes them, even if that update
/// itself publishes nothing.
#[test]
fn waiters_are_woken_by_whoever_inherits_a_dead_writers_lock() {
    for scratch in Scratch::both() {
        let shared = scratch
            .target
            .open(&OpenOptions::<Invariant>::new())
            .unwrap();
        let seen = shared.version();
        let mut waiter = Helper::start("wait-change", &scratch.target, &[&seen.to_string()], &[]);
        assert_eq!(waiter.line(), "waiting");
        support::wait_until_asleep_on_a_futex(waiter.pid());

        let mut writer = Helper::start(
            "invariant-writer",
            &scratch.target,
            &["1"],
            &[("SHM_RUNTIME_PAUSE_AT", "published")],
        );
        assert_eq!(writer.line(), "ready");
        assert_eq!(writer.line(), "shm-runtime: paused at published");
        writer.kill();

        let nothing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.update(|_| panic!("publish nothing"))
        }));
        assert!(nothing.is_err());
        assert_eq!(waiter.line(), format!("{} 1", seen + 1));
    }
}

/// An update that changes too many separate fields to list journals whole
/// copies; killed mid-publish, it is rolled forward all the same, and the
/// fields it did not change keep their concurrent writes.
#[test]
fn writer_of_many_scattered_fields_killed_mid_publish_is_rolled_forward() {
    for point in ["journal-committed", "half-applied"] {
        for scratch in Scratch::both() {
            let shared = scratch.target.open(&OpenOptions::<Striped>::new()).unwrap();
            let mut writer = Helper::start(
                "striped-writer",
                &scratch.target,
                &[],
                &[("SHM_RUNTIME_PAUSE_AT", point)],
            );
            assert_eq!(writer.line(), "ready");
            assert_eq!(writer.line(), format!("shm-runtime: paused at {point}"));
            writer.kill();
            shared.words[1].set(77); // a field the update leaves alone
            let snap = shared.snapshot();
            assert!(snap.is_consistent(), "{point}: {snap:?}");
            shared.update(|_| ());
            let after = shared.snapshot();
            assert!(
                after.words.iter().step_by(2).all(|&w| w == 1),
                "{point}: {after:?}"
            );
            assert_eq!(
                after.words[1], 77,
                "{point}: the roll-forward clobbered a field"
            );
        }
    }
}

/// A `store` of a struct above the inline size compares the new value with
/// the region in place and journals only the ranges that differ; one that
/// differs in more places than the journal lists falls back to a copy and
/// journals whole copies. Either way, killed mid-publish it is rolled
/// forward whole, and a field it did not change keeps a write made after
/// the kill.
#[test]
fn store_killed_mid_publish_is_rolled_forward() {
    for ranges in [1, 8, 32] {
        for point in ["journal-committed", "half-applied"] {
            for scratch in Scratch::both() {
                let shared = scratch.target.open(&OpenOptions::<Striped>::new()).unwrap();
                let mut writer = Helper::start(
                    "striped-store",
                    &scratch.target,
                    &[&ranges.to_string()],
                    &[("SHM_RUNTIME_PAUSE_AT", point)],
                );
                assert_eq!(writer.line(), "ready");
                assert_eq!(writer.line(), format!("shm-runtime: paused at {point}"));
                writer.kill();
                shared.words[1].set(77); // a field the store leaves alone
                let stored = |s: &Striped| {
                    s.words
                        .iter()
                        .step_by(2)
                        .take(ranges)
                        .copied()
                        .collect::<Vec<_>>()
                };
                let before = shared.snapshot();
                assert!(
                    stored(&before).iter().all(|&w| w == before.words[0]),
                    "{ranges} ranges, {point}: torn {before:?}"
                );
                shared.update(|_| ());
                let after = shared.snapshot();
                assert_eq!(stored(&after), vec![1; ranges], "{ranges} ranges, {point}");
                assert!(
                    after.words.iter().step_by(2).skip(ranges).all(|&w| w == 0),
                    "{ranges} ranges, {point}: stored past what changed {after:?}"
                );
                assert_eq!(
                    after.words[1], 77,
                    "{ranges} ranges, {point}: the roll-forward clobbered a field"
                );
            }
        }
    }
}
