"""Several Python processes (and threads) on one region: exact counts, a
writer killed inside an update, and waits that release the interpreter.
Processes synchronise on their pipes; every wait is bounded."""

import os
import signal
import subprocess
import sys
import time

import pytest

import shm
from conftest import python_child


class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64


COUNTER = """
import sys, shm
class Counter(shm.Struct):
    count: shm.u64
counter = Counter.open_shm(sys.argv[1], create=False)
n = int(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
fetch_add = counter.fetch_add
for _ in range(n):
    fetch_add("count", 1)
print("done", flush=True)
"""


def test_four_processes_fetch_add_an_exact_total(shm_name):
    class Counter(shm.Struct):
        count: shm.u64

    counter = Counter.open_shm(shm_name)
    n = 100_000
    children = [python_child(COUNTER, shm_name, n) for _ in range(4)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        for child in children:  # start together
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            assert child.stdout.readline().strip() == "done", child.stderr.read()
            assert child.wait(timeout=120) == 0
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert counter.count == 4 * n


KILLED_INSIDE = """
import sys, shm
class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64
pair = Pair.open_file(sys.argv[1], create=False)
with pair.update() as p:
    p.a = 999
    p.b = 999
    print("inside", flush=True)
    sys.stdin.readline()  # killed here
"""

KILLED_ANYWHERE = """
import sys, shm
class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64
pair = Pair.open_file(sys.argv[1], create=False)
def step(p):
    p.a += 1
    p.b += 1
for i in range(10**9):
    pair.update(step)
    if i == 200:
        print("running", flush=True)
"""


def _kill(child):
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    child.stdin.close()
    child.stderr.close()


def test_a_writer_killed_inside_update_leaves_the_region_before(region_path):
    pair = Pair.open_file(region_path, initial=Pair(a=1, b=1))
    child = python_child(KILLED_INSIDE, region_path)
    assert child.stdout.readline().strip() == "inside", child.stderr.read()
    _kill(child)
    assert pair.snapshot() == Pair(a=1, b=1)  # never torn, never blocked
    started = time.monotonic()
    pair.update(lambda p: setattr(p, "a", p.a + 1))  # the dead holder's lock is recovered
    assert time.monotonic() - started < 2
    assert pair.snapshot() == Pair(a=2, b=1)


def test_a_writer_killed_at_any_instant_leaves_before_or_after(region_path):
    pair = Pair.open_file(region_path)
    for _ in range(5):
        child = python_child(KILLED_ANYWHERE, region_path)
        assert child.stdout.readline().strip() == "running", child.stderr.read()
        _kill(child)
        seen = pair.snapshot()
        assert seen.a == seen.b, seen
        pair.update(lambda p: (setattr(p, "a", p.a + 1), setattr(p, "b", p.b + 1)))
        after = pair.snapshot()
        assert after.a == after.b == seen.a + 1


def _run(code, *args, timeout=30):
    """Runs `code` in a child interpreter; a hang is a failure, not a stuck
    suite."""
    child = python_child(code, *args)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        pytest.fail(f"the child hung (the interpreter was not released?):\n{out}\n{err}")
    assert child.returncode == 0, err
    return out


WAIT_RELEASES = """
import sys, threading, shm
class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32
foo = Foo.open_file(sys.argv[1])
seen = foo.version
got = []
waiting = threading.Event()
def wait():
    waiting.set()
    got.append(foo.wait_for_change(seen, timeout=60))
waiter = threading.Thread(target=wait)
waiter.start()
waiting.wait()
n = 0
while n < 3_000_000:   # Python work on this thread while the other waits
    n += 1
assert not got, "the waiter returned before any change"
foo.notify()
waiter.join(20)
assert got and got[0] != seen, got
print("ok")
"""

LOCK_WAIT_RELEASES = """
import sys, threading, time, shm
class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32
foo = Foo.open_file(sys.argv[1])
done = []
starting = threading.Event()
def other():
    starting.set()
    foo.update(lambda f: setattr(f, "bar", f.bar + 1))   # waits for the lock
    done.append(True)
with foo.update() as f:            # this thread holds the region's lock
    thread = threading.Thread(target=other)
    thread.start()
    starting.wait()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:  # runs Python while the other thread waits
        pass
    assert not done
    f.bar = 10
thread.join(20)
assert done and foo.bar == 11, (done, foo.bar)
print("ok")
"""

CREATOR_WAIT_RELEASES = """
import fcntl, os, sys, threading, time, shm
class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)   # an empty file being
fcntl.flock(fd, fcntl.LOCK_EX)                        # "initialised" by us
opened = []
errors = []
starting = threading.Event()
def opener():
    starting.set()
    try:
        opened.append(Foo.open_file(path, initial=Foo(bar=7), timeout=30))
    except Exception as e:
        errors.append(e)
thread = threading.Thread(target=opener)
thread.start()
starting.wait()
end = time.monotonic() + 0.3
while time.monotonic() < end:      # runs Python while the opener waits
    pass
assert not opened and not errors, (opened, errors)
fcntl.flock(fd, fcntl.LOCK_UN)
thread.join(20)
assert not errors, errors
assert opened and opened[0].bar == 7, opened
print("ok")
"""


@pytest.mark.parametrize("code", [WAIT_RELEASES, LOCK_WAIT_RELEASES, CREATOR_WAIT_RELEASES],
                         ids=["wait_for_change", "writer_lock", "creator"])
def test_waits_release_the_interpreter(code, region_path):
    assert _run(code, region_path).strip() == "ok"


def test_a_stuck_wait_can_be_interrupted(region_path):
    """timeout=None waits in slices and looks for signals between them."""
    Pair.open_file(region_path)
    child = python_child(
        "import sys, shm\n"
        "class Pair(shm.Struct):\n    a: shm.u64\n    b: shm.u64\n"
        "p = Pair.open_file(sys.argv[1])\n"
        "try:\n    print('waiting', flush=True)\n    p.wait_for_change(p.version, timeout=None)\n"
        "except KeyboardInterrupt:\n    print('interrupted', flush=True)\n",
        region_path,
    )
    assert child.stdout.readline().strip() == "waiting"
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=10)
    assert out.strip() == "interrupted", err


