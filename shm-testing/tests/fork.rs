//! A process forked while one of its threads holds a region's writer lock
//! (inside `update`, or with a `Transaction` open): the child never
//! publishes or releases the lock, its copies of the handle behave as fresh
//! handles, and the parent's update completes as if no fork had happened.
//!
//! The child runs a few library calls, reports on a pipe and ends with
//! `_exit`: it never returns into the test harness, whose other threads it
//! does not have. Every wait on it is bounded, and a child left behind by a
//! failing test is killed.

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use shm_runtime::{Error, LockState, OpenOptions, Region, Shared};
use shm_testing::Handoff;
use support::{Scratch, Target, PATIENCE};

/// Byte offset of the writer lock word in a region (`sync::SyncArea`).
const LOCK_WORD_OFFSET: u64 = 256;

/// A forked child of this test, reporting in lines on a pipe.
struct Forked {
    pid: Pid,
    lines: mpsc::Receiver<String>,
}

/// The child's side: where it reports.
struct Parent {
    to_parent: File,
}

fn pipe() -> (File, File) {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    (File::from(read), File::from(write))
}

/// What [`fork_with_pipe`] returns on each side.
enum Side {
    Child(Parent),
    Parent(Forked),
}

/// Forks, with a pipe from the child to the parent.
///
/// # Safety
///
/// The child must run only code that does not need the parent's other
/// threads (library calls, pipe writes: glibc makes malloc usable in a
/// child of a multithreaded process) and end with [`Parent::exit`], never
/// returning into the test harness.
unsafe fn fork_with_pipe() -> Side {
    let (from_child, to_parent) = pipe();
    // SAFETY: the caller's promise.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => Side::Child(Parent { to_parent }),
        ForkResult::Parent { child } => {
            drop(to_parent);
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(from_child).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            Side::Parent(Forked { pid: child, lines })
        }
    }
}

impl Parent {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.to_parent, "{line}");
    }

    /// Ends the child at once (`_exit`), running nothing of the parent's:
    /// no destructors, no atexit handlers.
    fn exit(self, clean: bool) -> ! {
        drop(self);
        // SAFETY: `_exit` has no preconditions.
        unsafe { libc::_exit(if clean { 0 } else { 101 }) }
    }
}

impl Forked {
    /// The child's next line, within [`PATIENCE`].
    fn line(&mut self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("the forked child {} said nothing", self.pid))
    }

    /// Waits for the child's exit (its pipe closes then; within
    /// [`PATIENCE`]) and checks that it was clean.
    fn finish(mut self) {
        match self.lines.recv_timeout(PATIENCE) {
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "the forked child {} still runs after {PATIENCE:?}",
                    self.pid
                )
            }
            Ok(line) => panic!("the forked child said more than expected: {line:?}"),
        }
        let status = waitpid(self.pid, None).unwrap();
        let pid = std::mem::replace(&mut self.pid, Pid::from_raw(0));
        assert_eq!(status, WaitStatus::Exited(pid, 0), "the child's exit");
    }
}

impl Drop for Forked {
    /// A child left behind by a failing test is killed.
    fn drop(&mut self) {
        if self.pid.as_raw() != 0 {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}

/// Runs `body` in the child (a panic in it is a status of 101) and exits.
fn run_in_child(mut parent: Parent, body: impl FnOnce(&mut Parent)) -> ! {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut parent)));
    parent.exit(ran.is_ok())
}

fn region_at(target: &Target) -> Region {
    match target {
        Target::File(path) => Region::open_file(path),
        Target::Shm(name) => Region::open_shm(name),
    }
    .unwrap()
}

/// The lock word's bytes, read past the mapping.
fn lock_word(target: &Target) -> u64 {
    let mut word = [0u8; 8];
    File::open(target.backing_path())
        .unwrap()
        .read_exact_at(&mut word, LOCK_WORD_OFFSET)
        .unwrap();
    u64::from_le_bytes(word)
}

fn value_bytes(value: u64) -> [u8; 8] {
    value.to_le_bytes()
}

/// How long the child's own update is given to (wrongly) get past the
/// parent's hold: many liveness periods of 5 ms.
const WINDOW: std::time::Duration = std::time::Duration::from_millis(300);

/// The lock's "another process waits" flag.
const CONTENDED: u64 = 1 << 63;

