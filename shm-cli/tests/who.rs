//! `who` lists every process that holds a region open through the library,
//! from the kernel's record, whatever its language and whether or not its
//! memory map can be read: a Rust writer (this process), a Python reader
//! (when the Python package is installed in the workspace's `.venv`), a
//! Rust reader (`shm watch`) and a child forked with an inherited handle.
//!
//! Alone in its file: a forked child gets a copy of every handle of its
//! parent, and other tests' regions must not see it.

mod support;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::OFlag;
use nix::unistd::{ForkResult, Pid};
use support::{panel, shm, Kind, Running, Scratch};

/// A child forked from this process, which does nothing but keep what it
/// inherited (every handle of this process) until dropped.
struct ForkedChild {
    pid: Pid,
    /// Closing it ends the child.
    release: Option<OwnedFd>,
}

impl ForkedChild {
    fn start() -> ForkedChild {
        let (wait_read, wait_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        // SAFETY: the child only closes descriptors, writes and reads one
        // byte on pipes and `_exit`s: async-signal-safe, as a child of a
        // multithreaded process must be. It never returns into the harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            ForkResult::Child => {
                drop(wait_write);
                drop(ready_read);
                let _ = nix::unistd::write(&ready_write, b"r");
                // Ends when the parent closes its end (or dies).
                let _ = nix::unistd::read(&wait_read, &mut [0u8; 1]);
                // SAFETY: ends the child at once, running nothing of the
                // parent's (no destructors, no atexit handlers).
                unsafe { nix::libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                drop(wait_read);
                drop(ready_write);
                let mut byte = [0u8; 1];
                let got = nix::unistd::read(&ready_read, &mut byte).unwrap();
                assert_eq!(got, 1, "the forked child ended before it was ready");
                ForkedChild {
                    pid: child,
                    release: Some(wait_write),
                }
            }
        }
    }
}

impl Drop for ForkedChild {
    fn drop(&mut self) {
        drop(self.release.take());
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

/// The workspace's Python, if the package is installed there (`python3 -m
/// venv .venv && .venv/bin/pip install ./shm-python`, or `maturin
/// develop`).
fn python() -> Option<PathBuf> {
    let python = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python"));
    let works = Command::new(&python)
        .args(["-c", "import shm"])
        .output()
        .is_ok_and(|out| out.status.success());
    works.then_some(python)
}

/// A Python process holding the region read-only, until its stdin ends.
fn python_reader(python: &PathBuf, scratch: &Scratch, dir: &Path) -> Running {
    let script = dir.join("reader.py");
    std::fs::write(
        &script,
        "import sys, shm\n\
         kind, where = sys.argv[1], sys.argv[2]\n\
         open_ = shm.open_file if kind == 'file' else shm.open_shm\n\
         region = open_(where, read_only=True)\n\
         print('open', flush=True)\n\
         sys.stdin.readline()\n",
    )
    .unwrap();
    let kind = match scratch.kind {
        Kind::File => "file",
        Kind::Shm => "shm",
    };
    let mut command = Command::new(python);
    command.arg(&script).args([kind, &scratch.arg]);
    let reader = Running::program(command, "python reader");
    assert_eq!(reader.line(), "open");
    reader
}

/// `who`'s rows: pid, then HANDLE and MAPPED.
fn who(scratch: &Scratch) -> (String, Vec<(u32, String, String)>) {
    let out = shm().args(["who", &scratch.arg]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header, ["PID", "HANDLE", "MAPPED", "COMMAND"], "{text}");
    let rows = lines
        .inspect(|line| assert!(!line.starts_with('('), "a note: {text}"))
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            (
                cells[0]
                    .parse()
                    .unwrap_or_else(|_| panic!("no pid in {line:?}: {text}")),
                cells[1].to_owned(),
                cells[2].to_owned(),
            )
        })
        .collect();
    (text, rows)
}

#[test]
fn who_lists_every_process_that_holds_a_region() {
    let pid1_map_unreadable = std::fs::read("/proc/1/maps").is_err();
    let python = python();
    if python.is_none() {
        eprintln!("no Python package in .venv: the Python reader is left out");
    }
    let scripts = tempfile::tempdir().unwrap();
    for scratch in Scratch::both() {
        let writer = scratch.create(panel());
        let child = ForkedChild::start();
        let reader = python
            .as_ref()
            .map(|python| python_reader(python, &scratch, scripts.path()));
        let watcher = Running::shm(&["watch", &scratch.arg], &[]);
        assert!(watcher.error_line().starts_with("watching "));

        let (text, rows) = who(&scratch);
        eprintln!(
            "shm who {} (pid 1's map unreadable: {pid1_map_unreadable}):\n{text}",
            scratch.arg
        );
        let row = |pid: u32| (pid, "yes".to_owned(), String::new());
        let mut expected = vec![
            (row(std::process::id()), "rw"),
            (row(child.pid.as_raw() as u32), "rw"),
            (row(watcher.pid()), "ro"),
        ];
        if let Some(reader) = &reader {
            expected.push((row(reader.pid()), "ro"));
        }
        let mut expected: Vec<(u32, String, String)> = expected
            .into_iter()
            .map(|((pid, handle, _), mapped)| (pid, handle, mapped.to_owned()))
            .collect();
        expected.sort();
        assert_eq!(rows, expected, "{text}");
        assert!(rows.iter().all(|(pid, ..)| *pid != 1), "{text}");

        // Each goes from the list as it lets go.
        drop(watcher);
        drop(reader);
        drop(child);
        let (text, rows) = who(&scratch);
        assert_eq!(
            rows,
            [(std::process::id(), "yes".to_owned(), "rw".to_owned())],
            "{text}"
        );
        drop(writer);
        shm()
            .args(["who", &scratch.arg])
            .assert()
            .success()
            .stdout("");
    }
}
