//! Judging a writer lock's holder, across real processes: a live holder is
//! never declared dead for what it could not read about itself, a zombie or
//! a process that does not even map the region does not wedge anyone, nor
//! does a lock word no process makes or one naming a process that does not
//! hold the region open (even where its memory map cannot be read), a
//! holder whose map cannot be read is waited for, and an update called from
//! inside an update on the same region panics at once instead of
//! deadlocking.
//!
//! A "must not get through" check gives the waiting update [`WINDOW`], many
//! liveness periods: a broken judgement shows within the first one.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use shm_runtime::{OpenOptions, Shared};
use shm_testing::{Handoff, Invariant};
use support::{Helper, Scratch, Target, PATIENCE};

/// How long a waiting update is given to (wrongly) get past a live holder:
/// 60 liveness periods of 5 ms.
const WINDOW: Duration = Duration::from_millis(300);

/// Hang guard for an update or snapshot that must get through promptly.
const PROMPTLY: Duration = Duration::from_secs(2);

/// What the holder adds to `value` (the waiting update adds 1).
const HOLDER_ADDS: &str = "100";

/// Runs `f` on a thread of its own (so that a hang cannot stop the test from
/// failing and cleaning up) and returns where its result arrives.
fn in_background<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Waits for a background result within `limit`, naming `what` on failure.
fn within<T>(rx: &mpsc::Receiver<T>, limit: Duration, what: &str) -> T {
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: still blocked after {limit:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `holder` is inside an update of the Handoff region at `target`
/// (role `hold-until-released`, adding [`HOLDER_ADDS`]), alive, maybe in
/// circumstances that make it easy to misjudge. An update from this process
/// must wait for it, not take its lock, and then go through after it.
fn live_holder_is_waited_for(target: &Target, mut holder: Helper) {
    let shared = target
        .open(OpenOptions::<Handoff>::new().create(false))
        .unwrap();
    assert_eq!(holder.line(), "in update");
    let waiter_target = target.clone();
    let waited = in_background(move || {
        let shared = waiter_target
            .open(OpenOptions::<Handoff>::new().create(false))
            .unwrap();
        shared.update(|v| {
            v.value += 1;
            (v.value, shared.holding.get() != 0)
        })
    });
    match waited.recv_timeout(WINDOW) {
        Err(RecvTimeoutError::Timeout) => {}
        Ok((value, holder_inside)) => panic!(
            "an update got through while the lock holder was alive \
             (holder still inside its update: {holder_inside}; value {value}): \
             the holder was judged dead, and one of the two updates is lost"
        ),
        Err(RecvTimeoutError::Disconnected) => panic!("the waiting update panicked"),
    }
    shared.release.set(1);
    shared.notify();
    let (value, holder_inside) = within(&waited, PATIENCE, "the update after the holder's");
    assert!(!holder_inside, "ran while the holder was inside its update");
    assert_eq!(value, 101, "the waiting update ran after the holder's");
    holder.finish();
    assert_eq!(shared.snapshot().value, 101);
}

/// A fresh Handoff region at each kind of target.
fn handoff_regions() -> [Scratch; 2] {
    let scratches = Scratch::both();
    for scratch in &scratches {
        scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap();
    }
    scratches
}

/// The helper program, run with `args`, through `wrapper` (a command that
/// ends by running its arguments).
fn wrapped(wrapper: &[&str], role: &str, target: &Target, extra: &[&str]) -> (Command, String) {
    let mut command = Command::new(wrapper[0]);
    command
        .args(&wrapper[1..])
        .arg(Helper::program())
        .arg(role)
        .args(target.args())
        .args(extra);
    let what = format!("{wrapper:?} shm-test-child {role} {:?}", target.args());
    (command, what)
}

/// A holder that cannot read `/proc/sys/kernel/random/boot_id` (here: it is
/// bind-mounted to `/dev/null`, as under systemd's `ProcSubset=pid` or in a
/// chroot) computes its token without it. Everyone else must still see it
/// alive.
#[test]
fn holder_that_cannot_read_the_boot_id_is_waited_for() {
    if !is_root() {
        eprintln!("skipped: needs root to bind-mount over the boot id");
        return;
    }
    let hide_boot_id = [
        "unshare",
        "--mount",
        "sh",
        "-c",
        "mount --bind /dev/null /proc/sys/kernel/random/boot_id && exec \"$0\" \"$@\"",
    ];
    for scratch in handoff_regions() {
        let (command, what) = wrapped(
            &hide_boot_id,
            "hold-until-released",
            &scratch.target,
            &[HOLDER_ADDS],
        );
        live_holder_is_waited_for(&scratch.target, Helper::spawn(command, what));
    }
}

/// A command name that is not UTF-8 (a multibyte name cut at 15 bytes, with
/// a `)` and a space for good measure) must not make the holder's
/// `/proc/<pid>/stat` unreadable to it. The holder renames itself to plain
/// ASCII once inside its update, so that the others read its stat whatever
/// the reading code does with such names.
#[test]
fn holder_whose_command_name_is_not_utf8_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    // 6 + 5 * 2 = 16 bytes: the kernel keeps 15, ending inside an 'é'.
    let link = dir.path().join("hold) ééééé");
    std::os::unix::fs::symlink(Helper::program(), &link).unwrap();
    for scratch in handoff_regions() {
        let mut command = Command::new(&link);
        command
            .arg("hold-until-released")
            .args(scratch.target.args())
            .args([HOLDER_ADDS, "plain-ascii"]);
        let holder = Helper::spawn(command, format!("{link:?} hold-until-released"));
        live_holder_is_waited_for(&scratch.target, holder);
    }
}

/// A holder in a time namespace sees every start time in `/proc` shifted by
/// its boot-time offset, its own included.
#[test]
fn holder_in_a_time_namespace_is_waited_for() {
    if !is_root() {
        eprintln!("skipped: needs root to make a time namespace");
        return;
    }
    let shifted_clock = [
        "unshare",
        "--time",
        "--boottime",
        "100000",
        "--fork",
        "--kill-child",
    ];
    for scratch in handoff_regions() {
        let (command, what) = wrapped(
            &shifted_clock,
            "hold-until-released",
            &scratch.target,
            &[HOLDER_ADDS],
        );
        live_holder_is_waited_for(&scratch.target, Helper::spawn(command, what));
    }
}

/// A process whose main thread has ended shows a zombie leader in `/proc`
/// (state `Z`, no memory map) while its other threads run on.
#[test]
fn holder_whose_main_thread_exited_is_waited_for() {
    for scratch in handoff_regions() {
        let holder = Helper::start("hold-from-thread", &scratch.target, &[HOLDER_ADDS], &[]);
        live_holder_is_waited_for(&scratch.target, holder);
    }
}

/// A holder killed and not yet reaped is a zombie: `kill(pid, 0)` succeeds
/// and its start time still matches. It holds nothing.
#[test]
fn zombie_lock_holder_does_not_wedge_writers() {
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
        holder.kill_leaving_zombie();
        let target = scratch.target.clone();
        let updated = in_background(move || {
            let shared = target
                .open(OpenOptions::<Invariant>::new().create(false))
                .unwrap();
            shared.update(|v| {
                v.advance();
                *v
            })
        });
        let after = within(
            &updated,
            PROMPTLY,
            "update after the holder became a zombie",
        );
        assert_eq!(after.round, 4);
        assert_eq!(shared.snapshot(), after);
        holder.reap();
    }
}

