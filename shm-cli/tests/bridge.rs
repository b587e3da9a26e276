//! `shm publish` / `shm mirror` as real processes: each with its own Zenoh
//! session (the built-in configuration: router mode; peer mode where a
//! test's `--config` says so) on fixed loopback endpoints (multicast
//! scouting off), each "host" with its own region file. The test process
//! writes the publisher's region and reads the mirror's, as a user on each
//! host would.

mod support;

use nix::sys::signal::Signal;
use shm_runtime::{as_bytes, Region, Shared};
use support::bridge::*;
use support::{panel, Running, Scratch};

/// The publisher's region, with a value to find on the other side.
fn publisher_region(host: &Scratch) -> Shared<Board> {
    let mut samples = [0u32; 16];
    samples[5] = 55;
    host.create(Board {
        counter: 7,
        bar: 42,
        baz: 98,
        samples,
    })
}

/// Starts a publisher of `host`'s region and waits until it serves.
fn publish(host: &Scratch, key: &str, listen: &[u16], connect: &[u16]) -> Running {
    publish_with(host, key, listen, connect, &[])
}

fn publish_with(
    host: &Scratch,
    key: &str,
    listen: &[u16],
    connect: &[u16],
    extra: &[&str],
) -> Running {
    let publisher = start("publish", host, key, listen, connect, extra);
    publisher.error_line_with("on key");
    publisher
}

/// Starts a mirror into `host`'s region and waits until it equals `expected`.
fn mirror(
    host: &Scratch,
    key: &str,
    listen: &[u16],
    connect: &[u16],
    expected: &[u8],
) -> (Running, Region) {
    let bridge = start("mirror", host, key, listen, connect, &[]);
    let region = open_when_created(&host.arg);
    wait_equal(&region, expected);
    (bridge, region)
}

/// SIGTERM, as `kill` or a service manager would: exit status 0.
fn terminate(running: Running) {
    running.signal(Signal::SIGTERM);
    let (status, said) = running.finish();
    assert_eq!(status.code(), Some(0), "{said}");
}

#[test]
fn a_mirror_started_late_gets_the_state_at_once() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let publisher = publish(&a, "shm-test/initial", &[17401], &[]);
    let (mirror, region) = mirror(
        &b,
        "shm-test/initial",
        &[17402],
        &[17401],
        as_bytes(&foo.snapshot()),
    );
    assert_eq!(
        region.schema().name(),
        "Board",
        "created from the publisher's schema"
    );
    assert_eq!(board(&region.snapshot()).samples[5], 55);
    // SIGTERM stops both with status 0.
    terminate(mirror);
    terminate(publisher);
}

/// A layout with nested structs, arrays of arrays and floats, created on
/// the mirror's side from the publisher's schema; updates and field-level
/// writes follow; both stop cleanly.
#[test]
fn a_mirror_of_a_nested_layout_follows_updates_and_field_writes() {
    let (here, there) = (Scratch::file(), Scratch::file());
    let published = here.create(panel());
    let key = "shm-cli-test/panel";
    let publisher = publish(&here, key, &[17591], &[]);
    let mirror = start("mirror", &there, key, &[], &[17591], &[]);
    let mirrored = open_when_created(&there.arg);
    assert_eq!(mirrored.schema().name(), "Panel");
    wait_equal(&mirrored, as_bytes(&panel()));

    published.update(|p| p.count = 31337);
    wait_equal(&mirrored, as_bytes(&published.snapshot()));
    let version = published.version();
    published.id.set(99); // a field-level write: no version move
    assert_eq!(published.version(), version);
    wait_equal(&mirrored, as_bytes(&published.snapshot()));

    terminate(publisher);
    terminate(mirror);
}

#[test]
fn ten_thousand_updates_converge() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/10k", &[17411], &[]);
    let (_mirror, region) = mirror(
        &b,
        "shm-test/10k",
        &[17412],
        &[17411],
        as_bytes(&foo.snapshot()),
    );
    for i in 0..10_000u32 {
        foo.update(|f| {
            f.counter += 1;
            f.bar = i as i32;
            f.samples[(i % 16) as usize] = i;
        });
    }
    let last = foo.snapshot();
    assert_eq!(last.counter, 10_007);
    wait_equal(&region, as_bytes(&last));
}

