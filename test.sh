#!/usr/bin/env bash
# The whole test suite: every Rust test of the workspace (unit, compile-fail,
# multi-process, C, property tests), then the Python package's tests in a
# virtual environment of its own (.venv, git-ignored).
set -euo pipefail
cd "$(dirname "$0")"

cargo test --workspace

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check maturin pytest mypy
.venv/bin/pip install --quiet --disable-pip-version-check ./shm-python
.venv/bin/python -m pytest -q shm-python/tests