/// A fork inside a `Region::begin` transaction. The child's commit is
/// refused, naming both processes, and publishes and releases nothing: the
/// lock word keeps the parent's token and the payload its bytes. The
/// child's next update, through the handle it inherited, waits for the
/// parent as a fresh handle's would; the parent's commit publishes exactly
/// the parent's change, and then the child's update goes through.
#[test]
fn a_child_forked_inside_a_transaction_neither_publishes_nor_unlocks() {
    for scratch in Scratch::both() {
        scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap();
        let region = region_at(&scratch.target);
        region
            .update(|b| b[..8].copy_from_slice(&value_bytes(7)))
            .unwrap();
        let before = region.snapshot();
        let mut transaction = region.begin().unwrap();
        transaction.bytes()[..8].copy_from_slice(&value_bytes(100)); // the parent's
        let held = lock_word(&scratch.target);
        let parent = std::process::id();

        // SAFETY: the child makes library calls and pipe writes, and exits.
        let mut child = match unsafe { fork_with_pipe() } {
            Side::Parent(child) => child,
            Side::Child(parent_side) => run_in_child(parent_side, |parent_side| {
                transaction.bytes()[..8].copy_from_slice(&value_bytes(666));
                match transaction.commit() {
                    Err(
                        error @ Error::ForkedUpdate {
                            began_in,
                            this_process,
                            ..
                        },
                    ) if began_in == parent && this_process == std::process::id() => {
                        parent_side.say(&format!("refused: {error}"))
                    }
                    other => parent_side.say(&format!("committed: {other:?}")),
                }
                parent_side.say("updating");
                let seen = region
                    .update(|b| {
                        b[8..16].copy_from_slice(&value_bytes(1));
                        u64::from_le_bytes(b[..8].try_into().unwrap())
                    })
                    .unwrap();
                parent_side.say(&format!("updated over {seen}"));
            }),
        };
        let refused = child.line();
        assert_eq!(child.line(), "updating");
        if let Ok(line) = child.lines.recv_timeout(WINDOW) {
            panic!("the child's update got past the parent's hold: {line:?} (after {refused:?})");
        }
        assert_eq!(
            lock_word(&scratch.target) & !CONTENDED,
            held,
            "the child released the lock"
        );
        assert_eq!(region.snapshot(), before, "the child published");
        assert!(matches!(region.lock_state(), LockState::Held { pid, .. } if pid == parent));
        for part in [
            "refused: ".to_owned(),
            "begun before a fork".to_owned(),
            format!("in process {parent}"),
            "nothing was published".to_owned(),
            scratch.target.args()[1].trim_start_matches('/').to_owned(),
        ] {
            assert!(refused.contains(&part), "{refused:?} lacks {part:?}");
        }

        transaction.commit().unwrap();
        assert_eq!(child.line(), "updated over 100");
        child.finish();
        let after = region.snapshot();
        assert_eq!(
            (&after[..8], &after[8..16]),
            (&value_bytes(100)[..], &value_bytes(1)[..])
        );
        assert_eq!(lock_word(&scratch.target), 0);
    }
}

/// The same with the transaction dropped in the child (an exception in a
/// Python `with` block, a C caller's abort): nothing is released.
#[test]
fn a_child_dropping_its_copy_of_a_transaction_does_not_unlock() {
    let scratch = Scratch::shm();
    scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap();
    let region = region_at(&scratch.target);
    let mut transaction = region.begin().unwrap();
    transaction.bytes()[..8].copy_from_slice(&value_bytes(5));
    let held = lock_word(&scratch.target);
    // SAFETY: the child drops a transaction, writes to a pipe and exits.
    let mut child = match unsafe { fork_with_pipe() } {
        Side::Parent(child) => child,
        Side::Child(parent) => run_in_child(parent, |parent| {
            drop(transaction);
            parent.say("dropped");
        }),
    };
    assert_eq!(child.line(), "dropped");
    child.finish();
    assert_eq!(
        lock_word(&scratch.target),
        held,
        "the child released the lock"
    );
    transaction.commit().unwrap();
    assert_eq!(region.snapshot()[..8], value_bytes(5));
}

/// A fork inside a typed `Shared::update` closure: when the closure returns
/// in the child, `update` panics (it has no error to return), publishing
/// and releasing nothing, while the parent, still inside its closure, holds
/// the lock; the parent's update then completes.
#[test]
fn a_child_forked_inside_a_typed_update_panics_and_leaves_the_lock() {
    let scratch = Scratch::file();
    let shared: Shared<Handoff> = scratch.target.open(&OpenOptions::new()).unwrap();
    let mut held = 0;
    // Set in the child only, outside the closure: it outlives the panic.
    let mut child_side = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        shared.update(|v| {
            v.value = 100;
            held = lock_word(&scratch.target);
            // SAFETY: the child returns from this closure into `update`,
            // then reports below and exits, as `fork_with_pipe` asks.
            match unsafe { fork_with_pipe() } {
                Side::Child(parent) => {
                    v.value = 666; // must never be published
                    child_side = Some(parent);
                }
                Side::Parent(mut child) => {
                    // Still inside the update, holding the lock.
                    let report = child.line();
                    assert!(
                        report.starts_with("intact: true; ")
                            && report.contains("begun before a fork"),
                        "the child's update: {report}"
                    );
                    child.finish();
                }
            }
        })
    }));
    if let Some(mut parent) = child_side {
        let report = match &outcome {
            Err(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "a panic without a message".to_owned()),
            Ok(()) => "update returned".to_owned(),
        };
        let intact = lock_word(&scratch.target) == held && shared.snapshot().value == 0;
        parent.say(&format!("intact: {intact}; {report}"));
        parent.exit(true);
    }
    assert!(outcome.is_ok(), "the parent's update failed");
    assert_eq!(
        shared.snapshot().value,
        100,
        "the parent's update published"
    );
    assert_eq!(lock_word(&scratch.target), 0);
}