FORK_INSIDE_UPDATE = """
import os, select, sys, time, shm
class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64
kind, where = sys.argv[1], sys.argv[2]
pair = Pair.open_file(where) if kind == "file" else Pair.open_shm(where)
backing = where if kind == "file" else "/dev/shm/" + where
CONTENDED = 1 << 63
def lock_word():  # the writer lock's word, read past the mapping
    with open(backing, "rb") as f:
        f.seek(256)
        return int.from_bytes(f.read(8), "little")
pair.a = 7
r, w = os.pipe()
pending = [b""]  # read from the child, not yet taken as lines
def line(timeout):
    # The child's next line, or None after `timeout` seconds.
    deadline = time.monotonic() + timeout
    while b"\\n" not in pending[0]:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            return None
        chunk = os.read(r, 4096)
        if not chunk:
            return None
        pending[0] += chunk
    first, _, pending[0] = pending[0].partition(b"\\n")
    return first.decode()
def parent_side():
    # Still inside the block, holding the lock.
    report = line(30)
    assert report and report.startswith("refused: "), report
    assert "begun before a fork" in report and f"in process {parent}" in report, report
    assert line(30) == "intact: True", "the child released the lock or published"
    assert line(30) == "updating"
    early = line(0.3)
    assert early is None, f"the child's update got past the parent's hold: {early}"
    assert lock_word() & ~CONTENDED == held
    assert pair.a == 7
def child_side(refused):
    # Report, then a fresh update through the inherited handle, which waits
    # for the parent's block to end.
    out = os.fdopen(w, "w", buffering=1)
    print(f"refused: {refused}" if refused else "refused: nothing was raised", file=out)
    print(f"intact: {lock_word() & ~CONTENDED == held and pair.a == 7}", file=out)
    print("updating", file=out)
    with pair.update() as q:
        q.b = 1
        seen = q.a
    print(f"updated over {seen}", file=out)
parent = os.getpid()
pid = None
try:
    refused = None
    try:
        with pair.update() as p:
            p.a = 100  # the parent's change
            held = lock_word()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                p.a = 666  # leaves the block in the child: must publish nothing
            else:
                os.close(w)
                parent_side()
    except shm.ForkedUpdate as error:
        refused = error
    if pid == 0:
        child_side(refused)
        os._exit(0)
    assert pair.a == 100, pair.snapshot()
    assert line(30) == "updated over 100"
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    pid = None
    assert pair.snapshot() == Pair(a=100, b=1), pair.snapshot()
    assert lock_word() == 0
finally:
    if os.getpid() != parent:
        os._exit(1)  # the child, on any failure: never the parent's exit path
    if pid:  # the parent, on a failure: leave no child behind
        os.kill(pid, 9)
        os.waitpid(pid, 0)
print("ok")
"""


