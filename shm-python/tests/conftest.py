"""Fixtures: scratch regions (a file in a temporary folder, a shm name that
is removed afterwards) and the Rust peer (`shm-runtime/examples/python_peer.rs`, built
once per session)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import shm

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def region_path(tmp_path):
    return str(tmp_path / "region")


@pytest.fixture
def shm_name():
    name = f"shm_py_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    yield name
    try:
        shm.remove_shm(name)
    except shm.NotFound:
        pass


@pytest.fixture(params=["file", "shm"])
def target(request, tmp_path):
    """(kind, target): a file path or a shm name, removed afterwards."""
    if request.param == "file":
        yield "file", str(tmp_path / "region")
    else:
        name = f"shm_py_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        yield "shm", name
        try:
            shm.remove_shm(name)
        except shm.NotFound:
            pass


def open_as(cls, kind, where, **options):
    """`cls.open_file(where)` or `cls.open_shm(where)`."""
    return cls.open_file(where, **options) if kind == "file" else cls.open_shm(where, **options)


def open_any(kind, where, **options):
    return shm.open_file(where, **options) if kind == "file" else shm.open_shm(where, **options)


@pytest.fixture(scope="session")
def peer():
    """The path of the Rust peer binary: $SHM_PYTHON_PEER, or built with
    cargo (the workspace's `shm-runtime/examples/python_peer.rs`)."""
    given = os.environ.get("SHM_PYTHON_PEER")
    if given:
        return given
    built = subprocess.run(
        ["cargo", "build", "--quiet", "--example", "python_peer"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if built.returncode != 0:
        pytest.fail(f"cannot build the Rust peer:\n{built.stderr}")
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target_dir.is_absolute():
        target_dir = ROOT / target_dir
    return str(target_dir / "debug" / "examples" / "python_peer")


def python_child(code, *args, **kwargs):
    """Starts `python -c code args...` with pipes, the package importable."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
