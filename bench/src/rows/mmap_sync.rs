//! The peer library: cloudflare's `mmap-sync` (a single-writer, wait-free
//! left-right `Synchronizer` of rkyv archives in /dev/shm), reading and
//! writing the same 16-byte value as `snapshot()` / `update()`.

use std::ffi::OsStr;
use std::hint::black_box;
use std::time::Duration;

use bytecheck::CheckBytes;
use mmap_sync::synchronizer::Synchronizer;
use rkyv::{Archive, Serialize};

use crate::harness::{measure_pair, time_loop, watchdog, Cfg};
use crate::report::{Comparison, Target};
use crate::types::{Scratch, Small};

/// The value: two i32 and a u64, 16 bytes archived, as `Small`.
#[derive(Archive, Serialize, Clone, Copy, Debug, PartialEq)]
#[archive_attr(derive(CheckBytes))]
struct Msg {
    a: i32,
    b: i32,
    c: u64,
}

/// How long a write waits for readers still on the idle copy (their own
/// benchmark uses 10 ns).
const GRACE: Duration = Duration::from_nanos(10);

/// The path prefix of one Synchronizer; its three files go on drop.
struct Files(String);

impl Files {
    fn new(tag: &str) -> Files {
        let files = Files(format!(
            "/dev/shm/shm-bench-{}-mmapsync-{tag}",
            std::process::id()
        ));
        files.remove();
        files
    }

    fn prefix(&self) -> &OsStr {
        self.0.as_ref()
    }

    fn remove(&self) {
        for suffix in ["_state", "_data_0", "_data_1"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0));
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.remove();
    }
}

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("mmap_sync") {
        return;
    }
    let files = Files::new("local");
    let mut writer = Synchronizer::new(files.prefix());
    let mut reader = Synchronizer::new(files.prefix());
    let msg = Msg { a: 1, b: 2, c: 3 };
    writer.write(&msg, GRACE).expect("mmap-sync write");
    let region = Scratch::new("mmap-sync");
    let small = Small::options()
        .create_new(true)
        .initial(Small { a: 1, b: 2, c: 3 })
        .open_shm(&region.0)
        .expect("open Small");
    let t = cfg.local_target;
    if cfg.wants("mmap_sync_read") {
        watchdog::row("mmap_sync_read");
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| {
                let mut sum = 0u64;
                let took = time_loop(n, |_| {
                    // SAFETY: the guard is dropped at once, long before the
                    // writer's grace period could matter (and the writer is idle).
                    let r = unsafe { reader.read::<Msg>(false) }.expect("mmap-sync read");
                    sum = sum.wrapping_add(r.c);
                });
                assert_eq!(sum, 3u64.wrapping_mul(n), "mmap-sync read a wrong value");
                took
            },
            |n| {
                let mut sum = 0u64;
                let took = time_loop(n, |_| sum = sum.wrapping_add(small.snapshot().c));
                assert_eq!(sum, 3u64.wrapping_mul(n), "snapshot read a wrong value");
                took
            },
        );
        out.push(Comparison {
            name: "mmap_sync_read",
            ours_what: "`small.snapshot().c`, 16 B".into(),
            baseline_what: "mmap-sync 2.0 `read::<Msg>(check_bytes=false).c`".into(),
            ours,
            baseline,
            target: Target::Below(1.0),
            note: "without rkyv validation, mmap-sync's fastest read".into(),
            probes: None,
            size: None,
        });
    }
    if cfg.wants("mmap_sync_write") {
        watchdog::row("mmap_sync_write");
        let (baseline, ours) = measure_pair(
            cfg,
            t,
            |n| {
                time_loop(n, |i| {
                    let msg = Msg { a: 1, b: 2, c: i };
                    writer
                        .write(black_box(&msg), GRACE)
                        .expect("mmap-sync write");
                })
            },
            |n| {
                time_loop(n, |i| {
                    small.update(|v| {
                        v.a = 1;
                        v.b = 2;
                        v.c = black_box(i);
                    })
                })
            },
        );
        out.push(Comparison {
            name: "mmap_sync_write",
            ours_what: "`small.update(|v| *v = (1, 2, i))`, 16 B".into(),
            baseline_what: "mmap-sync 2.0 `write(&Msg { 1, 2, i })`".into(),
            ours,
            baseline,
            target: Target::Below(1.0),
            note: "mmap-sync: rkyv serialize + check, wyhash, copy, msync, version swap".into(),
            probes: None,
            size: None,
        });
    }
}
