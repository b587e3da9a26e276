//! Zenoh rows: a region kept in step on another "host" by shm-zenoh,
//! beside a raw Zenoh put -> subscriber callback of the same payload, in
//! the same run, over one TCP link on loopback.
//!
//! The parent (CPU 0) publishes; the child (`--child zenoh`, CPU 1) holds
//! its own regions, mirrored from the parent's, and answers on an ack key.
//! Each side has one Zenoh session, `BridgeConfig`'s (router mode since
//! issue 18, item 5; the figures in docs/zenoh.md were taken in peer
//! mode), carrying both the raw and the bridge series. Latencies are one way:
//! the parent stamps CLOCK_MONOTONIC into the payload (or the region)
//! right before the `put` (or the `update`), and the child subtracts it
//! from the time it sees the message (the raw callback) or the state
//! (its thread woken from `wait_for_change` on the mirrored region); then
//! it acks, and the parent sends the next one. Four series, interleaved
//! message by message:
//!
//! - `raw`: `publisher.put(bytes)` -> the child's subscriber callback: the
//!   floor.
//! - `raw_wake`: the same, the callback handing the time to a thread
//!   through a channel: the floor plus the thread wake-up every mirror
//!   reader pays.
//! - `now`: `region.update(..)` then `publisher.publish_now()` in the
//!   updating thread (watching thread off) -> the child's mirror applies
//!   it -> its thread wakes from `wait_for_change` and reads the region.
//! - `watch`: `region.update(..)` only; the publisher's own thread notices
//!   (`wait_for_change`) and sends: the path of `shm publish`.
//!
//! Throughput: M updates as fast as the publishing side goes, until the
//! child's region (or raw subscriber) holds the last one.

use std::io::{BufRead, BufReader, Write};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use shm_runtime::{OpenOptions, Shared, SharedState};
use shm_zenoh::{BridgeConfig, Mirror, MirrorOptions, PublishOptions, Publisher};
use zenoh::qos::CongestionControl;
use zenoh::Wait;

use crate::harness::{watchdog, Cfg, Figure};
use crate::report::{Comparison, Target};
use crate::sys::{self, monotonic_ns, CHILD_CPU};
use crate::types::Scratch;

/// The payload: 32 bytes, the same struct on both paths.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Stamped {
    /// The message's number.
    pub seq: u64,
    /// CLOCK_MONOTONIC when it was sent (latency rounds).
    pub stamp_ns: u64,
    /// 0: a latency round, ack this one; else ack only `seq == until`.
    pub until: u64,
    pub spare: u64,
}

const PORT: u16 = 17501;
const KEYS: [&str; 4] = [
    "shm-bench/raw",
    "shm-bench/raw-wake",
    "shm-bench/now",
    "shm-bench/watch",
];
const LATENCY_ROWS: [&str; 5] = [
    "zenoh_publish_now_p50",
    "zenoh_publish_now_p99",
    "zenoh_shm_publish_p50",
    "zenoh_shm_publish_p99",
    "zenoh_publish_now_vs_wake_p50",
];
const THROUGHPUT_ROWS: [&str; 2] = ["zenoh_throughput", "zenoh_throughput_shm_publish"];
const ACK_KEY: &str = "shm-bench/ack";
const RAW: u8 = 0;
const RAW_WAKE: u8 = 1;
const NOW: u8 = 2;
const WATCH: u8 = 3;
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

fn endpoint() -> String {
    format!("tcp/127.0.0.1:{PORT}")
}

fn encode(s: &Stamped) -> Vec<u8> {
    shm_runtime::as_bytes(s).to_vec()
}

/// (series, seq, value): value is a latency in ns, or a count.
fn ack_bytes(series: u8, seq: u64, value: u64) -> Vec<u8> {
    let mut b = vec![series];
    b.extend_from_slice(&seq.to_le_bytes());
    b.extend_from_slice(&value.to_le_bytes());
    b
}