#[test]
fn a_mirror_killed_and_restarted_resyncs() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/mirror-restart", &[17421], &[]);
    let (first, region) = mirror(
        &b,
        "shm-test/mirror-restart",
        &[17422],
        &[17421],
        as_bytes(&foo.snapshot()),
    );
    drop(first); // SIGKILL, as a crash would
    drop(region);
    // Changes while the mirror is gone, and a local write on the mirror's
    // host that the publisher's state overwrites.
    foo.update(|f| f.bar = 1000);
    foo.baz.set(2000);
    Board::open_file(&b.arg).unwrap().counter.set(999_999);
    let (_second, region) = mirror(
        &b,
        "shm-test/mirror-restart",
        &[17423],
        &[17421],
        as_bytes(&foo.snapshot()),
    );
    assert_eq!(board(&region.snapshot()).bar, 1000);
}

#[test]
fn a_mirror_follows_a_restarted_publisher() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    // The mirror listens and the publishers connect to it.
    let first = publish(&a, "shm-test/publisher-restart", &[17431], &[17433]);
    let (mirror, region) = mirror(
        &b,
        "shm-test/publisher-restart",
        &[17433],
        &[],
        as_bytes(&foo.snapshot()),
    );
    let first_epoch = mirror.error_line_with("publisher epoch");
    drop(first); // SIGKILL
    foo.update(|f| {
        f.bar = -5;
        f.samples[0] = 1;
    });
    let _second = publish(&a, "shm-test/publisher-restart", &[17432], &[17433]);
    wait_equal(&region, as_bytes(&foo.snapshot()));
    let second_epoch = mirror.error_line_with("publisher epoch");
    assert_ne!(
        epoch_in(&first_epoch),
        epoch_in(&second_epoch),
        "a new epoch"
    );
    // And it goes on following the new one.
    foo.update(|f| f.counter += 1);
    wait_equal(&region, as_bytes(&foo.snapshot()));
}

fn epoch_in(line: &str) -> String {
    let at = line
        .find("epoch 0x")
        .unwrap_or_else(|| panic!("no epoch in {line:?}"));
    line[at..].chars().take(24).collect()
}

#[test]
fn a_mirror_refuses_a_region_of_another_layout() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let _foo = publisher_region(&a);
    let theirs = b.create(other::Board {
        baz: 5,
        ..Default::default()
    });
    let before = theirs.snapshot();
    let _publisher = publish(&a, "shm-test/mismatch", &[17441], &[]);
    let mirror = start("mirror", &b, "shm-test/mismatch", &[17442], &[17441], &[]);
    let (status, said) = mirror.finish();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("shm-test/mismatch"), "names the key: {said}");
    assert!(said.contains("`baz`"), "names what differs: {said}");
    assert!(said.contains("extra"), "names what differs: {said}");
    assert_eq!(theirs.snapshot(), before, "the local region is left alone");
}

#[test]
fn field_level_writes_reach_the_mirror() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/fields", &[17451], &[]);
    let (_mirror, region) = mirror(
        &b,
        "shm-test/fields",
        &[17452],
        &[17451],
        as_bytes(&foo.snapshot()),
    );
    let version = foo.version();
    foo.bar.set(31337);
    foo.samples[3].set(9);
    assert_eq!(
        foo.version(),
        version,
        "field writes do not move the version"
    );
    let got = board(&wait_until(&region, "field writes mirrored", |b| {
        let b = board(b);
        b.bar == 31337 && b.samples[3] == 9
    }));
    assert_eq!(got, foo.snapshot());
}

#[test]
fn a_second_publisher_on_the_same_key_is_refused() {
    let (a, b, c) = (Scratch::file(), Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let _theirs = publisher_region(&b);
    let mut first = publish(&a, "shm-test/second", &[17461], &[]);
    let second = start("publish", &b, "shm-test/second", &[17462], &[17461], &[]);
    let (status, said) = second.finish();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains("`shm-test/second`") && said.contains("already has a live publisher"),
        "{said}"
    );
    // The first one still serves.
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "the first publisher stopped"
    );
    foo.update(|f| f.bar = 77);
    let _mirror = mirror(
        &c,
        "shm-test/second",
        &[17463],
        &[17461],
        as_bytes(&foo.snapshot()),
    );
}

/// A mirror pointed at the very region its publisher serves (a
/// misconfiguration) must not echo: a state the region already holds moves
/// no version, so the publisher has nothing new to send.
#[test]
fn a_mirror_of_the_published_region_itself_does_not_echo() {
    let a = Scratch::file();
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/echo", &[17471], &[]);
    let mirror = start("mirror", &a, "shm-test/echo", &[17472], &[17471], &[]);
    mirror.error_line_with("holds the state");
    foo.update(|f| f.bar = 5);
    // Count version moves until the region has been quiet for 300 ms: an
    // echo would move it thousands of times a second, without end.
    let deadline = std::time::Instant::now() + support::PATIENCE;
    let mut seen = foo.version();
    let mut moves = 0;
    while let Ok(version) = foo.wait_for_change(seen, std::time::Duration::from_millis(300)) {
        seen = version;
        moves += 1;
        assert!(
            std::time::Instant::now() < deadline && moves < 100,
            "the version keeps moving: {moves} moves"
        );
    }
    assert_eq!(foo.snapshot().bar, 5);
}

