//! The crash promise over generated layouts: a writer killed at any step of
//! an `update` or a `store`, whatever the struct's layout, leaves a region
//! that every later reader and writer handles, in the state before or
//! after, and that takes the next update.
//!
//! For each generated layout ([`Scenario`]) and each operation ([`Op`]),
//! the driver ([`run`]) creates a region holding a random value, starts a
//! writer process that changes some spans of scalars and stops at a pause
//! point of the publish (`SHM_RUNTIME_PAUSE_AT`, feature
//! `fault-injection`: every named step, and `stored-<n>` after the `n`th
//! scalar store), SIGKILLs it there, and starts a checker process that:
//!
//! 1. snapshots through a read-only handle (which reads past a stuck
//!    publish without recovering it): before or after;
//! 2. snapshots through a read-write handle (which may recover): before or
//!    after;
//! 3. updates: the bytes it starts from are exactly what the kill point
//!    promises (before, if the journal entry was not yet committed; after,
//!    otherwise), and it stores a third value;
//! 4. snapshots through both handles and a new read-only one: the third
//!    value.
//!
//! Checks run in their own process so that a crash (the SIGSEGV this
//! harness was written for) is a reported failure with its seed, not the
//! death of the test. Everything a case does follows from the run's seed
//! and the layout's index, which every failure prints.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use shm_runtime::RegionOptions;

use crate::layouts::Layout;
use crate::{Rng, Scratch, Target};

/// The first argument that makes a harness binary act as a child.
pub const CHILD: &str = "--crash-child";

/// Far above what any step needs; a case that takes longer has hung.
const PATIENCE: Duration = Duration::from_secs(60);

/// The named pause points of a publish, in order.
pub const STEPS: [&str; 6] = [
    "journal-written",
    "journal-committed",
    "seq-odd",
    "half-applied",
    "seq-even",
    "published",
];

/// How the killed writer changes the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `Region::update` to the new value.
    Update,
    /// `Region::store` of the new value (compared in place above 256
    /// bytes; copied when more ranges differ than a journal lists).
    Store,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Store => "store",
        }
    }

    fn parse(word: &str) -> Option<Op> {
        [Op::Update, Op::Store]
            .into_iter()
            .find(|op| op.name() == word)
    }
}

/// One generated layout with its values; everything follows from `seed`.
#[derive(Debug)]
pub struct Scenario {
    pub seed: u64,
    pub max_size: usize,
    pub layout: Layout,
    /// In a file (else a shm object).
    pub file: bool,
    pub before: Vec<u8>,
    updated: Vec<u8>,
    stored: Vec<u8>,
    /// What the checker's update stores.
    pub later: Vec<u8>,
}

impl Scenario {
    pub fn new(seed: u64, max_size: usize) -> Scenario {
        let mut rng = Rng::new(seed);
        let layout = Layout::random(&mut rng, max_size);
        let before = layout.random_value(&mut rng);
        // A few spans (journaled as ranges), or many (whole copies).
        let spans = |rng: &mut Rng| match rng.range(0..=2) {
            0 => rng.range(1..=3),
            1 => rng.range(4..=8),
            _ => rng.range(9..=40),
        };
        let n = spans(&mut rng);
        let updated = layout.change(&mut rng, &before, n);
        let n = spans(&mut rng);
        let stored = layout.change(&mut rng, &before, n);
        let n = rng.range(1..=4);
        let later = layout.change(&mut rng, &before, n);
        Scenario {
            seed,
            max_size,
            file: rng.percent(50),
            layout,
            before,
            updated,
            stored,
            later,
        }
    }

    /// The value `op` writes.
    pub fn after(&self, op: Op) -> &[u8] {
        match op {
            Op::Update => &self.updated,
            Op::Store => &self.stored,
        }
    }

    /// The journal form `op` takes (as `RawRegion` chooses it).
    pub fn form(&self, op: Op) -> &'static str {
        let ranges = self
            .layout
            .changed_ranges(&self.before, self.after(op))
            .len();
        match (self.layout.size() <= 256, ranges <= 8, op) {
            (true, _, _) => "copies (small)",
            (false, true, _) => "ranges",
            (false, false, Op::Update) => "copies",
            (false, false, Op::Store) => "copies (store's fall-back)",
        }
    }

    /// Where to kill `op`: every named step, and after the first, a random
    /// and the last scalar store.
    pub fn points(&self, op: Op, rng: &mut Rng) -> Vec<String> {
        let stores = self.layout.changed_scalars(&self.before, self.after(op));
        let mut points: Vec<String> = STEPS.iter().map(|s| s.to_string()).collect();
        let mut nths = vec![1, rng.range(1..=stores), stores];
        nths.dedup();
        points.extend(nths.into_iter().map(|n| format!("stored-{n}")));
        points
    }

    fn args(&self) -> [String; 2] {
        [self.seed.to_string(), self.max_size.to_string()]
    }
}

