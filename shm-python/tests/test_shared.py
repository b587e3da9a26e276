"""A region from one process: opening, fields, atomics, whole-struct
updates, versions, and every error class with the runtime's message."""

import math
import os
import subprocess
import sys
import threading

import pytest

import shm
from conftest import open_any, open_as
from peer import TELEMETRY, Foo, Point, Telemetry


def test_open_creates_then_opens(target):
    kind, where = target
    foo = open_as(Foo, kind, where, initial=Foo(bar=42, baz=98))
    assert foo.created and isinstance(foo, shm.Shared) and not isinstance(foo, Foo)
    assert (foo.bar, foo.baz) == (42, 98)
    assert str(foo) == "Foo(bar=42, baz=98)"
    assert foo.kind == kind and foo.type is Foo and not foo.read_only
    again = open_as(Foo, kind, where, initial=Foo(bar=1, baz=1))
    assert not again.created and again.snapshot() == Foo(bar=42, baz=98)
    foo.bar = 31337  # one atomic store, seen through the other mapping
    assert again.bar == 31337
    assert repr(again).startswith("<shm.Shared Foo in ")


def test_fields_nested_views_and_item_access(target):
    kind, where = target
    t = open_as(Telemetry, kind, where, initial=TELEMETRY)
    other = open_as(Telemetry, kind, where)
    t.origin.x = 5
    t.corners[1].y = 9
    t.grid[1][0] = -8
    t.temps[0] = 2.5
    t["small[3]"] = 4
    t["corners.0.x"] = 12
    assert (other.origin.x, other.corners[1].y, other.grid[1][0], other.temps[0]) == (5, 9, -8, 2.5)
    assert other["small[3]"] == 4 and other.small[3] == 4 and other["corners[0].x"] == 12
    assert other["origin"].y == 8 and other["grid[1]"][1] == 4
    assert other.corners[1]["y"] == 9
    assert len(other.temps) == 2 and list(other.small) == [1, 2, 3, 4]
    assert other.temps == [2.5, -0.25]
    # Whole nested struct or array: one update, all or nothing.
    version = t.version
    t.origin = Point(x=1, y=2)
    t.small = [9, 8, 7, 6]
    assert other.origin.snapshot() == Point(x=1, y=2) and other.small.tolist() == [9, 8, 7, 6]
    assert t.version == version + 2
    with pytest.raises(shm.NoSuchField, match="has no field `nope`"):
        t["nope"]
    with pytest.raises(shm.NoSuchField, match="4 elements"):
        t["small[4]"]
    with pytest.raises(AttributeError, match="has no field `cuont`"):
        t.cuont = 1
    with pytest.raises(IndexError):
        t.small[4]
    with pytest.raises(OverflowError):
        t.small[0] = 256
    with pytest.raises(TypeError):
        t.count = 1.5
    assert "count" in dir(t)


def test_a_field_named_like_a_method_is_reached_by_item(region_path):
    class Clash(shm.Struct):
        version: shm.u32
        update: shm.u32

    c = Clash.open_file(region_path)
    c["version"] = 7
    assert c["version"] == 7 and c.snapshot().version == 7
    assert c.version == c.version + 0 and callable(c.notify)  # the region's version
    assert callable(c.update)
    with pytest.raises(AttributeError, match=r'handle\["update"\]'):
        c.update = 1
    assert c.snapshot().version == 7


def test_atomic_operations(target):
    kind, where = target
    t = open_as(Telemetry, kind, where, initial=TELEMETRY)
    assert t.fetch_add("count", 5) == 1 and t.count == 6
    assert t.fetch_sub("count", 2) == 6 and t.count == 4
    assert t.fetch_or("flags", 0x0010) == 0xBEEF and t.flags == 0xBEFF
    assert t.fetch_and("flags", 0x00F0) == 0xBEFF and t.flags == 0x00F0
    assert t.fetch_xor("flags", 0x00FF) == 0x00F0 and t.flags == 0x000F
    assert t.fetch_max("level", 3) == -5 and t.level == 3
    assert t.fetch_min("level", -9) == 3 and t.level == -9
    assert t.swap("corners[1].x", 77) == 30 and t.corners[1].x == 77
    assert t.compare_exchange("id", 7, 8) == (True, 7)
    assert t.compare_exchange("id", 7, 9) == (False, 8)
    assert t.fetch_add("ratio", 0.5) == 0.1 and t.ratio == 0.6
    assert t.fetch_add("small[3]", 1) == 255 and t.small[3] == 0  # wraps at u8
    with pytest.raises(TypeError, match="bitwise"):
        t.fetch_or("ratio", 1)
    with pytest.raises(OverflowError):
        t.fetch_add("small[0]", 256)
    with pytest.raises(shm.NoSuchField, match="not a single value"):
        t.fetch_add("corners", 1)


