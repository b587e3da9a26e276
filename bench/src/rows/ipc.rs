//! Two-process rows: contended `fetch_add`, spin ping-pong through two
//! fields, and `update` + `wait_for_change` ping-pong against the raw spin
//! ping-pong (cross-CPU) and against a raw futex (cross-CPU and same CPU).
//! The child is this binary re-run as `shm-bench --child <mode> ...`
//! (see `child.rs`); the first round trip is the handshake.

use std::hint::spin_loop;
use std::process::Child;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::{Duration, Instant};

use shm_runtime::Shared;

use crate::harness::{
    measure_pair, measure_round_trip, time_loop, watchdog, Cfg, Figure, RoundTrip,
};
use crate::report::{Comparison, Target};
use crate::sys::{self, futex_wait, futex_wake, RawSeg, CHILD_CPU, PARENT_CPU};
use crate::types::{Counter, Foo, Scratch};
use crate::xcpu;

/// Increments per process per round of the contended `fetch_add` rows.
pub const FETCH_ADD_OPS: u64 = 1_000_000;
/// Words of the contended `fetch_add` control mapping (two lines apart).
pub const CTL_COUNTER: usize = 0;
pub const CTL_GO: usize = 128;
pub const CTL_DONE: usize = 256;
pub const CTL_READY: usize = 384;
/// Tells a child to stop: never a real value.
pub const STOP_U32: u32 = u32::MAX;
pub const STOP_I32: i32 = -1;
pub const STOP_U64: u64 = u64::MAX;
/// How long the parent of a blocking ping-pong waits for an echo before it
/// gives up (the child, idle while the other pair runs, just waits again).
pub const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if cfg.wants("fetch_add_contended") {
        watchdog::row("fetch_add_contended");
        let (baseline, ours, probes, attempts) = xcpu::bracketed(
            cfg.xcpu_attempts,
            || contended_fetch_add(cfg, None),
            || {
                let region = Scratch::new("contended");
                let counter = Counter::options()
                    .create_new(true)
                    .open_shm(&region.0)
                    .expect("open Counter");
                contended_fetch_add(cfg, Some((&counter, &region.0)))
            },
        );
        out.push(Comparison {
            name: "fetch_add_contended",
            ours_what: "`c.count.fetch_add(1)`, 2 processes x 1M, count asserted".into(),
            baseline_what: "AtomicU64::fetch_add, same setup, count asserted".into(),
            ours,
            baseline,
            target: Target::AtMost(1.2),
            note: attempts_note("wall / 2M ops", attempts),
            probes: Some(probes),
            size: None,
        });
    }
    if cfg.wants("spin_pingpong") {
        watchdog::row("spin_pingpong");
        let (baseline, ours, probes, attempts) = xcpu::bracketed(
            cfg.xcpu_attempts,
            || {
                let seg = RawSeg::create("spin2", 4096);
                let child = sys::spawn_child(CHILD_CPU, "spin2_raw", &[seg.name()]);
                measure_round_trip(cfg, RawSpin2 { seg, child, seq: 0 })
            },
            || {
                let region = Scratch::new("spin2");
                let foo = Foo::options()
                    .create_new(true)
                    .open_shm(&region.0)
                    .expect("open Foo");
                let child = sys::spawn_child(CHILD_CPU, "spin2_ours", &[&region.0]);
                measure_round_trip(cfg, OursSpin2 { foo, child, seq: 0 })
            },
        );
        out.push(Comparison {
            name: "spin_pingpong",
            ours_what: "round trip: `bar.set(v)`, spin on `baz.get()`; child copies".into(),
            baseline_what: "same through 2 adjacent AtomicU32, raw mapping".into(),
            ours,
            baseline,
            target: Target::AtMost(1.2),
            note: attempts_note("round trip, bare spin", attempts),
            probes: Some(probes),
            size: None,
        });
    }
    if cfg.wants("wait_pingpong") {
        watchdog::row("wait_pingpong");
        // The spinning child must be gone before ours starts on its CPU, so
        // the halves run one after the other, unlike the notify pairs.
        let (baseline, ours, probes, attempts) = xcpu::bracketed(
            cfg.xcpu_attempts,
            || {
                let seg = RawSeg::create("wait-spin2", 4096);
                let child = sys::spawn_child(CHILD_CPU, "spin2_raw", &[seg.name()]);
                measure_round_trip(cfg, RawSpin2 { seg, child, seq: 0 })
            },
            || {
                let region = Scratch::new("wait");
                let foo = Foo::options()
                    .create_new(true)
                    .open_shm(&region.0)
                    .expect("open Foo");
                let child = sys::spawn_child(CHILD_CPU, "notify_ours", &[&region.0]);
                measure_round_trip(cfg, OursNotify { foo, child, seq: 0 })
            },
        );
        out.push(Comparison {
            name: "wait_pingpong",
            ours_what: "round trip: `update(|f| f.bar = v)`, `wait_for_change` until `baz == v`"
                .into(),
            baseline_what: "bare spin through 2 adjacent AtomicU32 (spin_pingpong's)".into(),
            ours,
            baseline,
            target: Target::AtMost(4.0),
            note: attempts_note("child on the other CPU; a wait against a spin", attempts),
            probes: Some(probes),
            size: None,
        });
    }
    for (name, cpu) in [
        ("notify_pingpong", CHILD_CPU),
        ("notify_pingpong_samecpu", PARENT_CPU),
    ] {
        if !cfg.wants(name) {
            continue;
        }
        watchdog::row(name);
        let same_cpu = cpu == PARENT_CPU;
        let where_ = if same_cpu {
            "child on the same CPU"
        } else {
            "child on the other CPU"
        };
        let (baseline, ours, probes, note) = if same_cpu {
            let (b, o) = notify_pair(cfg, cpu);
            (b, o, None, format!("{where_}; reps interleaved"))
        } else {
            let (b, o, p, attempts) =
                xcpu::bracketed_pair(cfg.xcpu_attempts, || notify_pair(cfg, cpu));
            let note = attempts_note(&format!("{where_}; reps interleaved"), attempts);
            (b, o, Some(p), note)
        };
        out.push(Comparison {
            name,
            ours_what: "round trip: `update(|f| f.bar = v)`, `wait_for_change` until `baz == v`"
                .into(),
            baseline_what: "AtomicU32 + FUTEX_WAIT/FUTEX_WAKE (shared), raw mapping".into(),
            ours,
            baseline,
            target: Target::AtMost(1.3),
            note,
            probes,
            size: None,
        });
    }
}

