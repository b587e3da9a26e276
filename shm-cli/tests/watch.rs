//! `watch` and `who`, across processes: changes by updates and by
//! field-level writes, SIGINT and SIGTERM ending `watch` with status 0,
//! and `who` seeing another process that holds the region.

mod support;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use nix::sys::signal::Signal;
use predicates::prelude::*;
use support::{json, panel, shm, Running, Scratch};

#[test]
fn watch_reports_updates_field_writes_and_notifies() {
    for scratch in Scratch::both() {
        let shared = scratch.create(panel());
        let watcher = Running::shm(&["watch", &scratch.arg, "--interval", "20"], &[]);
        let ready = watcher.error_line();
        assert!(ready.starts_with("watching "), "{ready}");
        assert!(ready.contains("(Panel, version 0)"), "{ready}");

        shared.update(|p| {
            p.id = 8;
            p.inner.corners[1].y = -7;
        });
        assert_eq!(
            watcher.line(),
            "version 1: id 7 → 8, inner.corners[1].y -400 → -7"
        );

        // A field write does not move the version; the next comparison
        // finds it.
        shared.level.set(0.5);
        assert_eq!(watcher.line(), "version 1 (field writes): level 0.1 → 0.5");

        shared.notify();
        assert_eq!(watcher.line(), "version 2: no field changed");

        // Nothing happens, nothing is said.
        watcher.no_line_for(Duration::from_millis(100));

        watcher.signal(Signal::SIGINT);
        let (status, stderr) = watcher.finish();
        assert_eq!(status.code(), Some(0), "{stderr}");
    }
}

#[test]
fn watch_json_prints_one_show_object_per_change() {
    let scratch = Scratch::shm();
    let shared = scratch.create(panel());
    let watcher = Running::shm(&["watch", &scratch.arg, "--json"], &[]);
    assert!(watcher.error_line().starts_with("watching "));
    shared.update(|p| p.samples[2] = 30);
    let v = json(&watcher.line());
    assert_eq!(v["type"], "Panel");
    assert_eq!(v["version"], 1);
    assert_eq!(v["location"], scratch.location());
    assert_eq!(v["changed"], json(r#"["samples[2]"]"#));
    assert_eq!(v["value"]["samples"], json("[1,2,30,4]"));
    assert_eq!(v["value"]["inner"]["corners"][1]["x"], 300);

    // `shm set` in another process: one update, one line.
    shm()
        .args(["set", &scratch.arg, "count=1", "delta=2"])
        .assert()
        .success();
    let v = json(&watcher.line());
    assert_eq!(v["version"], 2);
    assert_eq!(v["changed"], json(r#"["count","delta"]"#));

    watcher.signal(Signal::SIGTERM);
    let (status, stderr) = watcher.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
}

/// `shm watch x | head -1`: once the reader is gone, the next change ends
/// the command quietly, with status 0.
#[test]
fn watch_ends_quietly_when_its_reader_goes() {
    let scratch = Scratch::file();
    let shared = scratch.create(panel());
    let mut watcher = Running::shm_raw_stdout(&["watch", &scratch.arg]);
    assert!(watcher.error_line().starts_with("watching "));
    let mut stdout = BufReader::new(watcher.take_stdout());
    shared.update(|p| p.id += 1);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "version 1: id 7 → 8\n");
    drop(stdout);
    // The next line it writes finds the pipe closed. Another test's child
    // may hold a copy of the pipe's read end for an instant (between its
    // fork and its exec, which closes it), so one write may still go
    // through: keep changing the region until the watcher ends.
    let (status, stderr) = watcher.finish_while(|| shared.update(|p| p.id += 1));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn who_lists_the_processes_that_hold_a_region() {
    for scratch in Scratch::both() {
        drop(scratch.create(panel()));
        let watcher = Running::shm(&["watch", &scratch.arg], &[]);
        assert!(watcher.error_line().starts_with("watching "));
        let out = shm().args(["who", &scratch.arg]).assert().success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        assert_eq!(header, ["PID", "HANDLE", "MAPPED", "COMMAND"], "{text}");
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
        // Only the watcher uses it: not `who` itself, nor this test, which
        // dropped its handle; and no process whose memory map cannot be
        // read (pid 1 here) is listed for that alone.
        assert_eq!(rows.len(), 1, "{text}");
        let row = &rows[0];
        assert_eq!(
            row[..3],
            [&*watcher.pid().to_string(), "yes", "ro"],
            "{text}"
        );
        assert!(row[3].ends_with("/shm"), "{row:?}");
        assert_eq!(&row[4..], ["watch", &scratch.arg]);
        drop(watcher);
        shm()
            .args(["who", &scratch.arg])
            .assert()
            .success()
            .stdout("");
    }
}

#[test]
fn watch_refuses_a_bad_interval_and_a_missing_region() {
    shm()
        .args(["watch", "nope", "--interval", "0"])
        .assert()
        .code(2);
    shm()
        .args(["watch", "shm-cli-test-no-such-region"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not found"));
}