/// What a kill at `point` promises: the update is lost only if the writer
/// died before committing its journal entry.
fn promised<'a>(scenario: &'a Scenario, op: Op, point: &str) -> &'a [u8] {
    if point == "journal-written" {
        &scenario.before
    } else {
        scenario.after(op)
    }
}

/// A run's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub layouts: usize,
    pub max_size: usize,
    /// Run only the layout of this index.
    pub only: Option<usize>,
    /// Layouts checked at once.
    pub jobs: usize,
    /// The harness binary, run with [`CHILD`] as the writer and checker.
    pub program: PathBuf,
}

impl Config {
    /// Settings from `SHM_CRASH_SEED` (default: from the clock),
    /// `SHM_CRASH_LAYOUTS`, `SHM_CRASH_MAX_SIZE` and `SHM_CRASH_ONLY`.
    pub fn from_env(layouts: usize, max_size: usize) -> Config {
        let var = |name: &str| {
            std::env::var(name).ok().map(|v| {
                let v = v.trim();
                let parsed = match v.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => v.parse(),
                };
                parsed.unwrap_or_else(|_| panic!("{name}={v}: expected a number"))
            })
        };
        let seed = var("SHM_CRASH_SEED").unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            Rng::new(now.as_nanos() as u64 ^ u64::from(std::process::id())).next_u64()
        });
        Config {
            seed,
            layouts: var("SHM_CRASH_LAYOUTS").map_or(layouts, |n| n as usize),
            max_size: var("SHM_CRASH_MAX_SIZE").map_or(max_size, |n| n as usize),
            only: var("SHM_CRASH_ONLY").map(|n| n as usize),
            jobs: 2,
            program: std::env::current_exe().expect("the harness binary's path"),
        }
    }

    /// The seed of layout `index`.
    pub fn layout_seed(&self, index: usize) -> u64 {
        Rng::new(self.seed ^ (index as u64).wrapping_mul(0xd1b5_4a32_d192_ed03)).next_u64()
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub layouts: usize,
    pub cases: usize,
    /// Writers killed at their pause point (the others finished first).
    pub kills: usize,
    /// Checkers that died of a signal.
    pub crashes: usize,
    /// Snapshots that were neither before nor after.
    pub torn: usize,
    /// Committed updates that recovery lost (or uncommitted ones it kept).
    pub lost: usize,
    /// Every other failure: a hang, an error, a wrong later value.
    pub other: usize,
    pub smallest: usize,
    pub largest: usize,
    /// Layouts whose size is not a multiple of 16.
    pub odd_sizes: usize,
    /// Cases per journal form.
    pub forms: Vec<(&'static str, usize)>,
    pub failures: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.crashes + self.torn + self.lost + self.other
    }

    fn count_form(&mut self, form: &'static str) {
        match self.forms.iter_mut().find(|(f, _)| *f == form) {
            Some((_, n)) => *n += 1,
            None => self.forms.push((form, 1)),
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let forms: Vec<String> = self.forms.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(
            f,
            "{} layouts ({}..={} bytes, {} not a multiple of 16), {} cases ({}), {} writers \
             killed; {} crashes, {} torn reads, {} lost or phantom updates, {} other failures",
            self.layouts,
            self.smallest,
            self.largest,
            self.odd_sizes,
            self.cases,
            forms.join(", "),
            self.kills,
            self.crashes,
            self.torn,
            self.lost,
            self.other
        )
    }
}

/// How a case failed.
enum Failure {
    Crash(String),
    Torn(String),
    Lost(String),
    Other(String),
}

/// Runs every case of `config`, `config.jobs` layouts at a time.
pub fn run(config: &Config) -> Report {
    let indices: Vec<usize> = match config.only {
        Some(i) => vec![i],
        None => (0..config.layouts).collect(),
    };
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Report {
        smallest: usize::MAX,
        ..Report::default()
    });
    std::thread::scope(|s| {
        for _ in 0..config.jobs.max(1) {
            s.spawn(|| {
                while let Some(&index) = indices.get(next.fetch_add(1, Ordering::Relaxed)) {
                    run_layout(config, index, &report);
                }
            });
        }
    });
    report.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn run_layout(config: &Config, index: usize, report: &Mutex<Report>) {
    let seed = config.layout_seed(index);
    let scenario = Scenario::new(seed, config.max_size);
    {
        let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
        r.layouts += 1;
        r.smallest = r.smallest.min(scenario.layout.size());
        r.largest = r.largest.max(scenario.layout.size());
        r.odd_sizes += usize::from(scenario.layout.size() % 16 != 0);
    }
    let mut rng = Rng::new(seed ^ 0x4b1d);
    for op in [Op::Update, Op::Store] {
        for point in scenario.points(op, &mut rng) {
            let outcome = run_case(config, &scenario, op, &point);
            let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
            r.cases += 1;
            r.count_form(scenario.form(op));
            match outcome {
                Ok(killed) => r.kills += usize::from(killed),
                Err(failure) => {
                    let (kind, message) = match failure {
                        Failure::Crash(m) => (&mut r.crashes, m),
                        Failure::Torn(m) => (&mut r.torn, m),
                        Failure::Lost(m) => (&mut r.lost, m),
                        Failure::Other(m) => (&mut r.other, m),
                    };
                    *kind += 1;
                    let line = format!(
                        "layout {index} (seed {seed:#x}: {}), {} killed at {point} ({}): \
                         {message}\n    reproduce: SHM_CRASH_SEED={:#x} SHM_CRASH_ONLY={index} \
                         SHM_CRASH_MAX_SIZE={}",
                        scenario.layout.summary(),
                        op.name(),
                        scenario.form(op),
                        config.seed,
                        config.max_size,
                    );
                    eprintln!("crash_layouts: FAILED {line}");
                    r.failures.push(line);
                }
            }
        }
    }
}

/// One kill and its check. `Ok(true)` if the writer was killed at `point`,
/// `Ok(false)` if it finished first (it stores fewer scalars).
fn run_case(config: &Config, scenario: &Scenario, op: Op, point: &str) -> Result<bool, Failure> {
    let scratch = Scratch::either(scenario.file);
    let target = &scratch.target;
    let created = target.open_region(
        RegionOptions::new()
            .schema(scenario.layout.schema.clone())
            .initial(scenario.before.clone())
            .create_new(true),
    );
    drop(created.map_err(|e| Failure::Other(format!("create: {e}")))?);

    let mut writer = Command::new(&config.program);
    writer
        .arg(CHILD)
        .arg("write")
        .args(target.args())
        .args(scenario.args())
        .arg(op.name())
        .env("SHM_RUNTIME_PAUSE_AT", point);
    let mut writer = Child::start(writer).map_err(Failure::Other)?;
    let killed = match writer.line() {
        Some(line) if line == format!("shm-runtime: paused at {point}") => {
            writer.kill();
            true
        }
        Some(line) if line == "done" => false,
        other => {
            return Err(Failure::Other(format!(
                "writer said {other:?}, {}",
                writer.finish().describe()
            )))
        }
    };
    let status = writer.wait();
    if killed && status.code().is_some() {
        return Err(Failure::Other(format!(
            "writer exited ({status}) instead of being killed"
        )));
    }

    let mut checker = Command::new(&config.program);
    checker
        .arg(CHILD)
        .arg("check")
        .args(target.args())
        .args(scenario.args())
        .arg(op.name())
        .arg(point);
    let mut checker = Child::start(checker).map_err(Failure::Other)?;
    let verdict = checker.line();
    let end = checker.finish();
    match verdict.as_deref() {
        Some("ok") if end.status.success() => Ok(killed),
        Some(v) if v.starts_with("torn: ") => Err(Failure::Torn(v.to_owned())),
        Some(v) if v.starts_with("lost: ") => Err(Failure::Lost(v.to_owned())),
        _ => match std::os::unix::process::ExitStatusExt::signal(&end.status) {
            Some(signal) => Err(Failure::Crash(format!(
                "the checker died of signal {signal} ({})",
                end.describe()
            ))),
            None => Err(Failure::Other(format!(
                "checker said {verdict:?}, {}",
                end.describe()
            ))),
        },
    }
}

/// A child process whose stdout lines arrive on a channel.
struct Child {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

struct End {
    status: ExitStatus,
    stderr: String,
}

impl End {
    fn describe(&self) -> String {
        format!("{}; stderr: {:?}", self.status, self.stderr.trim())
    }
}

impl Child {
    fn start(mut command: Command) -> Result<Child, String> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| format!("spawn {command:?}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Child { child, lines })
    }

    /// The next line, or `None` at its end or after the patience (then the
    /// child is killed: a hang is a failure, not a stuck run).
    fn line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => Some(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.kill();
                Some(format!("hung: nothing within {PATIENCE:?}"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait for a child")
    }

    /// Waits for the end, reading what is left of stderr.
    fn finish(mut self) -> End {
        while self.lines.recv_timeout(PATIENCE).is_ok() {}
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        End {
            status: self.wait(),
            stderr,
        }
    }
}

/// The child's side: `write <kind> <where> <seed> <max_size> <op>` or
/// `check <kind> <where> <seed> <max_size> <op> <point>`. Returns the exit
/// code.
pub fn child_main(args: &[String]) -> i32 {
    let parsed = (|| {
        let [role, kind, where_, seed, max_size, op, rest @ ..] = args else {
            return None;
        };
        let target = Target::from_args(kind, where_)?;
        let scenario = Scenario::new(seed.parse().ok()?, max_size.parse().ok()?);
        Some((
            role.clone(),
            target,
            scenario,
            Op::parse(op)?,
            rest.first().cloned(),
        ))
    })();
    let Some((role, target, scenario, op, point)) = parsed else {
        eprintln!("usage: {CHILD} write|check <file|shm> <where> <seed> <max_size> <op> [point]");
        return 2;
    };
    let result = match (role.as_str(), point) {
        ("write", None) => write(&target, &scenario, op),
        ("check", Some(point)) => check(&target, &scenario, op, &point),
        _ => Err(format!("unknown role {role}")),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            println!("{message}");
            1
        }
    }
}

fn write(target: &Target, scenario: &Scenario, op: Op) -> Result<(), String> {
    let region = target
        .open_region(&RegionOptions::new())
        .map_err(|e| format!("open: {e}"))?;
    let after = scenario.after(op);
    match op {
        Op::Update => region.update(|bytes| bytes.copy_from_slice(after)),
        Op::Store => region.store(after),
    }
    .map_err(|e| format!("{}: {e}", op.name()))?;
    println!("done");
    Ok(())
}

fn check(target: &Target, scenario: &Scenario, op: Op, point: &str) -> Result<(), String> {
    let (before, after) = (&scenario.before[..], scenario.after(op));
    let layout = &scenario.layout;
    let name = |bytes: &[u8]| -> String {
        if bytes == before {
            "before".into()
        } else if bytes == after {
            "after".into()
        } else {
            let ranges = layout.changed_ranges(before, bytes);
            format!(
                "torn (differs from before at {:?})",
                &ranges[..ranges.len().min(4)]
            )
        }
    };
    let either = |what: &str, bytes: &[u8]| {
        if bytes == before || bytes == after {
            Ok(())
        } else {
            Err(format!("torn: {what} is {}", name(bytes)))
        }
    };
    let read_only = target
        .open_region(RegionOptions::new().read_only(true))
        .map_err(|e| format!("read-only open: {e}"))?;
    // A part read alone (`snapshot_range`) is the part of before or after.
    let mut rng = Rng::new(scenario.seed ^ 0x7a9e);
    let start = rng.range(0..=layout.size() - 1);
    let end = rng.range(start + 1..=layout.size());
    let part = read_only
        .snapshot_range(start, end - start)
        .map_err(|e| format!("snapshot_range({start}, {}): {e}", end - start))?;
    if part != before[start..end] && part != after[start..end] {
        return Err(format!(
            "torn: bytes {start}..{end} read alone are neither before nor after"
        ));
    }
    either("the read-only snapshot", &read_only.snapshot())?;
    let region = target
        .open_region(&RegionOptions::new())
        .map_err(|e| format!("open: {e}"))?;
    either("the read-write snapshot", &region.snapshot())?;
    let found = region
        .update(|bytes| {
            let found = bytes.to_vec();
            bytes.copy_from_slice(&scenario.later);
            found
        })
        .map_err(|e| format!("the next update: {e}"))?;
    let promised = promised(scenario, op, point);
    if found != promised {
        either("what the next update found", &found)?;
        return Err(format!(
            "lost: the next update found {}, expected {}",
            name(&found),
            name(promised)
        ));
    }
    let fresh = target
        .open_region(RegionOptions::new().read_only(true))
        .map_err(|e| format!("read-only open after the update: {e}"))?;
    for (what, bytes) in [
        ("read-write", region.snapshot()),
        ("read-only", read_only.snapshot()),
        ("new read-only", fresh.snapshot()),
    ] {
        if bytes != scenario.later {
            return Err(format!(
                "after the next update, the {what} snapshot is not its value"
            ));
        }
    }
    println!("ok");
    Ok(())
}