def test_snapshot_is_a_plain_value(target):
    kind, where = target
    t = open_as(Telemetry, kind, where, initial=TELEMETRY)
    s = t.snapshot()
    assert type(s) is Telemetry and s == TELEMETRY
    s.count = 100  # a private copy
    assert t.count == 1
    assert t.corners[1].snapshot() == Point(x=30, y=40)


def test_update_publishes_all_or_nothing(target):
    kind, where = target
    foo = open_as(Foo, kind, where, initial=Foo(bar=42, baz=98))
    seen = foo.version

    def move(f):
        f.bar += 1
        f.baz -= 1
        return f.bar

    assert foo.update(move) == 43
    assert foo.snapshot() == Foo(bar=43, baz=97) and foo.version > seen
    foo.update(lambda f: setattr(f, "baz", f.baz - 1))
    assert foo.baz == 96
    with foo.update() as f:
        assert type(f) is Foo
        f.baz -= 1
        assert foo.baz == 96  # not published before the block ends
    assert foo.baz == 95

    with pytest.raises(ZeroDivisionError):
        with foo.update() as f:
            f.bar = 0
            1 / 0
    with pytest.raises(ZeroDivisionError):
        foo.update(lambda f: (setattr(f, "bar", 0), 1 / 0))
    assert foo.snapshot() == Foo(bar=43, baz=95)
    foo.store(Foo(bar=1, baz=2))
    assert foo.snapshot() == Foo(bar=1, baz=2)
    with pytest.raises(TypeError):
        foo.store(Point())


def test_update_inside_update_raises_instead_of_deadlocking(target):
    kind, where = target
    foo = open_as(Foo, kind, where)
    other = open_as(Foo, kind, where)
    with foo.update() as f:
        f.bar = 5
        with pytest.raises(RuntimeError, match="already inside an update"):
            other.update(lambda g: None)
        with pytest.raises(RuntimeError, match="already inside an update"):
            foo.store(Foo())
    assert foo.bar == 5
    foo.update(lambda f: None)  # the lock was released
    block = foo.update()
    with block:
        pass
    with pytest.raises(RuntimeError, match="entered already"):
        with block:
            pass


def test_versions_notify_and_waiting(target):
    kind, where = target
    foo = open_as(Foo, kind, where)
    seen = foo.version
    foo.bar = 1  # field writes do not move the version
    assert foo.version == seen
    assert foo.notify() == foo.version != seen
    assert foo.wait_for_change(seen, timeout=0) == foo.version
    with pytest.raises(shm.Timeout, match="timed out after 20ms") as timed_out:
        foo.wait_for_change(foo.version, timeout=0.02)
    assert isinstance(timed_out.value, TimeoutError)
    with pytest.raises(ValueError):
        foo.wait_for_change(0, timeout=-1)

    # timeout=None: no deadline; another thread's update ends the wait.
    current = foo.version
    result = []
    waiter = threading.Thread(target=lambda: result.append(foo.wait_for_change(current, timeout=None)))
    waiter.start()
    foo.update(lambda f: setattr(f, "bar", 2))
    waiter.join(10)
    assert result == [foo.version]


def test_any_region_opens_typed_by_its_schema(target):
    kind, where = target
    open_as(Telemetry, kind, where, initial=TELEMETRY)
    anything = open_any(kind, where)
    assert anything.type.__name__ == "Telemetry" and anything.type is not Telemetry
    assert shm.layout_of(anything.type).fingerprint == shm.layout_of(Telemetry).fingerprint
    value = anything.snapshot()
    assert value.corners[1].x == 30 and value.grid[1][0] == -3 and value.ratio == 0.1
    assert repr(value) == repr(TELEMETRY)
    assert Telemetry.from_bytes(value.as_bytes()) == TELEMETRY
    anything.corners[0].y = 3
    assert open_as(Telemetry, kind, where).corners[0].y == 3
    assert open_any(kind, where).type is anything.type  # one class per layout


