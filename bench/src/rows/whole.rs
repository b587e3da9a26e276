//! Whole-struct rows: `snapshot` and `update`, each beside the
//! hand-written seqlock (and, for `update`, the robust mutex a writer
//! takes). Each pair runs interleaved (`measure_pair`).

use std::hint::black_box;

use crate::harness::{measure_pair, time_loop, watchdog, Cfg};
use crate::report::{Comparison, Target};
use crate::seqlock::{SeqLock, SEQLOCK_DATA};
use crate::sys::{RawSeg, RobustMutex};
use crate::types::{Big, Scratch, Small};

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    snapshot_rows(cfg, out);
    update_row(cfg, out);
}

fn snapshot_rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    let seg = RawSeg::create("seqlock", SEQLOCK_DATA + size_of::<Big>());
    let t = cfg.local_target;
    if cfg.wants("snapshot_16") {
        watchdog::row("snapshot_16");
        let value = Small { a: 1, b: 2, c: 3 };
        let lock = SeqLock::<Small>::new(&seg);
        lock.write(&value);
        let region = Scratch::new("snapshot-16");
        let small = Small::options()
            .create_new(true)
            .initial(value)
            .open_shm(&region.0)
            .expect("open Small");
        let mut copy = Small::default();
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| {
                time_loop(n, |_| {
                    lock.read_into(&mut copy);
                    black_box(&mut copy);
                })
            },
            |n| {
                time_loop(n, |_| {
                    let copy = small.snapshot();
                    black_box(&copy);
                })
            },
        );
        assert_eq!(small.snapshot(), value);
        out.push(Comparison {
            name: "snapshot_16",
            ours_what: "`small.snapshot()`, 16 B (i32, i32, u64)".into(),
            baseline_what: "seqlock read: seq Acquire, 16 B copy, fence, seq".into(),
            ours,
            baseline,
            target: Target::AtMost(1.5),
            note: String::new(),
            probes: None,
        });
    }
    if cfg.wants("snapshot_4k") {
        watchdog::row("snapshot_4k");
        let value = Big {
            data: std::array::from_fn(|i| i as u64),
        };
        let lock = SeqLock::<Big>::new(&seg);
        lock.write(&value);
        let region = Scratch::new("snapshot-4k");
        let big = Big::options()
            .create_new(true)
            .initial(value)
            .open_shm(&region.0)
            .expect("open Big");
        let mut copy = Big { data: [0; 512] };
        let mut into = Big { data: [0; 512] };
        // Like for like: the baseline reads into an existing buffer, and so
        // does `snapshot_into`. `snapshot()` returns 4 KiB by value, which
        // costs Rust a second 4 KiB copy (into the caller's slot): an
        // information row below shows it.
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| {
                time_loop(n, |_| {
                    lock.read_into(&mut copy);
                    black_box(&mut copy);
                })
            },
            |n| {
                time_loop(n, |_| {
                    big.snapshot_into(&mut into);
                    black_box(&mut into);
                })
            },
        );
        let (_, by_value) = measure_pair(
            cfg,
            t,
            |n| {
                time_loop(n, |_| {
                    lock.read_into(&mut copy);
                    black_box(&mut copy);
                })
            },
            |n| {
                time_loop(n, |_| {
                    let copy = big.snapshot();
                    black_box(&copy);
                })
            },
        );
        assert_eq!(big.snapshot(), value);
        out.push(Comparison {
            name: "snapshot_4k_by_value",
            ours_what: "`let v = big.snapshot()`, 4 KiB returned by value".into(),
            baseline_what: "seqlock read: seq Acquire, 4 KiB memcpy, fence, seq".into(),
            ours: by_value,
            baseline,
            target: Target::Info,
            note: "includes the 4 KiB move of the return value; see snapshot_4k".into(),
            probes: None,
        });
        out.push(Comparison {
            name: "snapshot_4k",
            ours_what: "`big.snapshot_into(&mut v)`, 4 KiB ([u64; 512])".into(),
            baseline_what: "seqlock read: seq Acquire, 4 KiB memcpy, fence, seq".into(),
            ours,
            baseline,
            target: Target::AtMost(1.3),
            note: String::new(),
            probes: None,
        });
    }
}

/// The closure of the update rows: changes two of the three fields.
#[inline(always)]
fn bump(v: &mut Small) {
    v.a = v.a.wrapping_add(1);
    v.c = v.c.wrapping_add(1);
}

fn update_row(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("update_16") {
        return;
    }
    watchdog::row("update_16");
    // The seqlock's sequence at 0, its value at 64, the mutex at 128.
    let seg = RawSeg::create("update", 4096);
    let lock = SeqLock::<Small>::new(&seg);
    // SAFETY: the seqlock uses bytes 0..8 and 64..80; the mutex alone uses 128..
    let mutex = unsafe { RobustMutex::init(&seg, 2 * SEQLOCK_DATA) };
    let region = Scratch::new("update-16");
    let small = Small::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Small");
    let (baseline, ours) = measure_pair(
        cfg,
        cfg.local_target,
        |n| {
            time_loop(n, |_| {
                mutex.lock();
                let mut v = lock.read_as_writer();
                bump(&mut v);
                lock.write(&v);
                mutex.unlock();
            })
        },
        |n| time_loop(n, |_| small.update(bump)),
    );
    assert!(small.snapshot().c > 0, "update() published nothing");
    out.push(Comparison {
        name: "update_16",
        ours_what: "`small.update(|v| { v.a += 1; v.c += 1 })`, uncontended".into(),
        baseline_what: "robust pshared pthread mutex + seqlock write".into(),
        ours,
        baseline,
        target: Target::AtMost(2.0),
        note: String::new(),
        probes: None,
    });
}
