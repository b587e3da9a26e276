//! `set` and `check`: changes all or nothing, and a dead writer's
//! leftovers found and repaired. (`rm` has its own file.)

mod support;

use predicates::prelude::*;
use support::{fingerprint_of_file, panel, shm, Inner, Panel, Point, Running, Scratch};

#[test]
fn set_writes_every_assignment_in_one_update() {
    for scratch in Scratch::both() {
        let shared = scratch.create(panel());
        let before = shared.version();
        shm()
            .args([
                "set",
                &scratch.arg,
                "id=0x10",
                "inner.x=4000000000",
                "inner.corners[1].y=-7",
                "samples.3=65535",
                "level=inf",
                "ratio=-1e-300",
                "grid[1][2]=255",
                "delta=-128",
            ])
            .assert()
            .success()
            .stdout("")
            .stderr("");
        assert_eq!(shared.version(), before + 1, "one update");
        let after = shared.snapshot();
        assert_eq!(
            after,
            Panel {
                id: 16,
                level: f32::INFINITY,
                ratio: -1e-300,
                inner: Inner {
                    x: 4_000_000_000,
                    corners: [Point { x: -1, y: 2 }, Point { x: 300, y: -7 }],
                },
                samples: [1, 2, 3, 65535],
                grid: [[1, 2, 3], [4, 5, 255]],
                delta: -128,
                ..panel()
            }
        );
        shm()
            .args(["set", &scratch.arg, "level=NaN"])
            .assert()
            .success();
        assert!(shared.level.get().is_nan());
    }
}

/// Any bad path or value fails before anything is written: the region
/// keeps its bytes and its version.
#[test]
fn set_is_all_or_nothing() {
    let scratch = Scratch::file();
    let shared = scratch.create(panel());
    let version = shared.version();
    for (bad, message) in [
        (
            "samples[1]=70000",
            "u16 (0 to 65535); \"70000\" does not fit",
        ),
        ("samples[1]=-1", "does not fit"),
        (
            "count=1.5",
            "i32 (-2147483648 to 2147483647); \"1.5\" does not fit",
        ),
        ("count=ten", "\"ten\" does not fit"),
        ("level=", "does not fit"),
        ("nope=1", "`Panel` has no field `nope`"),
        ("samples=1", "is an array"),
        ("inner=1", "is a struct"),
        ("samples[9]=1", "out of range"),
        ("id=1", "assigned twice"),
    ] {
        shm()
            .args(["set", &scratch.arg, "id=99", "inner.x=5", bad])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::starts_with("shm: "))
            .stderr(predicate::str::contains(message));
        assert_eq!(shared.snapshot(), panel(), "after {bad}");
        assert_eq!(shared.version(), version, "after {bad}");
    }
    for usage in [
        &["set", &scratch.arg][..],
        &["set", &scratch.arg, "id"],
        &["set", &scratch.arg, "=1"],
    ] {
        shm()
            .args(usage)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("Usage").or(predicate::str::contains("FIELD=VALUE")));
    }
    assert_eq!(shared.snapshot(), panel());
}

#[test]
fn check_passes_a_healthy_region() {
    for scratch in Scratch::both() {
        let _panel = scratch.create(panel());
        shm()
            .args(["check", &scratch.arg])
            .assert()
            .success()
            .stdout(predicate::str::contains("a region of Panel"))
            .stdout(predicate::str::contains("lock: free"))
            .stdout(predicate::str::contains("publish: none in progress"))
            .stdout(predicate::str::ends_with("ok\n"));
        shm()
            .args(["check", "--repair", &scratch.arg])
            .assert()
            .success()
            .stdout(predicate::str::ends_with("ok\n"));
    }
}

/// `shm set` killed half-way through publishing: `check` finds the dead
/// holder and the half-done publish (writing nothing), `check --repair`
/// completes the publish, and the update is whole.
#[test]
fn check_finds_and_repairs_a_writer_killed_mid_publish() {
    let scratch = Scratch::file();
    let shared = scratch.create(panel());
    let writer = Running::shm(
        &["set", &scratch.arg, "id=5", "samples[3]=40"],
        &[("SHM_RUNTIME_PAUSE_AT", "half-applied")],
    );
    assert_eq!(writer.line(), "shm-runtime: paused at half-applied");
    let pid = writer.pid();
    writer.signal(nix::sys::signal::Signal::SIGKILL);
    let (status, _) = writer.finish();
    assert!(!status.success());

    let before = fingerprint_of_file(&scratch.backing_path());
    shm()
        .args(["check", &scratch.arg])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "lock: held by pid {pid} (dead"
        )))
        .stdout(predicate::str::contains("publish: half done"))
        .stderr(predicate::str::contains(format!(
            "pid {pid} died holding the writer lock, half-way through publishing an update"
        )))
        .stderr(predicate::str::contains("--repair"));
    assert_eq!(
        fingerprint_of_file(&scratch.backing_path()),
        before,
        "check without --repair writes nothing"
    );

    shm()
        .args(["check", "--repair", &scratch.arg])
        .assert()
        .success()
        .stdout(predicate::str::contains("repaired: "))
        .stdout(predicate::str::contains("lock: free"))
        .stdout(predicate::str::ends_with("ok\n"));
    let after = shared.snapshot();
    assert_eq!(
        (after.id, after.samples[3]),
        (5, 40),
        "rolled forward whole"
    );
    shm().args(["check", &scratch.arg]).assert().success();
}
