//! Files that are not regions are never changed, whatever the command, and
//! bad input is answered with a clear message and status 1 (or 2 for a
//! usage error), never a panic.

mod support;

use std::path::Path;
use std::time::Duration;

use predicates::prelude::*;
use support::{fingerprint_of_file, panel, shm, Running, Scratch};

/// Every command that takes a REGION, as arguments after `shm`.
fn every_command(region: &str) -> Vec<Vec<String>> {
    let commands: [&[&str]; 13] = [
        &["show", region],
        &["show", region, "--json"],
        &["get", region, "id"],
        &["set", region, "id=1"],
        &["watch", region],
        &["who", region],
        &["rm", region],
        &["rm", "--stale", region],
        &["check", region],
        &["check", "--repair", region],
        &["codegen", region, "--lang", "rust"],
        &["codegen", region, "--lang", "python"],
        &["ls", region],
    ];
    commands
        .iter()
        .map(|args| args.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// Files that are not regions: text, an empty file, bytes that start like
/// a region's header, a region's header with a damaged checksum.
fn foreign_files(dir: &Path, region: &Path) -> Vec<std::path::PathBuf> {
    let text = dir.join("text");
    std::fs::write(&text, "hello, not a region\n").unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let magic = dir.join("magic");
    let mut bytes = b"SHMSTATE".to_vec();
    bytes.extend((0..8192u32).map(|i| (i * 7) as u8));
    std::fs::write(&magic, bytes).unwrap();
    let damaged = dir.join("damaged");
    let mut bytes = std::fs::read(region).unwrap();
    bytes[40] ^= 0xff; // in the header: its checksum no longer matches
    std::fs::write(&damaged, bytes).unwrap();
    vec![text, empty, magic, damaged]
}

#[test]
fn no_command_changes_a_file_that_is_not_a_region() {
    let scratch = Scratch::file();
    drop(scratch.create(panel()));
    for file in foreign_files(scratch.dir(), &scratch.backing_path()) {
        let before = fingerprint_of_file(&file);
        let arg = file.to_str().unwrap();
        for args in every_command(arg) {
            let assert = shm().args(&args).timeout(Duration::from_secs(20)).assert();
            let out = assert.get_output();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if args[0] == "ls" {
                // A named file that is not a region is left out, quietly.
                assert!(out.status.success(), "{args:?}: {stderr}");
                assert!(out.stdout.is_empty(), "{args:?}");
            } else {
                assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
                assert!(stderr.starts_with("shm: "), "{args:?}: {stderr}");
                assert!(
                    stderr.contains("not a shared-state region"),
                    "{args:?}: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            }
            assert_eq!(fingerprint_of_file(&file), before, "{args:?} changed {arg}");
        }
    }
}

/// A FIFO is refused at once (opening it to read would wait for a writer),
/// and left in place.
#[test]
fn a_fifo_is_refused_without_waiting() {
    let scratch = Scratch::file();
    let fifo = scratch.dir().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for args in every_command(fifo.to_str().unwrap()) {
        let assert = shm().args(&args).timeout(Duration::from_secs(20)).assert();
        if args[0] == "ls" {
            assert.success().stdout("");
        } else {
            assert
                .code(1)
                .stderr(predicate::str::contains("it is a FIFO, not a file"));
        }
        assert!(fifo.exists());
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &[][..],
        &["bogus"],
        &["show"],
        &["get", "x"],
        &["set", "x"],
        &["set", "x", "novalue"],
        &["rm"],
        &["codegen", "x"],
        &["codegen", "x", "--lang", "cobol"],
        &["watch", "x", "--interval", "0"],
        &["watch", "x", "--interval", "soon"],
        &["ls", "--bogus"],
    ] {
        shm()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with("error: ").or(predicate::str::contains("Usage:")));
    }
    shm()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    for command in [
        "ls", "show", "get", "set", "watch", "who", "rm", "check", "codegen",
    ] {
        shm()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains(format!("shm {command}")));
    }
}

#[test]
fn missing_regions_and_bad_names_are_errors() {
    for (region, message) in [
        (
            "shm-cli-test-missing",
            "shm object /shm-cli-test-missing: not found",
        ),
        (
            "/nonexistent/dir/region",
            "file /nonexistent/dir/region: not found",
        ),
        ("", "invalid shm name"),
        ("..", "invalid shm name"),
    ] {
        for args in [
            &["show", region][..],
            &["set", region, "a=1"],
            &["rm", region],
        ] {
            shm()
                .args(args)
                .assert()
                .code(1)
                .stdout("")
                .stderr(predicate::str::starts_with("shm: "))
                .stderr(predicate::str::contains(message));
        }
    }
    shm()
        .args(["ls", "/nonexistent/dir"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("/nonexistent/dir"));
}

/// `shm --help | head -1`, `shm ls | head -0`: no panic when the reader
/// is gone before anything is written.
#[test]
fn output_to_a_closed_pipe_never_panics() {
    let scratch = Scratch::shm();
    drop(scratch.create(panel()));
    for args in [
        &["--help"][..],
        &["show", &scratch.arg],
        &["ls"],
        &["codegen", &scratch.arg, "--lang", "rust"],
    ] {
        let mut running = Running::shm_raw_stdout(args);
        drop(running.take_stdout());
        let (status, stderr) = running.finish();
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(status.code().is_some(), "{args:?}: killed by a signal");
    }
}