/// `--config FILE` takes a Zenoh JSON5 configuration: here it alone says
/// where the publisher listens.
#[test]
fn a_zenoh_configuration_file_is_used() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let config = a.dir().join("zenoh.json5");
    std::fs::write(
        &config,
        r#"{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:17481"] },
             scouting: { multicast: { enabled: false } } }"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let _publisher = publish_with(&a, "shm-test/config", &[], &[], &["--config", config]);
    let _mirror = mirror(
        &b,
        "shm-test/config",
        &[17482],
        &[17481],
        as_bytes(&foo.snapshot()),
    );

    // A file that is not there is named.
    let broken = start(
        "publish",
        &a,
        "shm-test/config-missing",
        &[],
        &[],
        &["--config", "/nonexistent/zenoh.json5"],
    );
    let (status, said) = broken.finish();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("/nonexistent/zenoh.json5"), "{said}");
}

/// The network goes away (the mirror's host stops answering: SIGSTOP),
/// long enough for the publisher to drop the link; changes are made
/// meanwhile; when the host answers again the mirror reconnects and gets
/// the current state at once. Zenoh's lease is 500 ms here (10 s by
/// default), through `--config`.
#[test]
fn a_mirror_catches_up_after_the_network_went_away() {
    let (a, b) = (Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    let config = a.dir().join("zenoh.json5");
    std::fs::write(
        &config,
        r#"{ mode: "peer", scouting: { multicast: { enabled: false } },
             transport: { link: { tx: { lease: 500 } } },
             connect: { retry: { period_init_ms: 100, period_max_ms: 500, period_increase_factor: 2 } } }"#,
    )
    .unwrap();
    let config = ["--config", config.to_str().unwrap()];
    let mut publisher = publish_with(&a, "shm-test/network", &[17491], &[], &config);
    let mirror = start("mirror", &b, "shm-test/network", &[], &[17491], &config);
    let region = open_when_created(&b.arg);
    wait_equal(&region, as_bytes(&foo.snapshot()));

    mirror.signal(Signal::SIGSTOP);
    // The outage itself: three leases, so that the publisher drops the
    // link and what follows is not merely queued for the mirror.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    foo.update(|f| {
        f.bar = 4242;
        f.samples[9] = 99;
    });
    foo.baz.set(-1);
    mirror.signal(Signal::SIGCONT);
    wait_equal(&region, as_bytes(&foo.snapshot()));
    assert_eq!(
        publisher.child.try_wait().unwrap(),
        None,
        "the publisher stopped"
    );
}

/// Issue 18, item 5: two networks that each had a publisher join. The
/// newer publisher answers the mirror (a state) before it sees the older
/// one and stops; the mirror must go on following the older one, whose
/// token never went. (It used to retire the older epoch as soon as the
/// newer one spoke, and then dropped every later message of it: frozen.)
#[test]
fn a_mirror_follows_the_older_publisher_when_two_networks_join() {
    let (a, b, c) = (Scratch::file(), Scratch::file(), Scratch::file());
    let foo = publisher_region(&a);
    // Network 1: the older publisher and the mirror.
    let _older = publish(&a, "shm-test/join", &[17501], &[]);
    let (_mirror, region) = mirror(
        &b,
        "shm-test/join",
        &[17502],
        &[17501],
        as_bytes(&foo.snapshot()),
    );
    // Network 2: a newer publisher of other values, alone: the cable to
    // network 1 is not plugged yet. It looks for a rival every 100 ms, so
    // the mirror's question reaches it first once the networks join.
    let theirs = publisher_region(&c);
    theirs.update(|f| f.bar = -1);
    let newer = publish_with(&c, "shm-test/join", &[], &[17503], &["--poll-ms", "100"]);

    let _cable = Cable::plug(17503, 17502);
    let (status, said) = newer.finish();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("already has a live publisher"), "{said}");

    foo.update(|f| {
        f.bar = 4242;
        f.samples[1] = 11;
    });
    wait_equal(&region, as_bytes(&foo.snapshot()));
    foo.baz.set(-7);
    wait_equal(&region, as_bytes(&foo.snapshot()));
}

#[test]
fn bad_bridge_arguments_are_usage_errors() {
    support::shm().args(["publish", "x"]).assert().code(2);
    support::shm()
        .args(["mirror", "x", "--key"])
        .assert()
        .code(2);
    support::shm()
        .args(["publish", "x", "--key", "k", "--poll-ms", "0"])
        .assert()
        .code(2);
}
