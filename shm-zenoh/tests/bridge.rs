//! `shm publish` / `shm mirror` as real processes: each with its own Zenoh
//! session (the built-in configuration: router mode; peer mode where a
//! test's `--config` says so) on fixed loopback endpoints (multicast
//! scouting off), each "host" with its own region file. The test process writes the
//! publisher's region and reads the mirror's, as a user on each host would.

mod support;

use shm_runtime::{as_bytes, Region};
use support::*;

/// The publisher's region, with a value to find on the other side.
fn publisher_region(host: &Host) -> shm_runtime::Shared<Board> {
    let mut samples = [0u32; 16];
    samples[5] = 55;
    Board::options()
        .initial(Board {
            counter: 7,
            bar: 42,
            baz: 98,
            samples,
        })
        .open_file(host.region())
        .expect("publisher's region")
}

/// Starts a publisher of `host`'s region and waits until it serves.
fn publish(host: &Host, key: &str, listen: &[u16], connect: &[u16]) -> Bridge {
    let mut publisher = Bridge::start("publish", &host.region(), key, listen, connect);
    publisher.wait_line("on key");
    publisher
}

/// Starts a mirror into `host`'s region and waits until it equals `expected`.
fn mirror(
    host: &Host,
    key: &str,
    listen: &[u16],
    connect: &[u16],
    expected: &[u8],
) -> (Bridge, Region) {
    let bridge = Bridge::start("mirror", &host.region(), key, listen, connect);
    let region = open_when_created(&host.region());
    wait_equal(&region, expected);
    (bridge, region)
}

#[test]
fn a_mirror_started_late_gets_the_state_at_once() {
    let (a, b) = (Host::new(), Host::new());
    let foo = publisher_region(&a);
    let mut publisher = publish(&a, "shm-test/initial", &[17401], &[]);
    let (mut mirror, region) = mirror(
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
    assert_eq!(mirror.terminate().code(), Some(0), "{:?}", mirror.seen);
    assert_eq!(
        publisher.terminate().code(),
        Some(0),
        "{:?}",
        publisher.seen
    );
}

#[test]
fn ten_thousand_updates_converge() {
    let (a, b) = (Host::new(), Host::new());
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
    let (a, b) = (Host::new(), Host::new());
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/mirror-restart", &[17421], &[]);
    let (mut first, region) = mirror(
        &b,
        "shm-test/mirror-restart",
        &[17422],
        &[17421],
        as_bytes(&foo.snapshot()),
    );
    first.kill();
    drop(region);
    // Changes while the mirror is gone, and a local write on the mirror's
    // host that the publisher's state overwrites.
    foo.update(|f| f.bar = 1000);
    foo.baz.set(2000);
    Board::open_file(b.region()).unwrap().counter.set(999_999);
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
    let (a, b) = (Host::new(), Host::new());
    let foo = publisher_region(&a);
    // The mirror listens and the publishers connect to it.
    let mut first = publish(&a, "shm-test/publisher-restart", &[17431], &[17433]);
    let (mut mirror, region) = mirror(
        &b,
        "shm-test/publisher-restart",
        &[17433],
        &[],
        as_bytes(&foo.snapshot()),
    );
    let first_epoch = mirror.wait_line("publisher epoch");
    first.kill();
    foo.update(|f| {
        f.bar = -5;
        f.samples[0] = 1;
    });
    let _second = publish(&a, "shm-test/publisher-restart", &[17432], &[17433]);
    wait_equal(&region, as_bytes(&foo.snapshot()));
    let second_epoch = mirror.wait_line("publisher epoch");
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
    let (a, b) = (Host::new(), Host::new());
    let _foo = publisher_region(&a);
    let theirs = other::Board::options()
        .initial(other::Board {
            baz: 5,
            ..Default::default()
        })
        .open_file(b.region())
        .unwrap();
    let before = theirs.snapshot();
    let _publisher = publish(&a, "shm-test/mismatch", &[17441], &[]);
    let mut mirror = Bridge::start(
        "mirror",
        &b.region(),
        "shm-test/mismatch",
        &[17442],
        &[17441],
    );
    let (status, said) = mirror.wait_exit();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("shm-test/mismatch"), "names the key: {said}");
    assert!(said.contains("`baz`"), "names what differs: {said}");
    assert!(said.contains("extra"), "names what differs: {said}");
    assert_eq!(theirs.snapshot(), before, "the local region is left alone");
}

