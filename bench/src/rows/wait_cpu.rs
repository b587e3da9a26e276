//! The CPU a `wait_for_change` burns when nothing changes: the calling
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) over the wall time it
//! waited, for waits that time out. A wait that spins before it sleeps
//! shows here; one that sleeps at once costs a few system calls.

use std::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

use shm_runtime::Error;

use crate::harness::{watchdog, Cfg, Figure};
use crate::report::{Comparison, Target};
use crate::sys::{futex_wait_for, thread_cpu_time, RawSeg};
use crate::types::{Foo, Scratch};

/// The timeout of every wait.
const TIMEOUT: Duration = Duration::from_millis(10);

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("wait_timeout_cpu") {
        return;
    }
    watchdog::row("wait_timeout_cpu");
    let region = Scratch::new("wait-cpu");
    let foo = Foo::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Foo");
    let seg = RawSeg::create("wait-cpu", 4096);
    let word: &AtomicU32 = seg.at(0);
    // Waits per repetition: ~100 ms of waiting (~40 ms with --quick).
    let waits: u64 = if cfg.quick { 4 } else { 10 };
    let ours = |_| {
        let seen = foo.version();
        match foo.wait_for_change(seen, TIMEOUT) {
            Err(Error::Timeout { .. }) => {}
            other => panic!("wait_timeout_cpu: expected a timeout, got {other:?}"),
        }
    };
    // The floor: a raw FUTEX_WAIT with the same timeout on a word nobody
    // changes (again after an early return, which a signal could cause).
    let raw = |_| {
        let deadline = Instant::now() + TIMEOUT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            futex_wait_for(word, 0, left);
        }
    };
    let (mut cpu, mut wall, mut raw_share) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.reps {
        let (c, w) = cpu_and_wall(waits, ours);
        cpu.push(c);
        wall.push(w);
        let (c, w) = cpu_and_wall(waits, raw);
        raw_share.push(c / w);
    }
    let raw_share = Figure::from_samples(raw_share, waits).median;
    out.push(Comparison {
        name: "wait_timeout_cpu",
        ours_what: format!(
            "thread CPU time of `wait_for_change(v, {TIMEOUT:?})` timing out, nothing changing"
        ),
        baseline_what: "wall time of the same wait (ratio: CPU share)".into(),
        ours: Figure::from_samples(cpu, waits),
        baseline: Figure::from_samples(wall, waits),
        target: Target::ShareAtMost(0.01),
        note: format!(
            "a raw FUTEX_WAIT with the same timeout: {:.3}% CPU",
            raw_share * 100.0
        ),
        probes: None,
        size: None,
    });
}

/// Runs `wait` `n` times; returns its thread CPU time and its wall time
/// per call, in ns.
fn cpu_and_wall(n: u64, mut wait: impl FnMut(u64)) -> (f64, f64) {
    let (cpu_start, wall_start) = (thread_cpu_time(), Instant::now());
    for i in 0..n {
        wait(i);
    }
    let (cpu, wall) = (thread_cpu_time() - cpu_start, wall_start.elapsed());
    (
        cpu.as_nanos() as f64 / n as f64,
        wall.as_nanos() as f64 / n as f64,
    )
}
