//! The one-publisher rule across machines that reach each other only
//! through a third: three network namespaces A, B and C (separate network
//! stacks, as three hosts), joined by veth pairs A–B and B–C only, so no
//! packet can go from A to C. A mirror runs on B; publishers of one key on
//! C, then on A; then a mirror on A.
//!
//! Needs root and `ip netns` (iproute2); skipped, saying so, without them.

mod support;

use std::process::Command;

use shm_runtime::as_bytes;
use support::bridge::*;
use support::Scratch;

/// Three namespaces and two links, removed when dropped.
struct Network {
    names: [String; 3],
}

impl Network {
    /// A — B — C: A is 10.231.1.1, B is 10.231.1.2 and 10.231.2.2, C is
    /// 10.231.2.3. Err with the reason when namespaces cannot be made.
    fn line() -> Result<Network, String> {
        let id = std::process::id();
        let names = ["a", "b", "c"].map(|n| format!("shmz-{id}-{n}"));
        let network = Network { names };
        let [a, b, c] = &network.names;
        // The first command says whether `ip netns` works here at all;
        // after it, a failure is the test's.
        ip(&["netns", "add", a])?;
        let must = |args: &[&str]| ip(args).unwrap_or_else(|e| panic!("{e}"));
        must(&["netns", "add", b]);
        must(&["netns", "add", c]);
        for (x, x_if, x_addr, y, y_if, y_addr) in [
            (a, "ab", "10.231.1.1/24", b, "ba", "10.231.1.2/24"),
            (b, "bc", "10.231.2.2/24", c, "cb", "10.231.2.3/24"),
        ] {
            must(&[
                "link", "add", x_if, "netns", x, "type", "veth", "peer", "name", y_if, "netns", y,
            ]);
            for (ns, dev, addr) in [(x, x_if, x_addr), (y, y_if, y_addr)] {
                must(&["-n", ns, "addr", "add", addr, "dev", dev]);
                must(&["-n", ns, "link", "set", dev, "up"]);
            }
        }
        for ns in &network.names {
            must(&["-n", ns, "link", "set", "lo", "up"]);
        }
        Ok(network)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting a namespace deletes its ends of the veth pairs.
        for ns in &self.names {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// Runs `ip ARGS`; Err with what it said.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("`ip {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A publisher on C starts first, then one on A, on the same key; A and C
/// reach each other only through B, where a mirror runs. The one on A is
/// refused (exit 1, naming the key), C's goes on, and the mirror on B
/// follows C throughout. A mirror started on A then gets C's states
/// through B. (In peer mode, which since Zenoh 1.9 routes only between
/// directly connected peers, A never saw C: both kept publishing.)
#[test]
fn the_one_publisher_rule_holds_through_a_mirror() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let network = match Network::line() {
        Ok(network) => network,
        Err(e) => {
            eprintln!("skipped: `ip netns` is not available here: {e}");
            return;
        }
    };
    let [ns_a, ns_b, ns_c] = &network.names;
    let key = "shm-test/topology";
    let (a, b, c) = (Scratch::file(), Scratch::file(), Scratch::file());

    let mut mirror = start_in(
        ns_b,
        "mirror",
        &b,
        key,
        &["tcp/10.231.1.2:7447".into(), "tcp/10.231.2.2:7447".into()],
        &[],
    );
    mirror.error_line_with("follows key");

    let on_c = c.create(Board {
        bar: 3,
        ..Board::default()
    });
    let mut publisher_c = start_in(
        ns_c,
        "publish",
        &c,
        key,
        &[],
        &["tcp/10.231.2.2:7447".into()],
    );
    publisher_c.error_line_with("on key");
    let region = open_when_created(&b.arg);
    wait_equal(&region, as_bytes(&on_c.snapshot()));

    let before = region.version();
    let _on_a = a.create(Board {
        bar: 1,
        ..Board::default()
    });
    let publisher_a = start_in(
        ns_a,
        "publish",
        &a,
        key,
        &[],
        &["tcp/10.231.1.2:7447".into()],
    );
    let (status, said) = publisher_a.finish();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("`{key}`")) && said.contains("already has a live publisher"),
        "{said}"
    );

    assert_eq!(
        region.version(),
        before,
        "the mirror applied nothing of A's"
    );

    // C's changes still reach the mirror, and C and the mirror run on.
    on_c.update(|f| {
        f.bar = 33;
        f.samples[2] = 2;
    });
    wait_equal(&region, as_bytes(&on_c.snapshot()));
    assert_eq!(board(&region.snapshot()).bar, 33);
    assert!(
        publisher_c.child.try_wait().unwrap().is_none(),
        "the publisher on C stopped"
    );
    assert!(
        mirror.child.try_wait().unwrap().is_none(),
        "the mirror on B stopped"
    );

    // And a mirror on A gets C's states through B.
    let a2 = Scratch::file();
    let _far = start_in(
        ns_a,
        "mirror",
        &a2,
        key,
        &[],
        &["tcp/10.231.1.2:7447".into()],
    );
    let far = open_when_created(&a2.arg);
    wait_equal(&far, as_bytes(&on_c.snapshot()));
    on_c.baz.set(-3);
    wait_equal(&far, as_bytes(&on_c.snapshot()));
    wait_equal(&region, as_bytes(&on_c.snapshot()));
}