fn parse_ack(b: &[u8]) -> Option<(u8, u64, u64)> {
    let series = *b.first()?;
    let seq = u64::from_le_bytes(b.get(1..9)?.try_into().ok()?);
    let value = u64::from_le_bytes(b.get(9..17)?.try_into().ok()?);
    Some((series, seq, value))
}

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    let latency = LATENCY_ROWS.iter().any(|r| cfg.wants(r));
    let throughput = THROUGHPUT_ROWS.iter().any(|r| cfg.wants(r));
    if !latency && !throughput {
        return;
    }
    watchdog::row("zenoh");
    let mut bench = Parent::start();
    if latency {
        watchdog::row("zenoh_latency");
        let rounds = if cfg.quick { 1_000 } else { 5_000 };
        let (lat, half_rtt) = bench.latencies(rounds);
        let q = |s: u8, p: f64| percentile(&lat[s as usize], p);
        let figure = |s: u8, p: f64| point(q(s, p), lat[s as usize].len());
        let wake_note = format!(
            "one way, n={rounds} each, interleaved; raw+thread wake p50 {} p99 {}; raw RTT/2 p50 {}",
            crate::report::fmt_ns(q(RAW_WAKE, 0.5)),
            crate::report::fmt_ns(q(RAW_WAKE, 0.99)),
            crate::report::fmt_ns(percentile(&half_rtt, 0.5))
        );
        let rows = [
            (
                "zenoh_publish_now_p50",
                NOW,
                0.5,
                Target::AtMost(1.2),
                "p50: `update` + `publisher.publish_now()` -> visible in the mirror's region (its waiter woken)",
            ),
            (
                "zenoh_publish_now_p99",
                NOW,
                0.99,
                Target::Info,
                "p99: `update` + `publish_now()` -> visible in the mirror's region",
            ),
            (
                "zenoh_shm_publish_p50",
                WATCH,
                0.5,
                Target::Info,
                "p50: `update` -> publisher thread notices -> visible in the mirror's region",
            ),
            (
                "zenoh_shm_publish_p99",
                WATCH,
                0.99,
                Target::Info,
                "p99: `update` -> publisher thread notices -> visible in the mirror's region",
            ),
        ];
        for (name, series, p, target, what) in rows {
            if !cfg.wants(name) {
                continue;
            }
            out.push(Comparison {
                name,
                ours_what: what.into(),
                baseline_what: format!(
                    "p{}: raw `put` of the same 32 B -> subscriber callback",
                    (p * 100.0) as u32
                ),
                ours: figure(series, p),
                baseline: figure(RAW, p),
                target,
                note: wake_note.clone(),
                probes: None,
                size: None,
            });
        }
        if cfg.wants("zenoh_publish_now_vs_wake_p50") {
            out.push(Comparison {
                name: "zenoh_publish_now_vs_wake_p50",
                ours_what: "p50: `update` + `publish_now()` -> visible in the mirror's region"
                    .into(),
                baseline_what: "p50: raw `put` -> callback -> a thread woken through a channel"
                    .into(),
                ours: figure(NOW, 0.5),
                baseline: figure(RAW_WAKE, 0.5),
                target: Target::Info,
                note: "both include waking the reading thread".into(),
                probes: None,
                size: None,
            });
        }
    }
    if throughput {
        watchdog::row("zenoh_throughput");
        let updates = if cfg.quick { 5_000 } else { 20_000 };
        let reps = if cfg.quick { 3 } else { 5 };
        let mut runs: [Vec<(f64, u64)>; 4] = Default::default();
        for _ in 0..reps {
            for series in [RAW, NOW, WATCH] {
                runs[series as usize].push(bench.throughput(series, updates));
            }
        }
        let per_update = |s: u8| {
            let ns: Vec<f64> = runs[s as usize].iter().map(|r| r.0).collect();
            Figure::from_samples(ns, updates)
        };
        let delivered = |s: u8| {
            let mut d: Vec<u64> = runs[s as usize].iter().map(|r| r.1).collect();
            d.sort_unstable();
            d[d.len() / 2]
        };
        let rate = |f: &Figure| 1e9 / f.median;
        let (raw, now, watch) = (per_update(RAW), per_update(NOW), per_update(WATCH));
        if cfg.wants("zenoh_throughput") {
            out.push(Comparison {
            name: "zenoh_throughput",
            ours_what: format!(
                "{updates} x (`update` + `publish_now()`) until the mirror holds the last: {:.0} updates/s, {} states applied",
                rate(&now),
                delivered(NOW)
            ),
            baseline_what: format!(
                "{updates} raw `put`s of 32 B until the subscriber has the last: {:.0}/s, {} received",
                rate(&raw),
                delivered(RAW)
            ),
            ours: now,
            baseline: raw,
            target: Target::Info,
            note: format!("time per update, median of {reps}; reliable, congestion control Block"),
            probes: None,
            size: None,
        });
        }
        if cfg.wants("zenoh_throughput_shm_publish") {
            out.push(Comparison {
            name: "zenoh_throughput_shm_publish",
            ours_what: format!(
                "{updates} x `update` (publisher thread sends what it sees) until the mirror holds the last: {:.0} updates/s, {} states sent",
                rate(&watch),
                delivered(WATCH)
            ),
            baseline_what: format!("{updates} raw `put`s of 32 B (as above)"),
            ours: watch,
            baseline: raw,
            target: Target::Info,
            note: "updates between two looks of the publisher arrive as one state".into(),
            probes: None,
            size: None,
        });
        }
    }
    bench.finish();
    sys::pin_to(sys::PARENT_CPU);
}

