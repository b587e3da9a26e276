//! `shm publish` and `shm mirror`: two real processes, each with a region of
//! its own (two "machines"), kept in step over Zenoh on loopback.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{panel, Panel, Running, Scratch};

/// Waits (bounded) until `done` holds, re-checking on every version move of
/// the mirror's region.
fn wait_until(region: &shm_runtime::Shared<Panel>, what: &str, done: impl Fn(&Panel) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = region.version();
        if done(&region.snapshot()) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {what}");
        let _ = region.wait_for_change(seen, Duration::from_millis(100));
    }
}

#[test]
fn a_mirror_follows_its_publisher_and_both_stop_cleanly() {
    let here = Scratch::file();
    let there = Scratch::file();
    let published = here.create(panel());
    let endpoint = "tcp/127.0.0.1:17591";
    let publisher = Running::shm(
        &[
            "publish",
            &here.arg,
            "--key",
            "shm-cli-test/panel",
            "--listen",
            endpoint,
        ],
        &[],
    );
    let mirror = Running::shm(
        &[
            "mirror",
            &there.arg,
            "--key",
            "shm-cli-test/panel",
            "--connect",
            endpoint,
        ],
        &[],
    );
    // The mirror creates its region from the publisher's schema.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mirrored = loop {
        match shm_runtime::OpenOptions::<Panel>::new()
            .create(false)
            .open_file(there.arg.as_str())
        {
            Ok(region) => break region,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "the mirror never made its region: {e}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    wait_until(&mirrored, "the initial state", |p| *p == panel());

    published.update(|p| p.count = 31337);
    wait_until(&mirrored, "an update", |p| p.count == 31337);
    published.id.set(99); // a field-level write: no version move
    wait_until(&mirrored, "a field write", |p| p.id == 99);

    for running in [publisher, mirror] {
        running.signal(Signal::SIGTERM);
        let (status, stderr) = running.finish();
        assert_eq!(status.code(), Some(0), "{stderr}");
    }
}

#[test]
fn bad_bridge_arguments_are_usage_errors() {
    support::shm().args(["publish", "x"]).assert().code(2);
    support::shm()
        .args(["mirror", "x", "--key"])
        .assert()
        .code(2);
}
