//! The cross-CPU probe. On this VM a cache-line round trip between the two
//! vCPUs is bimodal, ~80 ns or ~330 ns, switching on a scale of seconds
//! (the host moves the vCPUs between cores that share a cache and cores
//! that do not). A ratio of two cross-CPU rows taken in different modes
//! means nothing, so every such pair is bracketed by probes and rerun when
//! they disagree.

use std::fmt;
use std::hint::spin_loop;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::time::Instant;

use crate::harness::Figure;
use crate::sys::{self, RawSeg, CHILD_CPU};

/// Probes below this many ns are the fast mode, above it the slow one.
const FAST_BELOW_NS: f64 = 200.0;
/// The word's value that tells the probe child to exit (odd: never an echo).
const STOP: u64 = u64::MAX;

/// Median ns of a raw spin round trip to a fresh child on the other CPU:
/// 1,000 round trips of warm-up, then 5 batches of 2,000 (a few ms).
pub fn probe() -> f64 {
    let seg = RawSeg::create("probe", 4096);
    let child = sys::spawn_child(CHILD_CPU, "probe", &[seg.name()]);
    let word: &AtomicU64 = seg.at(0);
    let mut seq = 0u64;
    let mut round_trip = || {
        let odd = seq + 1;
        word.store(odd, Release);
        while word.load(Acquire) != odd + 1 {
            spin_loop();
        }
        seq = odd + 1;
    };
    for _ in 0..1000 {
        round_trip(); // the first returns once the child is up
    }
    let batches = (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..2000 {
                round_trip();
            }
            started.elapsed().as_nanos() as f64 / 2000.0
        })
        .collect();
    word.store(STOP, Release);
    sys::reap(child, "probe");
    Figure::from_samples(batches, 2000).median
}

/// The probe child: makes every odd value of the word even (+1) until STOP.
pub fn child(name: &str) {
    let seg = RawSeg::open(name);
    let word: &AtomicU64 = seg.at(0);
    loop {
        let v = word.load(Acquire);
        if v == STOP {
            return;
        }
        if v & 1 == 1 {
            word.store(v + 1, Release);
        } else {
            spin_loop();
        }
    }
}

/// The probes around a cross-CPU pair: before it, between its two halves
/// (when they run one after the other), after it.
#[derive(Clone, Copy, Debug)]
pub struct Probes {
    pub before: f64,
    pub between: Option<f64>,
    pub after: f64,
}

impl Probes {
    fn all(&self) -> impl Iterator<Item = f64> {
        [Some(self.before), self.between, Some(self.after)]
            .into_iter()
            .flatten()
    }

    /// Whether all probes saw the same placement mode.
    pub fn agree(&self) -> bool {
        let fast = self.before < FAST_BELOW_NS;
        self.all().all(|ns| (ns < FAST_BELOW_NS) == fast)
    }

    fn mode(&self) -> &'static str {
        match (self.agree(), self.before < FAST_BELOW_NS) {
            (false, _) => "MIXED",
            (true, true) => "fast",
            (true, false) => "slow",
        }
    }
}

impl fmt::Display for Probes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let probes: Vec<String> = self.all().map(|ns| format!("{ns:.0}")).collect();
        write!(f, "xcpu {} ns {}", probes.join("|"), self.mode())
    }
}

/// Runs a cross-CPU pair one half after the other (`run_baseline`, then
/// `run_ours`: for children that spin, which cannot share their CPU) with
/// a probe before, between and after; again while the probes disagree, up
/// to `attempts` times. Returns the figures of the last attempt, its
/// probes, and how many attempts it took.
pub fn bracketed(
    attempts: usize,
    mut run_baseline: impl FnMut() -> Figure,
    mut run_ours: impl FnMut() -> Figure,
) -> (Figure, Figure, Probes, usize) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before = probe();
        let baseline = run_baseline();
        let between = Some(probe());
        let ours = run_ours();
        let after = probe();
        let probes = Probes {
            before,
            between,
            after,
        };
        if probes.agree() || attempt >= attempts {
            return (baseline, ours, probes, attempt);
        }
        eprintln!("  ({probes}: placement changed during the pair, rerunning)");
    }
}

/// As [`bracketed`], for a pair measured in one go (`run` returns
/// (baseline, ours), e.g. with interleaved repetitions): probes before and
/// after.
pub fn bracketed_pair(
    attempts: usize,
    mut run: impl FnMut() -> (Figure, Figure),
) -> (Figure, Figure, Probes, usize) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before = probe();
        let (baseline, ours) = run();
        let after = probe();
        let probes = Probes {
            before,
            between: None,
            after,
        };
        if probes.agree() || attempt >= attempts {
            return (baseline, ours, probes, attempt);
        }
        eprintln!("  ({probes}: placement changed during the pair, rerunning)");
    }
}
