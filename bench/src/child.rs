//! The other process of the two-process rows: `shm-bench --child <mode> <args>`.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::rows::ipc::{
    CTL_COUNTER, CTL_DONE, CTL_GO, CTL_READY, ECHO_TIMEOUT, FETCH_ADD_OPS, STOP_I32, STOP_U32,
    STOP_U64,
};
use crate::sys::{self, futex_wait, futex_wake, RawSeg};
use crate::types::{Counter, Foo};
use crate::xcpu;

pub fn main(args: &[String]) {
    sys::child_setup();
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("child: missing argument {i} in {args:?}"))
    };
    match arg(0) {
        "probe" => xcpu::child(arg(1)),
        "spin2_raw" => spin2_raw(arg(1)),
        "spin2_ours" => spin2_ours(arg(1)),
        "futex_raw" => futex_raw(arg(1)),
        "notify_ours" => notify_ours(arg(1)),
        "zenoh" => crate::rows::zenoh::child(&args[1..]),
        "fetch_add_raw" => {
            let ctl = RawSeg::open(arg(1));
            let counter: &AtomicU64 = ctl.at(CTL_COUNTER);
            fetch_add(&ctl, || {
                counter.fetch_add(1, AcqRel);
            });
        }
        "fetch_add_ours" => {
            let ctl = RawSeg::open(arg(1));
            let counter = open_existing::<Counter>(arg(2));
            fetch_add(&ctl, || {
                counter.count.fetch_add(1);
            });
        }
        mode => panic!("child: unknown mode {mode}"),
    }
}

fn open_existing<T: shm_runtime::SharedState>(name: &str) -> shm_runtime::Shared<T> {
    shm_runtime::OpenOptions::<T>::new()
        .create(false)
        .open_shm(name)
        .unwrap_or_else(|e| panic!("child: {e}"))
}

/// Copies every new value of `ping` (offset 0) into `pong` (offset 4).
fn spin2_raw(name: &str) {
    let seg = RawSeg::open(name);
    let (ping, pong): (&AtomicU32, &AtomicU32) = (seg.at(0), seg.at(4));
    let mut last = 0;
    loop {
        let v = ping.load(Acquire);
        if v == STOP_U32 {
            return;
        }
        if v != last {
            pong.store(v, Release);
            last = v;
        }
    }
}

/// Copies every new value of `foo.bar` into `foo.baz`.
fn spin2_ours(name: &str) {
    let foo = open_existing::<Foo>(name);
    let mut last = 0;
    loop {
        let v = foo.bar.get();
        if v == STOP_I32 {
            return;
        }
        if v != last {
            foo.baz.set(v);
            last = v;
        }
    }
}

/// Makes every odd value of the word even (+1) and wakes the parent;
/// sleeps on the futex otherwise.
fn futex_raw(name: &str) {
    let seg = RawSeg::open(name);
    let word: &AtomicU32 = seg.at(0);
    loop {
        let v = word.load(Acquire);
        if v == STOP_U32 {
            return;
        }
        if v & 1 == 1 {
            word.store(v + 1, Release);
            futex_wake(word);
        } else {
            futex_wait(word, v); // returns at once if the word moved meanwhile
        }
    }
}

/// Copies every new `bar` into `baz` with `update`; sleeps in
/// `wait_for_change` otherwise.
fn notify_ours(name: &str) {
    let foo = open_existing::<Foo>(name);
    let mut last = 0;
    loop {
        let seen = foo.version();
        let v = foo.bar.get();
        if v == STOP_I32 {
            return;
        }
        if v != last {
            foo.update(|f| f.baz = v);
            last = v;
            continue;
        }
        // A timeout only means the parent is measuring the other pair;
        // this process dies with the parent (PR_SET_PDEATHSIG).
        let _ = foo.wait_for_change(seen, ECHO_TIMEOUT);
    }
}

/// For each new generation in `go`: `inc` FETCH_ADD_OPS times, then report
/// the generation in `done`. `ready` says the child is up.
fn fetch_add(ctl: &RawSeg, mut inc: impl FnMut()) {
    let (go, done, ready): (&AtomicU64, &AtomicU64, &AtomicU64) =
        (ctl.at(CTL_GO), ctl.at(CTL_DONE), ctl.at(CTL_READY));
    ready.store(1, Release);
    let mut generation = 0;
    loop {
        let g = go.load(Acquire);
        if g == STOP_U64 {
            return;
        }
        if g == generation {
            std::hint::spin_loop();
            continue;
        }
        for _ in 0..FETCH_ADD_OPS {
            inc();
        }
        done.store(g, Release);
        generation = g;
    }
}
