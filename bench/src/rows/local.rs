//! Single-process rows: fields, uncontended `fetch_add`, `snapshot`,
//! `update`, opening. Each pair runs interleaved (`measure_pair`).

use std::ffi::CString;
use std::hint::black_box;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::sync::atomic::{fence, AtomicI32, Ordering::Relaxed};

use crate::harness::{measure, measure_pair, time_loop, watchdog, Cfg};
use crate::report::{Comparison, Target};
use crate::sys::RawSeg;
use crate::types::{Big, Counter, Foo, Scratch, Small};

/// Distance between independent words of a raw mapping: two cache lines,
/// which also keeps the adjacent-line prefetcher out.
const SLOT: usize = 128;

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    field_rows(cfg, out);
    fetch_add_row(cfg, out);
    snapshot_rows(cfg, out);
    update_row(cfg, out);
    open_row(cfg, out);
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
    });
}

/// Where a seqlock's value starts in its mapping: the line after the
/// sequence word.
const SEQLOCK_DATA: usize = 64;

/// The hand-written seqlock of the baselines: a sequence word at offset 0
/// (odd while a write is in progress) and a `T` at [`SEQLOCK_DATA`], in a
/// raw shared mapping. Single writer, so a write needs no CAS.
pub struct SeqLock<'m, T: Copy> {
    seq: &'m AtomicU64,
    data: *mut T,
}

impl<'m, T: Copy> SeqLock<'m, T> {
    /// `T` must be plain data, valid for every bit pattern (the callers use
    /// `Small` and `Big`: integers only).
    pub fn new(seg: &'m RawSeg) -> Self {
        assert!(SEQLOCK_DATA + size_of::<T>() <= seg.len());
        // SAFETY: SEQLOCK_DATA + size_of::<T>() is inside the mapping (asserted).
        let data = unsafe { seg.base().add(SEQLOCK_DATA) }.cast::<T>();
        assert_eq!(data as usize % align_of::<T>(), 0);
        SeqLock {
            seq: seg.at(0),
            data,
        }
    }

    /// Sequence load (Acquire), copy, fence (Acquire), sequence load; again
    /// while a write is in progress or overlapped the copy.
    #[inline(always)]
    pub fn read_into(&self, out: &mut T) {
        loop {
            let before = self.seq.load(Acquire);
            if before & 1 == 0 {
                // SAFETY: `data` is valid and aligned for a `T` (checked in
                // `new`), `out` is a distinct local. This is the classic C
                // seqlock's racy plain copy (a data race in Rust's model,
                // which is why the library copies with atomics instead); `T`
                // is valid for every bit pattern and the copy is discarded
                // unless the sequence held.
                unsafe { std::ptr::copy_nonoverlapping(self.data, out, 1) };
                fence(Acquire);
                if self.seq.load(Relaxed) == before {
                    return;
                }
            }
            std::hint::spin_loop();
        }
    }

    /// The current value; for the writer, which no one else writes beside.
    #[inline(always)]
    pub fn read_as_writer(&self) -> T {
        // SAFETY: as in `read_into`; the caller is the only writer, so the
        // value cannot change during the copy.
        unsafe { self.data.read_volatile() }
    }

    /// Sequence store (odd), fence (Release), copy, sequence store (even, Release).
    #[inline(always)]
    pub fn write(&self, value: &T) {
        let s = self.seq.load(Relaxed);
        self.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        // SAFETY: `data` is valid and aligned for a `T`; the caller is the
        // only writer; readers discard what they copy while `seq` is odd.
        unsafe { self.data.write_volatile(*value) };
        self.seq.store(s.wrapping_add(2), Release);
    }
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

/// Makes `m` a process-shared, robust pthread mutex.
///
/// # Safety
///
/// `m` is valid for writes of a `pthread_mutex_t`, suitably aligned, and
/// no thread uses it during the call.
unsafe fn init_robust_mutex(m: *mut libc::pthread_mutex_t) {
    // SAFETY: `attr` is initialised by pthread_mutexattr_init before use and
    // destroyed after; `m` is valid per the caller.
    unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
        assert_eq!(
            libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED),
            0
        );
        assert_eq!(
            libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST),
            0
        );
        assert_eq!(libc::pthread_mutex_init(m, &attr), 0);
        libc::pthread_mutexattr_destroy(&mut attr);
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
    // SAFETY: offset 128 is inside the 4 KiB mapping and 8-aligned, which is
    // enough for a pthread_mutex_t (40 bytes, align 8 on Linux).
    let mutex = unsafe { seg.base().add(2 * SEQLOCK_DATA) }.cast::<libc::pthread_mutex_t>();
    // SAFETY: as above; nothing uses the mutex yet.
    unsafe { init_robust_mutex(mutex) };
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
                // SAFETY: `mutex` was initialised above and lives in the mapping.
                let r = unsafe { libc::pthread_mutex_lock(mutex) };
                if r == libc::EOWNERDEAD {
                    // SAFETY: we hold the mutex (EOWNERDEAD means we got it).
                    unsafe { libc::pthread_mutex_consistent(mutex) };
                }
                let mut v = lock.read_as_writer();
                bump(&mut v);
                lock.write(&v);
                // SAFETY: we hold the mutex.
                unsafe { libc::pthread_mutex_unlock(mutex) };
            })
        },
        |n| time_loop(n, |_| small.update(bump)),
    );
    assert!(small.snapshot().c > 0, "update() published nothing");
    // SAFETY: nobody holds or uses the mutex any more.
    unsafe { libc::pthread_mutex_destroy(mutex) };
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