def test_fork_inside_an_update_block(target):
    """A process forks inside `with pair.update()`: the child leaving the
    block raises shm.ForkedUpdate and publishes and releases nothing (the
    lock word keeps the parent's token), its next update waits for the
    parent's block, and the parent's block publishes exactly its change."""
    kind, where = target
    Pair.open_file(where) if kind == "file" else Pair.open_shm(where)
    assert _run(FORK_INSIDE_UPDATE, kind, where).strip() == "ok"


HOLDS_THE_LOCK = """
import sys, shm
class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64
pair = Pair.open_file(sys.argv[1], create=False)
with pair.update() as p:
    p.a += 1
    print("holding", flush=True)
    sys.stdin.readline()  # holds the writer lock until told
print("released", flush=True)
"""

WAITS_FOR_THE_LOCK = """
import sys, shm
class Pair(shm.Struct):
    a: shm.u64
    b: shm.u64
pair = Pair.open_file(sys.argv[1], create=False)
print("waiting", flush=True)
try:
    pair.update(lambda p: setattr(p, "b", 7))
    print("updated", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def _until_in_a_futex_wait(pid):
    """Until a thread of `pid` sleeps in the futex system call (202 on
    x86_64): the writer is waiting for the lock, not about to."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/syscall") as f:
                    if f.read().split()[0] == "202":
                        return
            except (OSError, IndexError):
                pass
        time.sleep(0.001)
    pytest.fail(f"process {pid} never waited on a futex")


@pytest.fixture
def holder(region_path):
    """A process inside `with update()`, holding the region's lock until
    the test ends (then it commits)."""
    Pair.open_file(region_path)
    child = python_child(HOLDS_THE_LOCK, region_path)
    assert child.stdout.readline().strip() == "holding", child.stderr.read()
    yield child
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "released", child.stderr.read()
    assert child.wait(timeout=30) == 0


def test_ctrl_c_interrupts_a_writer_waiting_for_the_lock(region_path, holder):
    waiter = python_child(WAITS_FOR_THE_LOCK, region_path)
    try:
        assert waiter.stdout.readline().strip() == "waiting", waiter.stderr.read()
        _until_in_a_futex_wait(waiter.pid)
        waiter.send_signal(signal.SIGINT)
        out, err = waiter.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        waiter.kill()
        pytest.fail("SIGINT did not interrupt a writer waiting for the lock")
    assert out.strip() == "interrupted", err
    assert Pair.open_file(region_path).snapshot().b == 0, "the interrupted update published"


def test_update_gives_up_after_its_timeout(region_path, holder):
    pair = Pair.open_file(region_path)
    with pytest.raises(shm.Timeout, match="writer lock"):
        pair.update(lambda p: setattr(p, "b", 7), timeout=0.05)
    with pytest.raises(shm.Timeout, match="writer lock"):
        with pair.update(timeout=0):
            pass
    with pytest.raises(ValueError, match="timeout"):
        pair.update(timeout=-1)
    assert pair.snapshot().b == 0
