//! Timing: warm-up and calibration, repetitions, medians, and the watchdog
//! that turns a hung row into an error instead of a stuck run.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a run is configured (`--quick`, `--filter`, `--reps`).
#[derive(Debug)]
pub struct Cfg {
    /// Repetitions per measurement; the figure is their median.
    pub reps: usize,
    /// How long one repetition of a single-process row lasts.
    pub local_target: Duration,
    /// How long one repetition of a two-process row lasts.
    pub ipc_target: Duration,
    /// Row names must contain one of these (none: every row).
    pub filter: Vec<String>,
    /// Attempts at a cross-CPU row whose probes disagree (see `xcpu`).
    pub xcpu_attempts: usize,
    pub quick: bool,
}

impl Cfg {
    pub fn wants(&self, name: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| name.contains(f.as_str()))
    }
}

/// One measured operation: nanoseconds per operation over the repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Operations per repetition.
    pub iters: u64,
}

impl Figure {
    /// A figure from per-repetition values (ns per op).
    pub fn from_samples(mut ns: Vec<f64>, iters: u64) -> Figure {
        assert!(!ns.is_empty(), "no samples");
        ns.sort_by(f64::total_cmp);
        let n = ns.len();
        let median = if n % 2 == 1 {
            ns[n / 2]
        } else {
            (ns[n / 2 - 1] + ns[n / 2]) / 2.0
        };
        Figure {
            median,
            min: ns[0],
            max: ns[n - 1],
            iters,
        }
    }

    /// The spread of the repetitions, relative to the median.
    pub fn spread(&self) -> f64 {
        (self.max - self.min) / self.median
    }
}

/// Grows a batch until it takes at least a quarter of `target` (which also
/// warms caches, branch predictors and the other process), and returns the
/// batch size that makes one repetition last about `target`.
pub fn calibrate(target: Duration, batch: &mut impl FnMut(u64) -> Duration) -> u64 {
    let warm_min = (target / 4).max(Duration::from_millis(5));
    let mut n: u64 = 8;
    loop {
        let took = batch(n);
        if took >= warm_min {
            let per_op = took.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per_op) as u64).max(1);
        }
        // At least x2, at most x64 per step.
        let grow = (warm_min.as_secs_f64() / took.as_secs_f64().max(1e-9)).clamp(2.0, 64.0);
        n = (n as f64 * grow).ceil() as u64;
    }
}

/// Calibrates `batch`, then times `cfg.reps` repetitions of it.
/// `batch(n)` runs `n` operations and returns how long they took.
pub fn measure(cfg: &Cfg, target: Duration, mut batch: impl FnMut(u64) -> Duration) -> Figure {
    let iters = calibrate(target, &mut batch);
    let ns = (0..cfg.reps)
        .map(|_| per_op_ns(batch(iters), iters))
        .collect();
    Figure::from_samples(ns, iters)
}

/// Measures two single-process operations with their repetitions
/// interleaved (baseline, ours, baseline, ours, ...), so that a slow drift
/// of the machine (frequency, a neighbour) weighs on both alike.
/// Returns (baseline, ours).
pub fn measure_pair(
    cfg: &Cfg,
    target: Duration,
    mut baseline: impl FnMut(u64) -> Duration,
    mut ours: impl FnMut(u64) -> Duration,
) -> (Figure, Figure) {
    let base_iters = calibrate(target, &mut baseline);
    let ours_iters = calibrate(target, &mut ours);
    let (mut base_ns, mut ours_ns) = (Vec::new(), Vec::new());
    for _ in 0..cfg.reps {
        base_ns.push(per_op_ns(baseline(base_iters), base_iters));
        ours_ns.push(per_op_ns(ours(ours_iters), ours_iters));
    }
    (
        Figure::from_samples(base_ns, base_iters),
        Figure::from_samples(ours_ns, ours_iters),
    )
}

fn per_op_ns(took: Duration, iters: u64) -> f64 {
    took.as_nanos() as f64 / iters as f64
}

/// Times `n` calls of `op` (given the iteration number).
#[inline(always)]
pub fn time_loop(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        op(i);
    }
    started.elapsed()
}

/// One side of a two-process round trip.
pub trait RoundTrip {
    /// Sends one message and returns when the echo is back.
    fn round_trip(&mut self);
    /// Tells the child to exit and reaps it.
    fn finish(self);
}

/// Measures a round trip: the first one is the handshake (it returns only
/// once the child is up and echoing), then calibration and repetitions.
pub fn measure_round_trip(cfg: &Cfg, mut peer: impl RoundTrip) -> Figure {
    peer.round_trip();
    let figure = measure(cfg, cfg.ipc_target, |n| time_loop(n, |_| peer.round_trip()));
    peer.finish();
    figure
}

/// The watchdog: a row that makes no progress for `ROW_LIMIT` (a child that
/// died, a lost wake-up) ends the run with a message naming the row, and
/// the children die with it (`PR_SET_PDEATHSIG`).
pub mod watchdog {
    use super::*;

    const ROW_LIMIT: Duration = Duration::from_secs(120);

    /// Milliseconds since `START` at which the current row began; 0: idle.
    static ROW_STARTED_MS: AtomicU64 = AtomicU64::new(0);
    static ROW_NAME: Mutex<String> = Mutex::new(String::new());
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

    pub fn start() {
        let start = *START.get_or_init(Instant::now);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let began = ROW_STARTED_MS.load(Relaxed);
            let now = start.elapsed().as_millis() as u64;
            if began != 0 && now.saturating_sub(began) > ROW_LIMIT.as_millis() as u64 {
                let name = ROW_NAME.lock().map(|n| n.clone()).unwrap_or_default();
                eprintln!("shm-bench: row `{name}` made no progress for {ROW_LIMIT:?}; giving up");
                std::process::exit(2);
            }
        });
    }

    /// Marks the start of a row.
    pub fn row(name: &str) {
        if let Ok(mut current) = ROW_NAME.lock() {
            name.clone_into(&mut current);
        }
        let now = START
            .get()
            .map_or(1, |s| s.elapsed().as_millis() as u64 + 1);
        ROW_STARTED_MS.store(now, Relaxed);
    }
}
