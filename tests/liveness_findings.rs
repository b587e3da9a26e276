//! Reproductions of two lock-liveness gaps found independently while
//! writing the soak (PROOF-NOTES.md, "Findings"), kept as regression tests:
//! both hung in `update` before the liveness work (issue 8: holders that do
//! not map the object, and zombies, are dead) and pass since.

mod support;

use shm::Invariant;
use shm_runtime::OpenOptions;
use support::{Helper, Scratch, Target, PATIENCE};

/// API.md: "a region file copied while locked must open and update
/// normally". When the copy is made while a live process holds the
/// original's lock, the copy's lock word names that live process, whose
/// token still matches, so the copy's `update` waits for a process that
/// will never unlock it (for as long as that process lives).
#[test]
fn copy_of_a_region_locked_by_a_live_process_updates() {
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
    // The holder lives on, inside the original's update.
    assert_eq!(support::run("invariant-check", &copy, &[]), ["10"]);
    holder.kill();
}

/// A lock holder that was killed but not yet reaped is a zombie: `kill(pid,
/// 0)` succeeds and `/proc/<pid>/stat` still shows its start time, so the
/// liveness check takes it for alive, and `update` waits until its parent
/// reaps it (for ever, if the parent never does). A zombie never runs
/// again: state `Z` in `/proc/<pid>/stat` could count as dead.
#[test]
fn lock_held_by_an_unreaped_dead_process_is_recovered() {
    let scratch = Scratch::file();
    drop(
        scratch
            .target
            .open(&OpenOptions::<Invariant>::new())
            .unwrap(),
    );
    let mut holder = Helper::start("hold-in-update", &scratch.target, &[], &[]);
    assert_eq!(holder.line(), "in update");
    let pid = nix::unistd::Pid::from_raw(holder.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    // Not reaped (the helper is reaped when dropped, at the end): wait
    // until the kernel has made it a zombie.
    let started = std::time::Instant::now();
    while process_state(holder.pid()) != Some('Z') {
        assert!(started.elapsed() < PATIENCE, "the holder never died");
        std::thread::yield_now();
    }
    let out = support::run("invariant-check", &scratch.target, &[]);
    assert_eq!(out, ["1"]);
    drop(holder);
}

/// The state letter in `/proc/<pid>/stat`.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .next()?
        .chars()
        .next()
}
