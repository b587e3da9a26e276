"""The structs of the Rust peer (`shm-runtime/examples/python_peer.rs`), declared in
Python: same field names, types and order, so the same layouts."""

from typing import Literal

import shm


class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32


class Point(shm.Struct):
    x: shm.i16
    y: shm.i16


class Telemetry(shm.Struct):
    count: shm.u64
    temps: shm.Array[shm.f32, Literal[2]]
    corners: shm.Array[Point, Literal[2]]
    id: shm.u32
    small: shm.array(shm.u8, 4)
    grid: shm.array(shm.array(shm.i8, 2), 2)
    level: shm.i16
    flags: shm.u16
    ratio: shm.f64
    offset: shm.i64
    origin: Point
    sign: shm.i32


class Tally(shm.Struct):
    by_python: shm.u64
    by_rust: shm.u64
    total: shm.u64


# The value the peer creates its Telemetry regions with.
TELEMETRY = Telemetry(
    count=1,
    temps=[1.5, -0.25],
    corners=[Point(x=1, y=-2), Point(x=30, y=40)],
    id=7,
    small=[1, 2, 3, 255],
    grid=[[-1, 2], [-3, 4]],
    level=-5,
    flags=0xBEEF,
    ratio=0.1,
    offset=-9_000_000_000,
    origin=Point(x=-7, y=8),
    sign=-1,
)


def leaves(value, prefix=""):
    """{path: number} for every scalar of a struct value, with the paths the
    runtime writes (`corners[1].y`)."""
    out = {}
    for name, _offset, _type in shm.layout_of(type(value)).fields:
        _collect(getattr(value, name), prefix + name, out)
    return out


def _collect(v, path, out):
    if isinstance(v, (int, float)):
        out[path] = v
    elif isinstance(v, (shm.ArrayView, list)):
        for i, element in enumerate(v):
            _collect(element, f"{path}[{i}]", out)
    else:
        out.update(leaves(v, path + "."))


def parse_show(line):
    """The peer's `show` line as {path: number}."""
    out = {}
    for item in line.split():
        path, text = item.split("=", 1)
        out[path] = float(text) if any(c in text for c in ".eiN") else int(text)
    return out


class Peer:
    """A running `python_peer serve`: one command, one answer line."""

    def __init__(self, binary, struct, kind, target, how):
        import subprocess

        self.process = subprocess.Popen(
            [binary, "serve", struct, kind, target, how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ready = self.read()

    def read(self):
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise AssertionError(f"the peer ended: {self.process.stderr.read()}")
        return line.strip()

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def show(self):
        return parse_show(self.ask("show"))

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("exit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)