/// A writer killed half-way through its stores, not yet reaped: a reader
/// completes the publish instead of waiting for the zombie.
#[test]
fn zombie_writer_mid_publish_does_not_wedge_readers() {
    for scratch in Scratch::both() {
        let (shared, mut writer) =
            support::invariant_writer_paused_at(&scratch.target, "half-applied");
        writer.kill_leaving_zombie();
        let target = scratch.target.clone();
        let read = in_background(move || {
            let shared = target
                .open(OpenOptions::<Invariant>::new().create(false))
                .unwrap();
            shared.snapshot()
        });
        let snap = within(&read, PROMPTLY, "snapshot after the writer became a zombie");
        assert_eq!(
            snap,
            Invariant {
                round: 6,
                data: [6; 31]
            }
        );
        shared.update(Invariant::advance);
        assert_eq!(shared.snapshot().round, 7);
        writer.reap();
    }
}

/// The region's file (or shm object) copied while a live process is inside
/// an update: the copy's lock names that process, which does not map the
/// copy and so cannot hold its lock.
#[test]
fn copy_of_a_region_locked_by_a_live_process_updates() {
    for (scratch, copy) in Scratch::both().into_iter().zip(Scratch::both()) {
        let original = scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap();
        let mut holder = Helper::start("hold-until-released", &scratch.target, &[HOLDER_ADDS], &[]);
        assert_eq!(holder.line(), "in update");
        std::fs::copy(scratch.target.backing_path(), copy.target.backing_path()).unwrap();
        let target = copy.target.clone();
        let updated = in_background(move || {
            let copied = target
                .open(OpenOptions::<Handoff>::new().create(false))
                .unwrap();
            copied.update(|v| {
                v.value += 1;
                v.value
            })
        });
        assert_eq!(
            within(
                &updated,
                PROMPTLY,
                "update of the copy while the original's holder lives"
            ),
            1
        );
        // The original's holder was not disturbed.
        assert_eq!(original.holding.get(), 1);
        original.release.set(1);
        original.notify();
        holder.finish();
        assert_eq!(original.snapshot().value, 100);
    }
}

