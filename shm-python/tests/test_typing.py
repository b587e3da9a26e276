"""Type hints: the package is typed (py.typed, stubs), struct classes are
dataclass-like to type checkers (field names and types of the constructor
and of values are checked). Runs mypy when it is installed."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import shm

GOOD = '''
from typing import Literal
import shm

class Point(shm.Struct):
    x: shm.i16
    y: shm.i16

class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32
    samples: shm.Array[shm.u16, Literal[4]]
    origin: Point

foo = Foo.open_file("/tmp/x", initial=Foo(bar=1, baz=2, samples=[0, 0, 0, 0], origin=Point(x=1, y=2)))
v: Foo = foo.snapshot()
n: int = v.bar + v.samples[3] + v.origin.x
foo.bar = 5
with foo.update() as f:
    f.baz -= 1
r: int = foo.update(lambda f: f.bar)
seen: int = foo.wait_for_change(foo.version, timeout=None)
'''

BAD = '''
import shm

class Foo(shm.Struct):
    bar: shm.i32
    baz: shm.i32

Foo(bar=1, bax=2)
Foo(bar="1", baz=2)
v = Foo(bar=1, baz=2)
v.bar = "x"
s: str = Foo.open_file("/tmp/x").snapshot().baz
'''


def test_the_package_is_typed():
    package = Path(shm.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "__init__.pyi").exists()
    assert getattr(shm.Struct, "__dataclass_transform__", None) is not None


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_type_checkers_check_field_names_and_types(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    bad = tmp_path / "bad.py"
    bad.write_text(BAD)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(good)],
        capture_output=True, text=True, timeout=300,
    )
    assert checked.returncode == 0, checked.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(bad)],
        capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in refused.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in lines] == ["8", "9", "11", "12"], refused.stdout
    assert 'Unexpected keyword argument "bax"' in refused.stdout
