#!/usr/bin/env python3
"""The `shm` Python package beside Python's stdlib way of sharing a field
(multiprocessing.shared_memory plus struct.unpack_from / struct.pack_into),
in one interpreter, one run. Run by the Rust suite (bench/src/rows/python.rs),
which parses the lines it prints:

    <name> <median_ns> <min_ns> <max_ns> <iters>

with names
    get / set                stdlib: unpack_from("i") / pack_into("i") of one i32
    shm_get / shm_set        the package: `foo.bar` / `foo.bar = v` (an i32 field)
    snapshot_base            stdlib: unpack_from("iiQ"): 16 bytes into Python values
    shm_snapshot             the package: `small.snapshot()` of a 16-byte struct
    loop                     an empty loop

and, when `import shm` fails, one line `skip <reason>` (the stdlib figures
are still printed).

Same method as the suite: a batch grows until it takes a quarter of the
repetition target, then `reps` repetitions, each pair interleaved (ours,
then the baseline, rep after rep); figures are ns per operation and include
the interpreter's loop (the `loop` line measures an empty one).

Usage: python3 fields.py [--reps N] [--target-ms MS]
"""

import argparse
import os
import struct
import time
from itertools import repeat
from multiprocessing import shared_memory

now_ns = time.perf_counter_ns


def batch_size(target_ns, batch):
    n = 8
    while True:
        took = batch(n)
        if took >= target_ns / 4:
            break
        n = int(n * min(max(target_ns / 4 / max(took, 1), 2.0), 64.0)) + 1
    return max(1, int(target_ns / (took / n)))


def figure(vals, iters):
    vals = sorted(vals)
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    return median, vals[0], vals[-1], iters


def measure(target_ns, reps, batch):
    iters = batch_size(target_ns, batch)
    return figure([batch(iters) / iters for _ in range(reps)], iters)


def measure_pair(target_ns, reps, ours, base):
    """Both batches sized alike and their repetitions interleaved, so a
    change of CPU speed or load hits both."""
    n_ours = batch_size(target_ns, ours)
    n_base = batch_size(target_ns, base)
    ours_vals, base_vals = [], []
    for _ in range(reps):
        ours_vals.append(ours(n_ours) / n_ours)
        base_vals.append(base(n_base) / n_base)
    return figure(ours_vals, n_ours), figure(base_vals, n_base)


def emit(name, fig):
    median, lo, hi, iters = fig
    print(f"{name} {median:.4f} {lo:.4f} {hi:.4f} {iters}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--target-ms", type=float, default=50.0)
    args = ap.parse_args()
    target_ns = args.target_ms * 1e6

    try:
        import shm
    except ImportError as e:
        shm = None
        print(f"skip the shm package is not importable here ({e}); pip install ./shm-python", flush=True)

    stdlib = shared_memory.SharedMemory(create=True, size=4096)
    regions = []
    try:
        buf = stdlib.buf
        unpack_from, pack_into = struct.unpack_from, struct.pack_into

        def get(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                unpack_from("i", buf, 0)[0]
            return now_ns() - t0

        def set_(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                pack_into("i", buf, 0, 7)
            return now_ns() - t0

        def snapshot_base(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                unpack_from("iiQ", buf, 0)
            return now_ns() - t0

        def empty(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                pass
            return now_ns() - t0

        # A throwaway round first: the first figure of a fresh interpreter
        # came out up to 2x high (caches, the allocator, CPU frequency).
        measure(target_ns, 1, get)
        if shm is None:
            for name, batch in (("get", get), ("set", set_), ("loop", empty)):
                emit(name, measure(target_ns, args.reps, batch))
            return

        class Foo(shm.Struct):
            bar: shm.i32
            baz: shm.i32

        class Small(shm.Struct):
            a: shm.i32
            b: shm.i32
            c: shm.u64

        tag = f"shm_bench_py_{os.getpid()}"
        regions = [tag + "_foo", tag + "_small"]
        foo = Foo.open_shm(regions[0], create_new=True)
        small = Small.open_shm(regions[1], create_new=True, initial=Small(a=1, b=2, c=3))

        def shm_get(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                foo.bar
            return now_ns() - t0

        def shm_set(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                foo.bar = 7
            return now_ns() - t0

        def shm_snapshot(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                small.snapshot()
            return now_ns() - t0

        measure(target_ns, 1, shm_get)
        for ours_name, ours, base_name, base in (
            ("shm_get", shm_get, "get", get),
            ("shm_set", shm_set, "set", set_),
            ("shm_snapshot", shm_snapshot, "snapshot_base", snapshot_base),
        ):
            ours_fig, base_fig = measure_pair(target_ns, args.reps, ours, base)
            emit(ours_name, ours_fig)
            emit(base_name, base_fig)
        emit("loop", measure(target_ns, args.reps, empty))
        assert foo.bar == 7 and small.snapshot() == Small(a=1, b=2, c=3)
        del foo, small
    finally:
        del buf
        stdlib.close()
        stdlib.unlink()
        for name in regions:
            try:
                shm.remove_shm(name)
            except Exception:
                pass


if __name__ == "__main__":
    main()
