"""Python and Rust on one region: the Rust peer (`shm-runtime/examples/python_peer.rs`)
declares the same structs; each side sees the other's writes through the
mapping it already has, and a struct declared in either language opens the
other's regions (equal fingerprints). Every step is a handshake on the
peer's pipes or the region's version: no sleeps."""

import subprocess
import threading

import pytest

import shm
from conftest import open_any, open_as
from peer import TELEMETRY, Foo, Peer, Point, Tally, Telemetry, leaves


def test_fingerprints_equal_the_rust_derives(peer):
    out = subprocess.run([peer, "fingerprints"], capture_output=True, text=True, check=True, timeout=60)
    rust = dict(line.split() for line in out.stdout.splitlines())
    for cls in (Foo, Point, Telemetry, Tally):
        assert shm.layout_of(cls).fingerprint == int(rust[cls.__name__], 16), cls.__name__


def test_the_posts_session_python_creates_rust_opens(peer, target):
    kind, where = target
    foo = open_as(Foo, kind, where, initial=Foo(bar=42, baz=98))
    rust = Peer(peer, "Foo", kind, where, "open")
    try:
        assert rust.ready.split()[2] == "false"  # Rust opened Python's region
        assert rust.show() == {"bar": 42, "baz": 98}
        foo.bar = 31337  # Python writes; Rust sees it without reopening
        assert rust.show() == {"bar": 31337, "baz": 98}
        assert str(foo) == "Foo(bar=31337, baz=98)"
        seen = foo.version
        wrote = rust.ask("write")  # Rust: bar.set(-31337), baz.fetch_add(1), notify
        assert foo.wait_for_change(seen, timeout=10) == int(wrote.split()[1])
        assert foo.snapshot() == Foo(bar=-31337, baz=99)
        seen = foo.version
        rust.ask("update")  # bar += 1, baz -= 1, in one update
        foo.wait_for_change(seen, timeout=10)
        assert foo.snapshot() == Foo(bar=-31336, baz=98)
        seen = foo.version
        with foo.update() as f:  # Rust waits for Python's update
            f.bar = 1
            f.baz = 2
        assert rust.ask(f"wait {seen}").startswith("changed ")
        assert rust.show() == {"bar": 1, "baz": 2}
    finally:
        rust.close()


def test_rust_creates_python_opens_by_schema_and_by_declaration(peer, target):
    kind, where = target
    rust = Peer(peer, "Telemetry", kind, where, "create")
    try:
        assert rust.ready.split()[2] == "true"
        assert int(rust.ready.split()[1], 16) == shm.layout_of(Telemetry).fingerprint
        by_schema = open_any(kind, where)
        declared = open_as(Telemetry, kind, where)
        assert not declared.created
        assert by_schema.type.__name__ == "Telemetry"
        assert repr(by_schema.snapshot()) == repr(TELEMETRY)
        assert declared.snapshot() == TELEMETRY
        assert leaves(TELEMETRY) == rust.show()

        # Rust writes with its typed API; Python sees them without reopening.
        seen = declared.version
        rust.ask("write")
        declared.wait_for_change(seen, timeout=10)
        expected = Telemetry.from_bytes(TELEMETRY.as_bytes())
        expected.count += 10
        expected.temps[1] = 2.5
        expected.corners[1].y = -3
        expected.grid[1][0] = -8
        expected.small[3] = 0
        expected.ratio = 0.125
        expected.origin.x = 70
        assert declared.snapshot() == expected
        assert by_schema.corners[1].y == -3 and by_schema.origin.x == 70

        # Python writes (attributes, nested views, arrays, paths); Rust sees
        # them through its own mapping.
        by_schema.count = 2**64 - 1
        by_schema.corners[0].x = -100
        declared.grid[0][1] = 99
        declared["temps[0]"] = -1.5
        declared.origin.y = -1
        by_schema["small.1"] = 200
        seen = declared.version
        declared.update(lambda t: setattr(t, "offset", 123))
        assert rust.ask(f"wait {seen}").startswith("changed ")
        shown = rust.show()
        assert shown == leaves(declared.snapshot())
        assert (shown["count"], shown["corners[0].x"], shown["grid[0][1]"]) == (2**64 - 1, -100, 99)
        assert (shown["temps[0]"], shown["origin.y"], shown["small[1]"], shown["offset"]) == (-1.5, -1, 200, 123)

        seen = declared.version
        rust.ask("update")
        declared.wait_for_change(seen, timeout=10)
        after = declared.snapshot()
        assert (after.id, after.level, after.offset, after.corners[0]) == (8, -2, -(2**63), Point(x=11, y=12))
    finally:
        rust.close()


def test_rust_refuses_a_python_region_of_another_layout(peer, target):
    kind, where = target
    open_as(Tally, kind, where)
    out = subprocess.run([peer, "serve", "Foo", kind, where, "open"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "layout mismatch" in out.stderr and "Tally" in out.stderr


def test_updates_from_python_and_rust_at_once_lose_nothing(peer, target):
    kind, where = target
    n = 20_000
    tally = open_as(Tally, kind, where)
    rust = subprocess.Popen(
        [peer, "hammer", kind, where, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert rust.stdout.readline().strip() == "ready"

        def bump(t):
            t.by_python += 1
            t.total += 1

        rust.stdin.write("go\n")
        rust.stdin.flush()
        for _ in range(n):
            tally.update(bump)
        done = rust.stdout.readline()
        assert done.startswith("done"), done
        assert rust.wait(timeout=60) == 0
    finally:
        if rust.poll() is None:
            rust.kill()
    assert tally.snapshot() == Tally(by_python=n, by_rust=n, total=2 * n)


def test_a_python_thread_and_a_rust_process_wait_on_each_other(peer, region_path):
    foo = Foo.open_file(region_path)
    rust = Peer(peer, "Foo", "file", region_path, "open")
    try:
        seen = foo.version
        changed = []
        waiter = threading.Thread(target=lambda: changed.append(foo.wait_for_change(seen, timeout=10)))
        waiter.start()
        rust.ask("update")
        waiter.join(15)
        assert changed and changed[0] != seen
    finally:
        rust.close()