#[test]
fn field_level_writes_reach_the_mirror() {
    let (a, b) = (Host::new(), Host::new());
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
    let (a, b, c) = (Host::new(), Host::new(), Host::new());
    let foo = publisher_region(&a);
    let _theirs = publisher_region(&b);
    let mut first = publish(&a, "shm-test/second", &[17461], &[]);
    let mut second = Bridge::start(
        "publish",
        &b.region(),
        "shm-test/second",
        &[17462],
        &[17461],
    );
    let (status, said) = second.wait_exit();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains("`shm-test/second`") && said.contains("already has a live publisher"),
        "{said}"
    );
    // The first one still serves.
    assert!(
        first.child.try_wait().unwrap().is_none(),
        "{:?}",
        first.seen
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
    let a = Host::new();
    let foo = publisher_region(&a);
    let _publisher = publish(&a, "shm-test/echo", &[17471], &[]);
    let mut mirror = Bridge::start("mirror", &a.region(), "shm-test/echo", &[17472], &[17471]);
    mirror.wait_line("holds the state");
    foo.update(|f| f.bar = 5);
    // Count version moves until the region has been quiet for 300 ms: an
    // echo would move it thousands of times a second, without end.
    let deadline = std::time::Instant::now() + PATIENCE;
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
    let (a, b) = (Host::new(), Host::new());
    let foo = publisher_region(&a);
    let config = a.dir.path().join("zenoh.json5");
    std::fs::write(
        &config,
        r#"{ mode: "peer", listen: { endpoints: ["tcp/127.0.0.1:17481"] },
             scouting: { multicast: { enabled: false } } }"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let mut publisher = Bridge::start_with(
        "publish",
        &a.region(),
        "shm-test/config",
        &[],
        &[],
        &["--config", config],
    );
    publisher.wait_line("on key");
    let _mirror = mirror(
        &b,
        "shm-test/config",
        &[17482],
        &[17481],
        as_bytes(&foo.snapshot()),
    );

    // A file that is not there is named.
    let mut broken = Bridge::start_with(
        "publish",
        &a.region(),
        "shm-test/config-missing",
        &[],
        &[],
        &["--config", "/nonexistent/zenoh.json5"],
    );
    let (status, said) = broken.wait_exit();
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
    use nix::sys::signal::{kill, Signal};
    let (a, b) = (Host::new(), Host::new());
    let foo = publisher_region(&a);
    let config = a.dir.path().join("zenoh.json5");
    std::fs::write(
        &config,
        r#"{ mode: "peer", scouting: { multicast: { enabled: false } },
             transport: { link: { tx: { lease: 500 } } },
             connect: { retry: { period_init_ms: 100, period_max_ms: 500, period_increase_factor: 2 } } }"#,
    )
    .unwrap();
    let config = ["--config", config.to_str().unwrap()];
    let mut publisher = Bridge::start_with(
        "publish",
        &a.region(),
        "shm-test/network",
        &[17491],
        &[],
        &config,
    );
    publisher.wait_line("on key");
    let mirror = Bridge::start_with(
        "mirror",
        &b.region(),
        "shm-test/network",
        &[],
        &[17491],
        &config,
    );
    let region = open_when_created(&b.region());
    wait_equal(&region, as_bytes(&foo.snapshot()));

    let pid = nix::unistd::Pid::from_raw(mirror.child.id() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    // The outage itself: three leases, so that the publisher drops the
    // link and what follows is not merely queued for the mirror.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    foo.update(|f| {
        f.bar = 4242;
        f.samples[9] = 99;
    });
    foo.baz.set(-1);
    kill(pid, Signal::SIGCONT).unwrap();
    wait_equal(&region, as_bytes(&foo.snapshot()));
    assert_eq!(
        publisher.child.try_wait().unwrap(),
        None,
        "{:?}",
        publisher.seen
    );
}

/// Issue 18, item 5: two networks that each had a publisher join. The
/// newer publisher answers the mirror (a state) before it sees the older
/// one and stops; the mirror must go on following the older one, whose
/// token never went. (It used to retire the older epoch as soon as the
/// newer one spoke, and then dropped every later message of it: frozen.)
#[test]
fn a_mirror_follows_the_older_publisher_when_two_networks_join() {
    let (a, b, c) = (Host::new(), Host::new(), Host::new());
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
    let mut newer = Bridge::start_with(
        "publish",
        &c.region(),
        "shm-test/join",
        &[],
        &[17503],
        &["--poll-ms", "100"],
    );
    newer.wait_line("on key");

    let _cable = Cable::plug(17503, 17502);
    let (status, said) = newer.wait_exit();
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
