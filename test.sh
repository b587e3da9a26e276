#!/usr/bin/env bash
# The whole test suite: the habits (every Markdown file renders, formatting,
# lints, rustdoc), every Rust test of the workspace (unit, compile-fail,
# multi-process, generated-layout crash tests, C, property tests), the loom
# models of the sync protocols, then the Python package's tests, in a
# virtual environment of its own (.venv, git-ignored).
set -euo pipefail
cd "$(dirname "$0")"

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check maturin pytest mypy markdown-it-py
# Every Markdown file renders whole (no unclosed fence, no heading inside a
# code block).
.venv/bin/python tools/check_markdown.py

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

cargo test --workspace

# The sync protocols' model checks (docs/loom.md): loom runs the real lock,
# publish/recover and wait/wake code as simulated processes over every
# interleaving within its bounds. About two minutes, the build included.
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
  cargo test -p shm-runtime --release --lib loom

.venv/bin/pip install --quiet --disable-pip-version-check ./shm-python
.venv/bin/python -m pytest -q shm-python/tests
