#!/usr/bin/env python3
"""Field get/set through Python's stdlib: multiprocessing.shared_memory plus
struct.unpack_from / struct.pack_into of one i32, the Python way to share a
field between processes. Run by the Rust suite (bench/src/rows/python.rs),
which parses the lines it prints:

    get <median_ns> <min_ns> <max_ns> <iters>
    set <median_ns> <min_ns> <max_ns> <iters>
    loop <median_ns> <min_ns> <max_ns> <iters>

Same method as the suite: a batch grows until it takes a quarter of the
repetition target, then `reps` repetitions; figures are ns per operation and
include the interpreter's loop (the `loop` line measures an empty one).

Usage: python3 fields.py [--reps N] [--target-ms MS]
"""

import argparse
import struct
import time
from itertools import repeat
from multiprocessing import shared_memory

now_ns = time.perf_counter_ns


def measure(target_ns, reps, batch):
    n = 8
    while True:
        took = batch(n)
        if took >= target_ns / 4:
            break
        n = int(n * min(max(target_ns / 4 / max(took, 1), 2.0), 64.0)) + 1
    iters = max(1, int(target_ns / (took / n)))
    vals = sorted(batch(iters) / iters for _ in range(reps))
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    return median, vals[0], vals[-1], iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--target-ms", type=float, default=50.0)
    args = ap.parse_args()
    target_ns = args.target_ms * 1e6

    shm = shared_memory.SharedMemory(create=True, size=4096)
    try:
        buf = shm.buf
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

        def empty(n):
            t0 = now_ns()
            for _ in repeat(None, n):
                pass
            return now_ns() - t0

        # A throwaway round first: the first figure of a fresh interpreter
        # came out up to 2x high (caches, the allocator, CPU frequency).
        measure(target_ns, 1, get)
        for name, batch in (("get", get), ("set", set_), ("loop", empty)):
            median, lo, hi, iters = measure(target_ns, args.reps, batch)
            print(f"{name} {median:.4f} {lo:.4f} {hi:.4f} {iters}", flush=True)
        del buf
    finally:
        shm.close()
        shm.unlink()


if __name__ == "__main__":
    main()