/// A figure for one percentile (no spread: the samples are single messages).
fn point(ns: f64, n: usize) -> Figure {
    Figure {
        median: ns,
        min: ns,
        max: ns,
        iters: n as u64,
    }
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * p).round() as usize]
}

/// The publishing side and its child.
struct Parent {
    _session: zenoh::Session,
    raw: [zenoh::pubsub::Publisher<'static>; 2],
    now: (Shared<Stamped>, Publisher),
    watch: (Shared<Stamped>, Publisher),
    acks: mpsc::Receiver<(u8, u64, u64)>,
    _ack_sub: zenoh::pubsub::Subscriber<()>,
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    seq: u64,
    _regions: Vec<Scratch>,
}

impl Parent {
    fn start() -> Parent {
        // Pinned as the other rows are (this process to CPU 0, the child to
        // CPU 1, each with all its Zenoh threads): on this VM that is
        // faster for both paths than letting them move (p50 ratio about
        // 1.1 pinned, 1.2 unpinned; raw floor 64 vs 67 us), and steadier.
        // SHM_BENCH_ZENOH_UNPINNED=1 lets them move.
        let pinned = std::env::var_os("SHM_BENCH_ZENOH_UNPINNED").is_none();
        if !pinned {
            sys::unpin();
        }
        let session = BridgeConfig {
            listen: vec![endpoint()],
            ..BridgeConfig::default()
        }
        .open_session()
        .expect("parent session");
        let raw = [RAW, RAW_WAKE].map(|s| {
            session
                .declare_publisher(KEYS[s as usize])
                // The QoS shm-zenoh's publisher uses. (Without `express`,
                // a lone put waits for batching: ~1 ms one way here.)
                .congestion_control(CongestionControl::Block)
                .express(true)
                .wait()
                .expect("raw publisher")
        });
        let (tx, acks) = mpsc::channel();
        let ack_sub = session
            .declare_subscriber(ACK_KEY)
            .callback(move |sample| {
                if let Some(ack) = parse_ack(&sample.payload().to_bytes()) {
                    let _ = tx.send(ack);
                }
            })
            .wait()
            .expect("ack subscriber");
        let regions: Vec<Scratch> = [
            "zenoh-now",
            "zenoh-watch",
            "zenoh-mirror-now",
            "zenoh-mirror-watch",
        ]
        .iter()
        .map(|t| Scratch::new(t))
        .collect();
        let region = |name: &str| {
            OpenOptions::<Stamped>::new()
                .create_new(true)
                .open_shm(name)
                .expect("parent region")
        };
        let now_region = region(&regions[0].0);
        let watch_region = region(&regions[1].0);
        let now_pub = Publisher::shared(
            &session,
            KEYS[NOW as usize],
            &now_region,
            PublishOptions {
                watch: false,
                ..PublishOptions::default()
            },
        )
        .expect("publisher (publish_now)");
        let watch_pub = Publisher::shared(
            &session,
            KEYS[WATCH as usize],
            &watch_region,
            PublishOptions::default(),
        )
        .expect("publisher (watching)");
        let mut child = sys::spawn_child_piped(
            pinned.then_some(CHILD_CPU),
            "zenoh",
            &[&endpoint(), &regions[2].0, &regions[3].0],
        );
        let stdout = child.stdout.take().expect("child stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("child's ready line");
        assert_eq!(line.trim(), "ready", "zenoh child: {line:?}");
        let stdin = child.stdin.take();
        Parent {
            _session: session,
            raw,
            now: (now_region, now_pub),
            watch: (watch_region, watch_pub),
            acks,
            _ack_sub: ack_sub,
            child,
            stdin,
            seq: 0,
            _regions: regions,
        }
    }

    /// Sends one message of `series` numbered `seq` (stamped now).
    fn send(&mut self, series: u8, seq: u64, until: u64) {
        let stamp = |s: &mut Stamped| {
            s.seq = seq;
            s.until = until;
            s.stamp_ns = if until == 0 { monotonic_ns() } else { 0 };
        };
        match series {
            RAW | RAW_WAKE => {
                let mut s = Stamped::default();
                stamp(&mut s);
                self.raw[series as usize]
                    .put(encode(&s))
                    .wait()
                    .expect("raw put");
            }
            NOW => {
                self.now.0.update(stamp);
                self.now.1.publish_now().expect("publish_now");
            }
            _ => self.watch.0.update(stamp),
        }
    }

    fn wait_ack(&self, series: u8, seq: u64) -> u64 {
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.acks.recv_timeout(left) {
                Ok((s, q, value)) if s == series && q == seq => return value,
                Ok(_) => {}
                Err(_) => {
                    panic!("zenoh: no ack for series {series} seq {seq} within {ACK_TIMEOUT:?}")
                }
            }
        }
    }