/// A Handoff region at each kind of target that the users `OTHER_USERS`
/// may open read-write (mode 0666, a file in a folder anyone may enter),
/// with the folder that holds the file.
fn handoff_regions_for_other_users() -> (tempfile::TempDir, [Target; 2], Scratch) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let shm = Scratch::shm();
    let targets = [Target::File(dir.path().join("region")), shm.target.clone()];
    for target in &targets {
        target.open(&OpenOptions::<Handoff>::new()).unwrap();
        share_with_other_users(target);
    }
    (dir, targets, shm)
}

/// Two unprivileged users: neither may read the other's memory map.
const OTHER_USERS: [u32; 2] = [65534, 65533];

fn share_with_other_users(target: &Target) {
    std::fs::set_permissions(
        target.backing_path(),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
}

/// The helper program with `role`, run as user `uid`.
fn as_user(uid: u32, role: &str, target: &Target, extra: &[&str]) -> Helper {
    let mut command = Command::new(Helper::program());
    command
        .arg(role)
        .args(target.args())
        .args(extra)
        .uid(uid)
        .gid(uid);
    Helper::spawn(command, format!("uid {uid}: shm-test-child {role}"))
}

/// Where this process may not read the holder's memory map (another user's
/// process), the kernel's record of who holds the region open still says
/// the holder does: it is waited for, and the updates do not overlap.
#[test]
fn holder_whose_map_cannot_be_read_is_waited_for() {
    if !is_root() {
        eprintln!("skipped: needs root to run helpers as two other users");
        return;
    }
    let (_dir, targets, _shm) = handoff_regions_for_other_users();
    for target in &targets {
        let shared = target
            .open(OpenOptions::<Handoff>::new().create(false))
            .unwrap();
        let mut holder = as_user(
            OTHER_USERS[0],
            "hold-until-released",
            target,
            &[HOLDER_ADDS],
        );
        assert_eq!(holder.line(), "in update");
        let mut writer = as_user(OTHER_USERS[1], "add-handoff", target, &["1"]);
        assert_eq!(writer.line(), "updating");
        if let Some(line) = writer.line_within(WINDOW) {
            panic!(
                "the writer got past a live holder whose map it cannot read: {line:?} \
                 (holder inside its update: {})",
                shared.holding.get() != 0
            );
        }
        shared.release.set(1);
        shared.notify();
        holder.finish();
        assert_eq!(
            writer.finish(),
            ["done 101"],
            "the writer waited for the holder"
        );
        assert_eq!(shared.snapshot().value, 101);
    }
}

/// A copy of a region made while another user's process was inside an
/// update names that process in its lock word. A writer that may not read
/// its memory map still sees, in the record of who holds the copy open,
/// that it does not: the writer takes the lock over instead of waiting for
/// as long as that process lives.
#[test]
fn copy_locked_by_a_process_whose_map_cannot_be_read_updates() {
    if !is_root() {
        eprintln!("skipped: needs root to run helpers as two other users");
        return;
    }
    let (dir, targets, _shm) = handoff_regions_for_other_users();
    let copy_shm = Scratch::shm();
    let copies = [
        Target::File(dir.path().join("copy")),
        copy_shm.target.clone(),
    ];
    for (original, copy) in targets.iter().zip(&copies) {
        let shared = original
            .open(OpenOptions::<Handoff>::new().create(false))
            .unwrap();
        let mut holder = as_user(
            OTHER_USERS[0],
            "hold-until-released",
            original,
            &[HOLDER_ADDS],
        );
        assert_eq!(holder.line(), "in update");
        std::fs::copy(original.backing_path(), copy.backing_path()).unwrap();
        share_with_other_users(copy);
        let writer = as_user(OTHER_USERS[1], "add-handoff", copy, &["1"]);
        assert_eq!(
            writer.finish(),
            ["updating", "done 1"],
            "the copy's update got through while the original's holder lives"
        );
        // The original's holder was not disturbed.
        assert_eq!(shared.holding.get(), 1);
        shared.release.set(1);
        shared.notify();
        holder.finish();
        assert_eq!(shared.snapshot().value, 100);
    }
}

/// Byte offset of the writer lock word in a region (`sync::SyncArea`).
const LOCK_WORD_OFFSET: u64 = 256;

/// The lock's "another process waits" flag.
const CONTENDED: u64 = 1 << 63;

/// Writes `word` into the region's lock word from outside, as damage (a
/// flipped bit, a stray write) or a forger would.
fn forge_lock_word(target: &Target, word: u64) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(target.backing_path())
        .unwrap();
    file.write_all_at(&word.to_le_bytes(), LOCK_WORD_OFFSET)
        .unwrap();
}

