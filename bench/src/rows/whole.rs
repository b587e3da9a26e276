//! Whole-struct rows by size (16 B, 4 KiB, 64 KiB, 1 MiB): `snapshot`,
//! `update` and `store`, each beside the hand-written seqlock (and, for
//! `update` and `store`, the robust mutex a hand-written writer takes).
//! Each pair runs interleaved (`measure_pair`).
//!
//! Every struct lives on the heap here; only `snapshot()` and `store(v)` by
//! value move one through the stack, and never one above [`STACK_MAX`].

use std::hint::black_box;
use std::time::Duration;

use shm_runtime::{OpenOptions, Shared};

use crate::harness::{measure, measure_pair, time_loop, watchdog, Cfg, Figure};
use crate::report::{fmt_ns, Comparison, Op, SizePoint, Target};
use crate::seqlock::{SeqLock, SEQLOCK_DATA};
use crate::sys::{RawSeg, RobustMutex};
use crate::types::{Payload, Scratch, Small, Struct1m, Struct4k, Struct64k};

/// The largest struct a row moves through the stack.
const STACK_MAX: usize = 64 << 10;

/// Issue 12's bound on `update` and `store` of every size but 16 B.
const WRITE_TARGET: Target = Target::AtMost(3.0);
/// Issue 12's bound on `snapshot` of 4 KiB and larger (issue 4's for 4 KiB).
const SNAPSHOT_TARGET: Target = Target::AtMost(1.3);
/// Issue 4's bound on `snapshot` of 16 B, which issue 12 keeps.
const SNAPSHOT_16_TARGET: Target = Target::AtMost(1.5);

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    snapshot_row::<Small>(cfg, out, "snapshot_16", Read::ByValue);
    snapshot_row::<Struct4k>(cfg, out, "snapshot_4k", Read::Into);
    snapshot_row::<Struct4k>(cfg, out, "snapshot_4k_by_value", Read::ByValue);
    snapshot_row::<Struct64k>(cfg, out, "snapshot_64k", Read::ByValue);
    snapshot_row::<Struct1m>(cfg, out, "snapshot_1m", Read::Boxed);
    update_16(cfg, out);
    update_row::<Struct4k>(cfg, out, "update_4k");
    update_row::<Struct64k>(cfg, out, "update_64k");
    update_row::<Struct1m>(cfg, out, "update_1m");
    store_row::<Small>(cfg, out, "store_16", Write::ByValue);
    store_row::<Struct4k>(cfg, out, "store_4k", Write::FromRef);
    store_row::<Struct64k>(cfg, out, "store_64k", Write::FromRef);
    store_row::<Struct1m>(cfg, out, "store_1m", Write::FromRef);
}

/// Both sides of a row: our region, and the baseline's raw mapping with
/// the seqlock (sequence at 0, value at [`SEQLOCK_DATA`]) and after it the
/// writers' mutex (at [`mutex_offset`]); both hold the same filled value.
struct Setup<T: Payload> {
    shared: Shared<T>,
    _region: Scratch,
    seg: RawSeg,
    value: Box<T>,
}

impl<T: Payload> Setup<T> {
    fn new(name: &str) -> Self {
        let region = Scratch::new(name);
        let shared = OpenOptions::<T>::new()
            .create_new(true)
            .open_shm(&region.0)
            .unwrap_or_else(|e| panic!("{name}: open: {e}"));
        let mut value = shared.snapshot_boxed();
        value.fill();
        shared.store_from(&value);
        let seg = RawSeg::create(
            name,
            mutex_offset::<T>() + size_of::<libc::pthread_mutex_t>(),
        );
        SeqLock::<T>::new(&seg).write_from(&value);
        Setup {
            shared,
            _region: region,
            seg,
            value,
        }
    }

    fn seqlock(&self) -> SeqLock<'_, T> {
        SeqLock::new(&self.seg)
    }

    /// A fresh heap `T` holding the filled value (no `T` on the stack).
    fn boxed(&self) -> Box<T> {
        self.shared.snapshot_boxed()
    }
}

/// Where the writers' mutex lives in a row's raw mapping: past the
/// seqlock's value, on a line of its own.
fn mutex_offset<T>() -> usize {
    (SEQLOCK_DATA + size_of::<T>()).next_multiple_of(128)
}

/// How the `ours` side of a snapshot row reads.
#[derive(Clone, Copy, Debug)]
enum Read {
    /// `let v = s.snapshot()`: the struct returned by value.
    ByValue,
    /// `s.snapshot_into(&mut v)`: into an existing value.
    Into,
    /// `let v = s.snapshot_boxed()`: into a new heap allocation.
    Boxed,
}