/// The blocking ping-pongs, raw futex and ours, with both children alive at
/// once (each sleeps while the other pair runs) and their repetitions
/// interleaved: wake-up costs on this VM drift with its idle-polling state,
/// and interleaving exposes both to the same drift.
fn notify_pair(cfg: &Cfg, cpu: usize) -> (Figure, Figure) {
    let seg = RawSeg::create("futex", 4096);
    let child = sys::spawn_child(cpu, "futex_raw", &[seg.name()]);
    let mut raw = RawFutex { seg, child, seq: 0 };
    let region = Scratch::new("notify");
    let foo = Foo::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Foo");
    let child = sys::spawn_child(cpu, "notify_ours", &[&region.0]);
    let mut ours = OursNotify { foo, child, seq: 0 };
    raw.round_trip(); // handshakes: each returns once its child is up
    ours.round_trip();
    let figures = measure_pair(
        cfg,
        cfg.ipc_target,
        |n| time_loop(n, |_| raw.round_trip()),
        |n| time_loop(n, |_| ours.round_trip()),
    );
    raw.finish();
    ours.finish();
    figures
}

fn attempts_note(note: &str, attempts: usize) -> String {
    if attempts > 1 {
        format!("{note}; {attempts} attempts")
    } else {
        note.to_owned()
    }
}