/// An update through the region at `target`, on a thread of its own, that
/// must get through promptly over the lock word `word`; returns the value
/// it leaves.
fn update_over(target: &Target, word: u64) -> u64 {
    let background = target.clone();
    let updated = in_background(move || {
        let shared = background
            .open(OpenOptions::<Handoff>::new().create(false))
            .unwrap();
        shared.update(|v| {
            v.value += 1;
            v.value
        })
    });
    within(
        &updated,
        PROMPTLY,
        &format!("an update over the lock word {word:#018x}"),
    )
}

/// Lock words no process makes, with or without the contended flag: pid 1
/// with tag 0 (one flipped bit of a free lock), tag 0 naming a live process
/// that has the region open and mapped, pid 0, a pid above Linux's limit.
/// An update takes each over at once instead of waiting for whatever
/// process it seems to name.
#[test]
fn never_made_lock_words_do_not_wedge_writers() {
    for scratch in handoff_regions() {
        let shared = scratch
            .target
            .open(OpenOptions::<Handoff>::new().create(false))
            .unwrap();
        let mut bystander = Helper::start("hold-open", &scratch.target, &[], &[]);
        assert_eq!(bystander.line(), "open");
        let named = u64::from(bystander.pid()) << 32;
        let words = [1 << 32, named, 0x5a5a, (1 << 22) << 32 | 3];
        for (done, word) in words
            .iter()
            .flat_map(|&word| [word, word | CONTENDED])
            .enumerate()
        {
            forge_lock_word(&scratch.target, word);
            assert_eq!(update_over(&scratch.target, word), done as u64 + 1);
        }
        shared.release.set(1);
        shared.notify();
        bystander.finish();
    }
}

