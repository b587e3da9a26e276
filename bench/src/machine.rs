//! What the run ran on, and how busy the rest of the machine was meanwhile.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The header lines: CPU model, cores, kernel, compiler, load.
pub fn describe() -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = crate::sys::online_cpus();
    let kernel = read_trim("/proc/sys/kernel/osrelease");
    let load = read_trim("/proc/loadavg");
    vec![
        format!(
            "machine: {cpu} | {cores} CPUs | Linux {kernel} | {}",
            env!("SHM_BENCH_RUSTC")
        ),
        format!(
            "load average at start: {} | Instant::now() ~{:.1} ns",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            clock_ns()
        ),
    ]
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path).map_or_else(|_| "?".into(), |s| s.trim().to_owned())
}

fn clock_ns() -> f64 {
    let n = 200_000u32;
    let started = Instant::now();
    for _ in 0..n {
        black_box(Instant::now());
    }
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

/// CPU time used by the whole machine and by this process and its reaped
/// children, to tell afterwards how much other processes used.
#[derive(Clone, Copy, Debug)]
pub struct CpuUse {
    machine_busy: Duration,
    steal: Duration,
    ours: Duration,
    at: Instant,
}

impl CpuUse {
    pub fn now() -> CpuUse {
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let ticks: Vec<f64> = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let tick = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
        // user nice system idle iowait irq softirq steal
        let busy = tick(0) + tick(1) + tick(2) + tick(5) + tick(6);
        CpuUse {
            machine_busy: Duration::from_secs_f64(busy / hz),
            steal: Duration::from_secs_f64(tick(7) / hz),
            ours: rusage(libc::RUSAGE_SELF) + rusage(libc::RUSAGE_CHILDREN),
            at: Instant::now(),
        }
    }

    /// "other processes used X CPU-s (Y% of the machine) in Z s".
    pub fn others_since(&self, start: &CpuUse) -> String {
        let wall = self.at.duration_since(start.at).as_secs_f64();
        let busy = self
            .machine_busy
            .saturating_sub(start.machine_busy)
            .as_secs_f64();
        let ours = self.ours.saturating_sub(start.ours).as_secs_f64();
        let others = (busy - ours).max(0.0);
        let cores = crate::sys::online_cpus() as f64;
        format!(
            "other processes used ~{others:.1} CPU-s ({:.0}% of {cores} CPUs) during the {wall:.1} s run; steal {:.2} s",
            others / (wall * cores) * 100.0,
            self.steal.saturating_sub(start.steal).as_secs_f64()
        )
    }
}

fn rusage(who: i32) -> Duration {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage to write into.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