/// Both processes do [`FETCH_ADD_OPS`] increments per round, the count is
/// asserted exact after each; the figure is wall time / all increments.
/// With `ours` = None the counter is the raw word in the control mapping.
fn contended_fetch_add(cfg: &Cfg, ours: Option<(&Shared<Counter>, &str)>) -> Figure {
    let ctl = RawSeg::create("fetch-add-ctl", 4096);
    let child = match ours {
        None => sys::spawn_child(CHILD_CPU, "fetch_add_raw", &[ctl.name()]),
        Some((_, region)) => sys::spawn_child(CHILD_CPU, "fetch_add_ours", &[ctl.name(), region]),
    };
    let raw: &AtomicU64 = ctl.at(CTL_COUNTER);
    let (go, done, ready): (&AtomicU64, &AtomicU64, &AtomicU64) =
        (ctl.at(CTL_GO), ctl.at(CTL_DONE), ctl.at(CTL_READY));
    while ready.load(Acquire) == 0 {
        spin_loop();
    }
    let mut generation = 0u64;
    let mut round = || {
        match ours {
            None => raw.store(0, Relaxed),
            Some((c, _)) => c.count.set(0),
        }
        generation += 1;
        let started = Instant::now();
        go.store(generation, Release);
        match ours {
            None => {
                for _ in 0..FETCH_ADD_OPS {
                    raw.fetch_add(1, AcqRel);
                }
            }
            Some((c, _)) => {
                for _ in 0..FETCH_ADD_OPS {
                    c.count.fetch_add(1);
                }
            }
        }
        while done.load(Acquire) != generation {
            spin_loop();
        }
        let took = started.elapsed();
        let count = match ours {
            None => raw.load(Acquire),
            Some((c, _)) => c.count.get(),
        };
        assert_eq!(count, 2 * FETCH_ADD_OPS, "lost or extra increments");
        took
    };
    round(); // warm-up
    let ns = (0..cfg.reps)
        .map(|_| round().as_nanos() as f64 / (2 * FETCH_ADD_OPS) as f64)
        .collect();
    go.store(STOP_U64, Release);
    sys::reap(child, "fetch_add");
    Figure::from_samples(ns, FETCH_ADD_OPS)
}

/// Raw spin ping-pong: set `ping` (offset 0), spin until the child copied
/// it into `pong` (offset 4).
struct RawSpin2 {
    seg: RawSeg,
    child: Child,
    seq: u32,
}

impl RoundTrip for RawSpin2 {
    #[inline(always)]
    fn round_trip(&mut self) {
        let (ping, pong): (&AtomicU32, &AtomicU32) = (self.seg.at(0), self.seg.at(4));
        let v = self.seq + 1;
        ping.store(v, Release);
        while pong.load(Acquire) != v {}
        self.seq = v;
    }

    fn finish(self) {
        self.seg.at::<AtomicU32>(0).store(STOP_U32, Release);
        sys::reap(self.child, "spin2_raw");
    }
}

/// Ours: the same through `foo.bar` and `foo.baz`.
struct OursSpin2 {
    foo: Shared<Foo>,
    child: Child,
    seq: i32,
}

impl RoundTrip for OursSpin2 {
    #[inline(always)]
    fn round_trip(&mut self) {
        let v = self.seq + 1;
        self.foo.bar.set(v);
        while self.foo.baz.get() != v {}
        self.seq = v;
    }

    fn finish(self) {
        self.foo.bar.set(STOP_I32);
        sys::reap(self.child, "spin2_ours");
    }
}

/// Raw futex ping-pong: make the word odd and wake the child, sleep until
/// it made it even (it wakes us). Both sides always call FUTEX_WAKE.
struct RawFutex {
    seg: RawSeg,
    child: Child,
    seq: u32,
}

impl RoundTrip for RawFutex {
    #[inline(always)]
    fn round_trip(&mut self) {
        let word: &AtomicU32 = self.seg.at(0);
        let odd = self.seq.wrapping_add(1);
        word.store(odd, Release);
        futex_wake(word);
        loop {
            let v = word.load(Acquire);
            if v == odd.wrapping_add(1) {
                break;
            }
            futex_wait(word, v);
        }
        self.seq = odd.wrapping_add(1);
    }

    fn finish(self) {
        let word: &AtomicU32 = self.seg.at(0);
        word.store(STOP_U32, Release);
        futex_wake(word);
        sys::reap(self.child, "futex_raw");
    }
}

/// Ours: `update` sets `bar`, then `wait_for_change` until the child's
/// `update` copied it into `baz`.
struct OursNotify {
    foo: Shared<Foo>,
    child: Child,
    seq: i32,
}

impl RoundTrip for OursNotify {
    #[inline(always)]
    fn round_trip(&mut self) {
        let v = self.seq + 1;
        self.foo.update(|f| f.bar = v);
        loop {
            // Version first, then the state: a change after this read moves
            // the version past `seen`, so the wait cannot miss it.
            let seen = self.foo.version();
            if self.foo.baz.get() == v {
                break;
            }
            self.foo
                .wait_for_change(seen, ECHO_TIMEOUT)
                .expect("the child's echo");
        }
        self.seq = v;
    }

    fn finish(self) {
        self.foo.update(|f| f.bar = STOP_I32);
        sys::reap(self.child, "notify_ours");
    }
}