/// A lock word naming a live process that does not hold the region open:
/// pid 1 with a tag it could have made, and a helper that holds only
/// another region open. Both are taken over within a liveness period. In a
/// container, pid 1's memory map cannot be read even by root (as here):
/// only the record of who holds the region open can tell.
#[test]
fn lock_naming_a_live_process_without_the_region_is_taken_over() {
    let elsewhere = Scratch::shm();
    elsewhere
        .target
        .open(&OpenOptions::<Handoff>::new())
        .unwrap();
    let mut bystander = Helper::start("hold-open", &elsewhere.target, &[], &[]);
    assert_eq!(bystander.line(), "open");
    for scratch in handoff_regions() {
        let words = [(1 << 32) | 2, (u64::from(bystander.pid()) << 32) | 2];
        for (done, word) in words.into_iter().enumerate() {
            forge_lock_word(&scratch.target, word);
            assert_eq!(update_over(&scratch.target, word), done as u64 + 1);
        }
    }
    let other = elsewhere
        .target
        .open(&OpenOptions::<Handoff>::new())
        .unwrap();
    other.release.set(1);
    other.notify();
    bystander.finish();
}

/// `update` (or `store`) inside an `update` closure on the same region,
/// through the same handle or another: a panic that says what happened,
/// at once, and the region stays usable.
#[test]
fn update_inside_update_on_the_same_region_panics() {
    let scratch = Scratch::shm();
    let target = scratch.target.clone();
    let outcome = in_background(move || {
        let foo: Shared<Handoff> = target.open(&OpenOptions::new()).unwrap();
        let other: Shared<Handoff> = target.open(&OpenOptions::new()).unwrap();
        let attempts: [&dyn Fn(); 3] = [
            &|| foo.update(|_| foo.update(|f| f.value = 1)),
            &|| foo.update(|_| foo.store(Handoff::default())),
            &|| foo.update(|_| other.update(|f| f.value = 1)),
        ];
        let messages: Vec<String> = attempts
            .iter()
            .map(|attempt| {
                let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(attempt))
                    .expect_err("a re-entrant update returned");
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            })
            .collect();
        // Both handles still work: the outer update's lock was released.
        foo.update(|f| f.value += 1);
        other.update(|f| f.value += 1);
        (messages, foo.snapshot().value)
    });
    let (messages, value) = within(&outcome, PROMPTLY, "a re-entrant update");
    for message in &messages {
        assert!(
            message.contains("inside an update() closure on the same region")
                && message.contains("&mut"),
            "unhelpful message: {message:?}"
        );
    }
    assert_eq!(value, 2);
}

/// Nesting updates of two different regions is fine.
#[test]
fn update_inside_update_on_another_region_works() {
    let (a, b) = (Scratch::shm(), Scratch::file());
    let first = a.target.open(&OpenOptions::<Handoff>::new()).unwrap();
    let second = b.target.open(&OpenOptions::<Handoff>::new()).unwrap();
    first.update(|f| {
        second.update(|s| s.value = 7);
        f.value = 8;
    });
    assert_eq!((first.snapshot().value, second.snapshot().value), (8, 7));
}

/// Threads of one process contend for the lock as any two processes do:
/// no false "re-entrant" panic, no lost update.
#[test]
fn threads_of_one_process_contend_without_false_alarms() {
    const PER_THREAD: u64 = 5_000;
    let scratch = Scratch::shm();
    let handles: Vec<Shared<Handoff>> = (0..2)
        .map(|_| scratch.target.open(&OpenOptions::new()).unwrap())
        .collect();
    std::thread::scope(|s| {
        for i in 0..4 {
            let shared = &handles[i % 2];
            s.spawn(move || {
                for _ in 0..PER_THREAD {
                    shared.update(|f| f.value += 1);
                }
            });
        }
    });
    assert_eq!(handles[0].snapshot().value, 4 * PER_THREAD);
}
