//! Single-process rows: fields, uncontended `fetch_add`, opening. Each
//! pair runs interleaved (`measure_pair`).

use std::ffi::CString;
use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release, SeqCst};
use std::sync::atomic::{AtomicI32, AtomicU32};

use crate::harness::{measure, measure_pair, time_loop, watchdog, Cfg};
use crate::report::{Comparison, Target};
use crate::sys::RawSeg;
use crate::types::{Counter, Foo, Scratch};

/// Distance between independent words of a raw mapping: two cache lines,
/// which also keeps the adjacent-line prefetcher out.
const SLOT: usize = 128;

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    field_rows(cfg, out);
    fetch_add_row(cfg, out);
    notify_row(cfg, out);
    open_row(cfg, out);
}

/// `notify()` with nobody waiting, the call that announces field writes:
/// beside the floor of a version bump that checks for waiters (a `SeqCst`
/// `fetch_add` and a `SeqCst` load of the waiter count).
fn notify_row(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("notify") {
        return;
    }
    watchdog::row("notify");
    let seg = RawSeg::create("notify", 4096);
    let version: &AtomicU64 = seg.at(0);
    let waiters: &AtomicU32 = seg.at(64);
    let region = Scratch::new("notify");
    let foo = Foo::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Foo");
    let (baseline, ours) = measure_pair(
        cfg,
        cfg.local_target,
        |n| {
            time_loop(n, |_| {
                version.fetch_add(1, SeqCst);
                black_box(waiters.load(SeqCst));
            })
        },
        |n| {
            time_loop(n, |_| {
                black_box(foo.notify());
            })
        },
    );
    out.push(Comparison {
        name: "notify",
        ours_what: "`foo.notify()`, nobody waiting".into(),
        baseline_what: "AtomicU64::fetch_add(SeqCst) + AtomicU32::load(SeqCst), raw mapping".into(),
        ours,
        baseline,
        target: Target::AtMost(1.5),
        note: "what announcing field writes costs".into(),
        probes: None,
        size: None,
    });
}

fn field_rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    let seg = RawSeg::create("fields", 4096);
    let raw: &AtomicI32 = seg.at(SLOT);
    let region = Scratch::new("fields");
    let foo = Foo::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Foo");
    let t = cfg.local_target;
    if cfg.wants("field_get") {
        watchdog::row("field_get");
        // A sum of loads, so none is dead; throughput, as users read a field in a loop.
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| {
                let mut sum = 0i32;
                let took = time_loop(n, |_| sum = sum.wrapping_add(raw.load(Acquire)));
                black_box(sum);
                took
            },
            |n| {
                let mut sum = 0i32;
                let took = time_loop(n, |_| sum = sum.wrapping_add(foo.bar.get()));
                black_box(sum);
                took
            },
        );
        out.push(Comparison {
            name: "field_get",
            ours_what: "`foo.bar.get()` (i32)".into(),
            baseline_what: "AtomicI32::load(Acquire), raw /dev/shm mapping".into(),
            ours,
            baseline,
            target: Target::AtMost(1.2),
            note: "throughput".into(),
            probes: None,
            size: None,
        });
    }
    if cfg.wants("field_set") {
        watchdog::row("field_set");
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| time_loop(n, |i| raw.store(i as i32, Release)),
            |n| time_loop(n, |i| foo.bar.set(i as i32)),
        );
        out.push(Comparison {
            name: "field_set",
            ours_what: "`foo.bar.set(v)` (i32)".into(),
            baseline_what: "AtomicI32::store(Release), raw /dev/shm mapping".into(),
            ours,
            baseline,
            target: Target::AtMost(1.2),
            note: "throughput".into(),
            probes: None,
            size: None,
        });
    }
}

fn fetch_add_row(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("fetch_add_uncontended") {
        return;
    }
    watchdog::row("fetch_add_uncontended");
    let seg = RawSeg::create("fetch-add", 4096);
    let raw: &AtomicU64 = seg.at(0);
    let region = Scratch::new("fetch-add");
    let counter = Counter::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Counter");
    let (baseline, ours) = measure_pair(
        cfg,
        cfg.local_target,
        |n| {
            time_loop(n, |_| {
                raw.fetch_add(1, AcqRel);
            })
        },
        |n| {
            time_loop(n, |_| {
                counter.count.fetch_add(1);
            })
        },
    );
    out.push(Comparison {
        name: "fetch_add_uncontended",
        ours_what: "`c.count.fetch_add(1)` (u64), 1 process".into(),
        baseline_what: "AtomicU64::fetch_add(1, AcqRel), raw mapping".into(),
        ours,
        baseline,
        target: Target::AtMost(1.2),
        note: String::new(),
        probes: None,
        size: None,
    });
}

fn open_row(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("open_shm") {
        return;
    }
    watchdog::row("open_shm");
    let region = Scratch::new("open");
    drop(
        Foo::options()
            .create_new(true)
            .open_shm(&region.0)
            .expect("create Foo"),
    );
    // The raw object gets the length of ours, so both map the same size.
    let len = std::fs::metadata(format!("/dev/shm/{}", region.0))
        .expect("stat region")
        .len() as usize;
    let seg = RawSeg::create("open", len);
    let raw_name = CString::new(seg.name()).expect("shm name");
    let (baseline, ours) = measure_pair(
        cfg,
        cfg.local_target,
        |n| time_loop(n, |_| raw_open_close(&raw_name, false)),
        |n| {
            time_loop(n, |_| {
                let foo = Foo::open_shm(&region.0).expect("open Foo");
                black_box(&foo);
            })
        },
    );
    // How much of the difference is the first touch of the mapping (ours
    // reads the header's state word through it): the baseline plus a
    // one-byte read.
    let touched = measure(cfg, cfg.local_target, |n| {
        time_loop(n, |_| raw_open_close(&raw_name, true))
    });
    out.push(Comparison {
        name: "open_shm",
        ours_what: "`Foo::open_shm(name)` of an existing region + drop".into(),
        baseline_what: format!("shm_open+fstat+mmap+munmap+close ({len} B object)"),
        ours,
        baseline,
        target: Target::AtMost(1.5),
        note: format!(
            "baseline + reading 1 byte of the mapping: {}",
            crate::report::fmt_ns(touched.median)
        ),
        probes: None,
        size: None,
    });
}

/// Opens an existing shm object, maps it whole (and reads its first byte
/// if `touch`), unmaps and closes it.
fn raw_open_close(name: &CString, touch: bool) {
    // SAFETY: `name` is NUL-terminated; the mapping is fresh, at least one
    // page long (the object is), read only through a volatile byte read
    // (every bit pattern is a valid u8) and unmapped before the descriptor
    // closes; `st` is plain data that fstat fills.
    unsafe {
        let fd = libc::shm_open(name.as_ptr(), libc::O_RDWR, 0);
        assert!(fd >= 0, "shm_open: {}", std::io::Error::last_os_error());
        let mut st: libc::stat = std::mem::zeroed();
        assert_eq!(libc::fstat(fd, &mut st), 0);
        let len = st.st_size as usize;
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert!(
            p != libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        if touch {
            black_box(p.cast::<u8>().read_volatile());
        }
        black_box(p);
        libc::munmap(p, len);
        libc::close(fd);
    }
}