def test_read_only_handles(target):
    kind, where = target
    open_as(Foo, kind, where, initial=Foo(bar=1, baz=2))
    ro = open_as(Foo, kind, where, read_only=True)
    assert ro.read_only and ro.bar == 1 and ro.snapshot() == Foo(bar=1, baz=2)
    for write in (
        lambda: setattr(ro, "bar", 2),
        lambda: ro.fetch_add("bar", 1),
        lambda: ro.update(lambda f: None),
        lambda: ro.notify(),
    ):
        with pytest.raises(shm.PermissionDenied, match="read-only") as denied:
            write()
        assert isinstance(denied.value, PermissionError)
    assert open_any(kind, where, read_only=True).bar == 1


def test_flush(region_path):
    foo = Foo.open_file(region_path)
    foo.bar = 5
    foo.flush()


def test_error_classes_carry_the_runtimes_messages(tmp_path, shm_name):
    path = str(tmp_path / "x")
    with pytest.raises(shm.NotFound, match="not found") as missing:
        Foo.open_file(path, create=False)
    assert isinstance(missing.value, FileNotFoundError) and missing.value.errno == 2
    with pytest.raises(shm.NotFound):
        shm.open_shm(shm_name)
    with pytest.raises(shm.NotFound):
        shm.remove_shm(shm_name)

    Foo.open_file(path)
    with pytest.raises(shm.AlreadyExists) as exists:
        Foo.open_file(path, create_new=True)
    assert isinstance(exists.value, FileExistsError)

    with pytest.raises(shm.LayoutMismatch, match="expected a region of `Point`") as mismatch:
        Point.open_file(path)
    assert "Foo" in str(mismatch.value)

    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"not a region at all, and it must stay as it is" * 100)
    before = foreign.read_bytes()
    with pytest.raises(shm.NotSharedState, match="left untouched"):
        Foo.open_file(str(foreign))
    with pytest.raises(shm.NotSharedState):
        shm.open_file(str(foreign))
    assert foreign.read_bytes() == before

    short = tmp_path / "short"
    Telemetry.open_file(str(short))
    os.truncate(short, os.path.getsize(short) - 64)
    with pytest.raises(shm.Truncated, match="truncated"):
        Telemetry.open_file(str(short))

    for bad in ["", "/", "a/b", "x" * 300, "nul\0"]:
        with pytest.raises(shm.InvalidName) as invalid:
            Foo.open_shm(bad)
        assert isinstance(invalid.value, ValueError)

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(shm.Timeout, match="waiting"):
        shm.open_file(str(empty), timeout=0.05)

    # A directory (as a FIFO, a socket, a device): not a region, at once.
    with pytest.raises(shm.NotSharedState, match="found a directory"):
        Foo.open_file(str(tmp_path))

    with pytest.raises(shm.WrongSize):
        Foo.from_bytes(b"")
    with pytest.raises(shm.Unsupported, match="needs its schema"):
        shm._shm.open(str(tmp_path / "new"), "file", None, create_new=True)

    for name in [
        "NotFound", "AlreadyExists", "InvalidName", "NotSharedState", "LayoutMismatch",
        "PermissionDenied", "Truncated", "Timeout", "Io", "NoSuchField", "InvalidValue",
        "Unsupported", "ForkedUpdate", "WrongSize", "LayoutError",
    ]:
        assert issubclass(getattr(shm, name), shm.Error), name


def test_nan_and_infinities_round_trip(region_path):
    t = Telemetry.open_file(region_path)
    t.ratio = math.nan
    t.temps[1] = -math.inf
    assert math.isnan(t.ratio) and t.temps[1] == -math.inf
    assert "nan" in str(t) and "-inf" in str(t)


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    """A read-only open of a FIFO used to block until a writer came."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = f"""
import shm
class Foo(shm.Struct):
    bar: shm.i32
opens = [
    lambda p: Foo.open_file(p, read_only=True),
    lambda p: Foo.open_file(p),
    lambda p: shm.open_file(p),
]
for open_ in opens:
    try:
        open_({str(fifo)!r})
    except shm.NotSharedState as e:
        assert "FIFO" in str(e), e
    else:
        raise AssertionError("a FIFO opened")
print("refused")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "refused", out.stderr