    /// One-way latencies (ns) per series, `rounds` each after a warm-up.
    /// One-way latencies (ns) per series, `rounds` each after a warm-up;
    /// and the raw series' round trips halved (the peer's method: put ->
    /// callback -> put -> callback -> this thread).
    fn latencies(&mut self, rounds: usize) -> ([Vec<f64>; 4], Vec<f64>) {
        let warm = rounds / 10;
        let mut out: [Vec<f64>; 4] = Default::default();
        let mut half_rtt = Vec::new();
        for round in 0..warm + rounds {
            for series in [RAW, RAW_WAKE, NOW, WATCH] {
                self.seq += 1;
                let seq = self.seq;
                let sent = Instant::now();
                self.send(series, seq, 0);
                let ns = self.wait_ack(series, seq);
                if round >= warm {
                    out[series as usize].push(ns as f64);
                    if series == RAW {
                        half_rtt.push(sent.elapsed().as_nanos() as f64 / 2.0);
                    }
                }
            }
        }
        (out, half_rtt)
    }

    /// `updates` messages of `series` as fast as they go; returns the time
    /// per update (ns) until the child holds the last, and how many states
    /// (or messages) the child got.
    fn throughput(&mut self, series: u8, updates: u64) -> (f64, u64) {
        let first = self.seq + 1;
        let last = self.seq + updates;
        self.seq = last;
        let started = Instant::now();
        for seq in first..=last {
            self.send(series, seq, last);
        }
        let got = self.wait_ack(series, last);
        (started.elapsed().as_nanos() as f64 / updates as f64, got)
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for the zenoh child");
        assert!(status.success(), "zenoh child failed: {status}");
    }
}

/// The child: `--child zenoh ENDPOINT MIRROR_NOW MIRROR_WATCH`.
pub fn child(args: &[String]) {
    let session = BridgeConfig {
        connect: vec![args[0].clone()],
        ..BridgeConfig::default()
    }
    .open_session()
    .expect("child session");
    let acker = Arc::new(
        session
            .declare_publisher(ACK_KEY)
            .congestion_control(CongestionControl::Block)
            .express(true)
            .wait()
            .expect("ack publisher"),
    );
    let ack = {
        let acker = Arc::clone(&acker);
        move |series: u8, seq: u64, value: u64| {
            acker
                .put(ack_bytes(series, seq, value))
                .wait()
                .expect("ack");
        }
    };

    // raw: ack from the callback.
    let received = Arc::new(AtomicU64::new(0));
    let _raw = {
        let ack = ack.clone();
        let received = Arc::clone(&received);
        session
            .declare_subscriber(KEYS[RAW as usize])
            .callback(move |sample| {
                let now = monotonic_ns();
                let count = received.fetch_add(1, Relaxed) + 1;
                let bytes = sample.payload().to_bytes();
                let s: Stamped = shm_runtime::from_bytes(&bytes).expect("a Stamped");
                if s.until == 0 {
                    received.store(0, Relaxed);
                    ack(RAW, s.seq, now - s.stamp_ns);
                } else if s.seq == s.until {
                    received.store(0, Relaxed);
                    ack(RAW, s.seq, count);
                }
            })
            .wait()
            .expect("raw subscriber")
    };
    // raw_wake: the callback hands over to a thread.
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let _raw_wake = session
        .declare_subscriber(KEYS[RAW_WAKE as usize])
        .callback(move |sample| {
            let _ = tx.send(sample.payload().to_bytes().into_owned());
        })
        .wait()
        .expect("raw-wake subscriber");
    {
        let ack = ack.clone();
        std::thread::spawn(move || {
            while let Ok(bytes) = rx.recv() {
                let now = monotonic_ns();
                let s: Stamped = shm_runtime::from_bytes(&bytes).expect("a Stamped");
                ack(RAW_WAKE, s.seq, now - s.stamp_ns);
            }
        });
    }
    // now, watch: mirrors into the child's own regions, read by a thread
    // woken from wait_for_change.
    let mut mirrors = Vec::new();
    for (series, name) in [(NOW, &args[1]), (WATCH, &args[2])] {
        let local = Arc::new(
            OpenOptions::<Stamped>::new()
                .open_shm(name)
                .expect("child region"),
        );
        let mirror = Arc::new(
            Mirror::shared(
                &session,
                KEYS[series as usize],
                &local,
                MirrorOptions::default(),
            )
            .expect("mirror"),
        );
        mirror
            .wait_synced(Duration::from_secs(10))
            .expect("mirror synced");
        let ack = ack.clone();
        let counted = Arc::clone(&mirror);
        std::thread::spawn(move || {
            let mut seen = local.version();
            let mut last = 0;
            let mut applied_before = counted.status().applied;
            loop {
                seen = match local.wait_for_change(seen, Duration::from_secs(1)) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                let now = monotonic_ns();
                let s = local.snapshot();
                if s.seq == last {
                    continue;
                }
                last = s.seq;
                if s.until == 0 {
                    ack(series, s.seq, now - s.stamp_ns);
                    applied_before = counted.status().applied;
                } else if s.seq == s.until {
                    let applied = counted.status().applied;
                    ack(series, s.seq, applied - applied_before);
                    applied_before = applied;
                }
            }
        });
        mirrors.push(mirror);
    }
    println!("ready");
    std::io::stdout().flush().expect("stdout");
    // Until the parent closes our stdin.
    let mut sink = String::new();
    while std::io::stdin()
        .read_line(&mut sink)
        .map(|n| n > 0)
        .unwrap_or(false)
    {}
    // Exit without tearing down threads blocked in waits.
    std::process::exit(0);
}