fn snapshot_row<T: Payload>(cfg: &Cfg, out: &mut Vec<Comparison>, name: &'static str, how: Read) {
    if !cfg.wants(name) {
        return;
    }
    watchdog::row(name);
    let t = cfg.local_target;
    let setup = Setup::<T>::new(name);
    let lock = setup.seqlock();
    let shared = &setup.shared;
    let mut copy = setup.boxed();
    let mut into = setup.boxed();
    // Like for like: the baseline reads into an existing buffer.
    let baseline = |n| {
        time_loop(n, |_| {
            lock.read_into(&mut copy);
            black_box(&mut *copy);
        })
    };
    let mut snapshot_into = |n| {
        time_loop(n, |_| {
            shared.snapshot_into(&mut into);
            black_box(&mut *into);
        })
    };
    let (baseline, ours, what, note) = match how {
        Read::ByValue => {
            let (b, o) = snapshot_by_value(cfg, shared, baseline);
            (b, o, "`let v = s.snapshot()`", String::new())
        }
        Read::Into => {
            let (b, o) = measure_pair(cfg, t, baseline, &mut snapshot_into);
            (b, o, "`s.snapshot_into(&mut v)`", String::new())
        }
        Read::Boxed => {
            let (b, o) = measure_pair(cfg, t, baseline, |n| {
                time_loop(n, |_| {
                    let v = shared.snapshot_boxed();
                    black_box(&v);
                })
            });
            let into = measure(cfg, t, &mut snapshot_into);
            let note = format!(
                "a new Box each call (by value would need the stack); snapshot_into: {}",
                fmt_ns(into.median)
            );
            (b, o, "`let v = s.snapshot_boxed()`", note)
        }
    };
    assert!(
        *shared.snapshot_boxed() == *setup.value && *copy == *setup.value,
        "{name}: a snapshot or the seqlock's read differs from the value stored"
    );
    out.push(Comparison {
        name,
        ours_what: format!("{what}, {} {}", T::SIZE, T::SHAPE),
        baseline_what: format!("seqlock read: seq Acquire, {} memcpy, fence, seq", T::SIZE),
        ours,
        baseline,
        target: if size_of::<T>() <= 16 {
            SNAPSHOT_16_TARGET
        } else {
            SNAPSHOT_TARGET
        },
        note,
        probes: None,
        // One snapshot a size on the chart: by value where the stack allows.
        size: (!matches!(how, Read::Into)).then_some(SizePoint {
            op: Op::Snapshot,
            bytes: size_of::<T>(),
        }),
    });
}

/// `snapshot()` by value beside `baseline`, in a frame of its own: a `T`
/// on the stack only while this runs, and never one above [`STACK_MAX`].
#[inline(never)]
fn snapshot_by_value<T: Payload>(
    cfg: &Cfg,
    shared: &Shared<T>,
    baseline: impl FnMut(u64) -> Duration,
) -> (Figure, Figure) {
    assert!(
        size_of::<T>() <= STACK_MAX,
        "a {} B struct by value",
        size_of::<T>()
    );
    measure_pair(cfg, cfg.local_target, baseline, |n| {
        time_loop(n, |_| {
            let v = shared.snapshot();
            black_box(&v);
        })
    })
}

/// The closure of `update_16`: changes two of the three fields.
#[inline(always)]
fn bump(v: &mut Small) {
    v.a = v.a.wrapping_add(1);
    v.c = v.c.wrapping_add(1);
}

/// The closure of the other update rows: changes one word.
#[inline(always)]
fn bump_head<T: Payload>(v: &mut T) {
    let head = v.head();
    *head = head.wrapping_add(1);
}

fn update_16(cfg: &Cfg, out: &mut Vec<Comparison>) {
    let name = "update_16";
    if !cfg.wants(name) {
        return;
    }
    watchdog::row(name);
    let setup = Setup::<Small>::new(name);
    let lock = setup.seqlock();
    // SAFETY: the seqlock uses bytes 0..8 and SEQLOCK_DATA..SEQLOCK_DATA + 16,
    // which end before `mutex_offset`; this is the mapping's only mutex.
    let mutex = unsafe { RobustMutex::init(&setup.seg, mutex_offset::<Small>()) };
    let small = &setup.shared;
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
    assert!(
        small.snapshot().c > setup.value.c,
        "update() published nothing"
    );
    out.push(Comparison {
        name,
        ours_what: "`small.update(|v| { v.a += 1; v.c += 1 })`, uncontended".into(),
        baseline_what: "robust pshared pthread mutex + seqlock write".into(),
        ours,
        baseline,
        target: Target::AtMost(2.0),
        note: String::new(),
        probes: None,
        size: Some(SizePoint {
            op: Op::Update,
            bytes: size_of::<Small>(),
        }),
    });
}

fn update_row<T: Payload>(cfg: &Cfg, out: &mut Vec<Comparison>, name: &'static str) {
    if !cfg.wants(name) {
        return;
    }
    watchdog::row(name);
    let setup = Setup::<T>::new(name);
    let lock = setup.seqlock();
    // SAFETY: the seqlock uses bytes 0..8 and SEQLOCK_DATA..SEQLOCK_DATA +
    // size_of::<T>(), which end before `mutex_offset`; this is the
    // mapping's only mutex.
    let mutex = unsafe { RobustMutex::init(&setup.seg, mutex_offset::<T>()) };
    let shared = &setup.shared;
    // The hand-written writer's private copy, as `update`'s.
    let mut copy = setup.boxed();
    let start = *copy.head();
    let (baseline, ours) = measure_pair(
        cfg,
        cfg.local_target,
        |n| {
            time_loop(n, |_| {
                mutex.lock();
                lock.read_as_writer_into(&mut copy);
                bump_head(&mut *copy);
                lock.write_from(&copy);
                mutex.unlock();
            })
        },
        |n| time_loop(n, |_| shared.update(bump_head)),
    );
    assert!(
        *shared.snapshot_boxed().head() > start,
        "{name}: update() published nothing"
    );
    out.push(Comparison {
        name,
        ours_what: format!(
            "`s.update(|v| v.{} += 1)`, {} {}",
            T::HEAD,
            T::SIZE,
            T::SHAPE
        ),
        baseline_what: format!(
            "robust pshared mutex + {} copy out + seqlock write",
            T::SIZE
        ),
        ours,
        baseline,
        target: WRITE_TARGET,
        note: String::new(),
        probes: None,
        size: Some(SizePoint {
            op: Op::Update,
            bytes: size_of::<T>(),
        }),
    });
}

/// How the `ours` side of a store row passes the struct.
#[derive(Clone, Copy, Debug)]
enum Write {
    /// `s.store(v)`: by value, through the stack.
    ByValue,
    /// `s.store_from(&v)`: from a reference.
    FromRef,
}

fn store_row<T: Payload>(cfg: &Cfg, out: &mut Vec<Comparison>, name: &'static str, how: Write) {
    if !cfg.wants(name) {
        return;
    }
    watchdog::row(name);
    let setup = Setup::<T>::new(name);
    let lock = setup.seqlock();
    // SAFETY: the seqlock uses bytes 0..8 and SEQLOCK_DATA..SEQLOCK_DATA +
    // size_of::<T>(), which end before `mutex_offset`; this is the
    // mapping's only mutex.
    let mutex = unsafe { RobustMutex::init(&setup.seg, mutex_offset::<T>()) };
    let shared = &setup.shared;
    // The whole struct, one word different on every call (both sides).
    let (mut theirs, mut ours_value) = (setup.boxed(), setup.boxed());
    let baseline = |n| {
        time_loop(n, |i| {
            *theirs.head() = i;
            mutex.lock();
            lock.write_from(&theirs);
            mutex.unlock();
        })
    };
    let (baseline, ours, what) = match how {
        Write::ByValue => {
            let (b, o) = store_by_value(cfg, shared, &mut ours_value, baseline);
            (b, o, "`s.store(v)`")
        }
        Write::FromRef => {
            let (b, o) = measure_pair(cfg, cfg.local_target, baseline, |n| {
                time_loop(n, |i| {
                    *ours_value.head() = i;
                    shared.store_from(&ours_value);
                })
            });
            (b, o, "`s.store_from(&v)`")
        }
    };
    assert!(
        *shared.snapshot_boxed() == *ours_value,
        "{name}: the region differs from the value last stored"
    );
    out.push(Comparison {
        name,
        ours_what: format!(
            "{what}, v.{} new each call, {} {}",
            T::HEAD,
            T::SIZE,
            T::SHAPE
        ),
        baseline_what: format!("robust pshared mutex + {} seqlock write", T::SIZE),
        ours,
        baseline,
        target: WRITE_TARGET,
        note: String::new(),
        probes: None,
        size: Some(SizePoint {
            op: Op::Store,
            bytes: size_of::<T>(),
        }),
    });
}

/// `store(v)` by value beside `baseline`, in a frame of its own (see
/// [`snapshot_by_value`]); `value` gets a new head on every call.
#[inline(never)]
fn store_by_value<T: Payload>(
    cfg: &Cfg,
    shared: &Shared<T>,
    value: &mut T,
    baseline: impl FnMut(u64) -> Duration,
) -> (Figure, Figure) {
    assert!(
        size_of::<T>() <= STACK_MAX,
        "a {} B struct by value",
        size_of::<T>()
    );
    measure_pair(cfg, cfg.local_target, baseline, |n| {
        time_loop(n, |i| {
            *value.head() = i;
            shared.store(*value);
        })
    })
}
