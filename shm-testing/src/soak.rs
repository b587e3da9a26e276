//! The soak: writers SIGKILLed at random instants while readers check every
//! snapshot, with exact accounting at the end.
//!
//! One region holds a [`SoakState`]: an invariant across many fields of
//! four widths (every element equals the round number), and a `counter`
//! bumped field-level with `fetch_add`. Writers loop `update`
//! ([`SoakState::advance`]) and `counter.fetch_add(1)`, and acknowledge
//! each call that returned in their slot of a separate region, the
//! [`Ledger`] (one `fetch_add` on a line of their own, which a SIGKILL
//! cannot undo once it executed: the page is shared, not private). Readers
//! loop `snapshot` (half of them through read-only handles), check the
//! invariant, and check that the round and the counter never go back. The
//! parent SIGKILLs a random writer every 20-100 ms, reaps it and starts
//! another in its slot. Before reaping it, while the dead writer is a
//! zombie (which the lock's liveness check still takes for alive, so
//! nobody has recovered anything yet), the parent reads the region's sync
//! words from the shm object (docs/design.md, "Region layout") and counts the
//! kills that hit a writer holding the lock, and those among them that hit
//! it between its journal commit and retirement: each of these must be
//! rolled forward, so it is an update found but never acknowledged. (Were
//! zombies ever taken for dead, another process could recover before the
//! parent looks: the counts would become lower bounds, and the check they
//! feed would stay sound.)
//!
//! At the end every process is asked to stop and must exit within the
//! patience; then the parent takes the lock once (an `update` that changes
//! nothing, which completes any publish a killed writer left) and counts.
//! A killed writer may have published an update, or a `fetch_add`, that it
//! never acknowledged, at most one of either per kill; so exactly:
//! `acknowledged <= found <= acknowledged + kills`, for the updates and
//! the increments together, and the unacknowledged updates are at least
//! the kills that hit a committed journal entry. A torn or backward read is counted by the
//! reader that saw it; a process that stops making progress (a hang) ends
//! the run with an error.
//!
//! Children are started as `<program> <args...> writer|reader ...` (see
//! [`Program`]) and run [`child_main`]; they synchronise with the parent
//! over their stdout pipe ("ready", "done") and the ledger, never by
//! sleeping. The only sleeps are the killer's intervals.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::wait::{waitid, Id, WaitPidFlag};
use shm_runtime::{OpenOptions, SharedState};

/// Slots in the ledger: the most writers and readers a soak can run.
pub const MAX_PROCESSES: usize = 8;

/// The soaked region: every element of `wide`, `narrow`, `half` and
/// `bytes` equals `round` (truncated to its width) after every complete
/// update; `counter` is only ever changed with `fetch_add`.
///
/// The layout is chosen against the journal's alignment: 376 bytes (not a
/// multiple of 16, 32 or 64), and an update changes two ranges, `round`
/// and everything after `counter`, so the second range's bytes sit in the
/// journal 8 bytes off a 16-byte boundary, as they do for most layouts
/// users bring (a recovery once crashed on exactly that).
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct SoakState {
    pub round: u64,
    pub counter: u64,
    pub wide: [u64; 37],
    pub narrow: [u32; 11],
    pub half: [u16; 5],
    pub bytes: [u8; 10],
}

impl SoakState {
    /// Whether the invariant holds: a torn copy would mix two rounds.
    pub fn is_consistent(&self) -> bool {
        self.wide.iter().all(|&w| w == self.round)
            && self.narrow.iter().all(|&n| n == self.round as u32)
            && self.half.iter().all(|&h| h == self.round as u16)
            && self.bytes.iter().all(|&b| b == self.round as u8)
    }

    /// The next round: every element of the invariant changes.
    pub fn advance(&mut self) {
        self.round += 1;
        self.wide = [self.round; 37];
        self.narrow = [self.round as u32; 11];
        self.half = [self.round as u16; 5];
        self.bytes = [self.round as u8; 10];
    }
}

/// What one writer slot acknowledged, over all the processes that held it.
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct WriterSlot {
    /// `update` calls that returned.
    pub updates: u64,
    /// `counter.fetch_add(1)` calls that returned.
    pub adds: u64,
    /// A cache line per slot.
    pub _pad: [u64; 6],
}

/// What one reader counted.
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct ReaderSlot {
    pub snapshots: u64,
    /// Snapshots that broke the invariant.
    pub torn: u64,
    /// Snapshots whose round or counter was below the previous one's.
    pub backwards: u64,
    pub _pad: [u64; 5],
}

/// The acknowledgements and counts, in a region of their own.
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Ledger {
    /// Non-zero: every child finishes its current call, says "done", exits.
    pub stop: u64,
    pub _pad: [u64; 7],
    pub writers: [WriterSlot; MAX_PROCESSES],
    pub readers: [ReaderSlot; MAX_PROCESSES],
}

/// How to run a soak.
#[derive(Clone, Debug)]
pub struct Config {
    pub duration: Duration,
    pub writers: usize,
    pub readers: usize,
    /// The killer waits a random time in this range between kills.
    pub kill_every: (Duration, Duration),
    /// Seeds the killer's choices; printed in the report.
    pub seed: u64,
    /// The longest any process may go without progress, or take to start
    /// or stop, before the run fails as hung.
    pub patience: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duration: Duration::from_secs(10),
            writers: 4,
            readers: 4,
            kill_every: (Duration::from_millis(20), Duration::from_millis(100)),
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
            patience: Duration::from_secs(30),
        }
    }
}

/// The command that runs [`child_main`] with the arguments that follow
/// `args`: the soak example itself, or the tests' helper process.
#[derive(Clone, Debug)]
pub struct Program {
    pub path: PathBuf,
    pub args: Vec<String>,
}

/// What a soak saw. [`Report::violations`] says whether it passed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub seed: u64,
    pub elapsed: Duration,
    pub writers: usize,
    pub readers: usize,
    pub kills: u64,
    /// Kills of a writer that held the writer lock.
    pub kills_holding_lock: u64,
    /// Of those, kills between the journal commit and its retirement: each
    /// a publish the next lock holder (or a reader) must roll forward.
    pub kills_mid_publish: u64,
    /// The round in the region at the end: every update that took effect.
    pub updates_found: u64,
    pub updates_acknowledged: u64,
    /// The counter in the region at the end.
    pub adds_found: u64,
    pub adds_acknowledged: u64,
    /// How far the version moved over the run, the parent's closing
    /// update left out: one step per update that took effect.
    pub version_steps: u64,
    pub snapshots: u64,
    pub torn: u64,
    pub backwards: u64,
    /// The final snapshot (taken after the closing update) is consistent.
    pub final_consistent: bool,
}

impl Report {
    /// Updates acknowledged but not in the region.
    pub fn lost_updates(&self) -> u64 {
        self.updates_acknowledged.saturating_sub(self.updates_found)
    }

    /// Increments acknowledged but not in the counter.
    pub fn lost_adds(&self) -> u64 {
        self.adds_acknowledged.saturating_sub(self.adds_found)
    }

    /// Effects found that nobody acknowledged: at most one per kill.
    pub fn unacknowledged(&self) -> u64 {
        self.updates_found.saturating_sub(self.updates_acknowledged)
            + self.adds_found.saturating_sub(self.adds_acknowledged)
    }

    /// Every broken promise, empty when the soak passed.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.torn > 0 {
            out.push(format!("{} torn snapshots", self.torn));
        }
        if self.backwards > 0 {
            out.push(format!("{} snapshots went back", self.backwards));
        }
        if self.lost_updates() > 0 || self.lost_adds() > 0 {
            out.push(format!(
                "lost {} updates and {} increments",
                self.lost_updates(),
                self.lost_adds()
            ));
        }
        if self.unacknowledged() > self.kills {
            out.push(format!(
                "{} effects nobody acknowledged, more than the {} kills",
                self.unacknowledged(),
                self.kills
            ));
        }
        let unacknowledged_updates = self.updates_found.saturating_sub(self.updates_acknowledged);
        if unacknowledged_updates < self.kills_mid_publish {
            out.push(format!(
                "{} writers were killed with a committed journal entry, but only {unacknowledged_updates} unacknowledged updates took effect: a roll-forward was lost",
                self.kills_mid_publish
            ));
        }
        if self.version_steps != self.updates_found {
            out.push(format!(
                "the version moved {} times for {} updates",
                self.version_steps, self.updates_found
            ));
        }
        if !self.final_consistent {
            out.push("the final state is torn".to_owned());
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        write!(
            f,
            "soak {seconds:.1} s, {} writers, {} readers, seed {}: kills {} \
             ({} holding the lock, {} mid-publish), updates {} found / {} acknowledged, increments {} found / {} acknowledged \
             ({} unacknowledged <= kills), snapshots {}, torn {}, backwards {}, \
             lost updates {}, lost increments {}, hangs 0, {:.0} updates/s, {:.0} snapshots/s",
            self.writers,
            self.readers,
            self.seed,
            self.kills,
            self.kills_holding_lock,
            self.kills_mid_publish,
            self.updates_found,
            self.updates_acknowledged,
            self.adds_found,
            self.adds_acknowledged,
            self.unacknowledged(),
            self.snapshots,
            self.torn,
            self.backwards,
            self.lost_updates(),
            self.lost_adds(),
            self.updates_found as f64 / seconds,
            self.snapshots as f64 / seconds,
        )
    }
}

/// Runs a soak. `Err` when it could not complete: a hang (a process made
/// no progress, or did not start or stop, within the patience), a child
/// that failed, or a region that could not be made.
pub fn run(config: &Config, program: &Program) -> Result<Report, String> {
    if !(1..=MAX_PROCESSES).contains(&config.writers)
        || !(1..=MAX_PROCESSES).contains(&config.readers)
    {
        return Err(format!("1 to {MAX_PROCESSES} writers and readers"));
    }
    let names = Names::new();
    let state = OpenOptions::<SoakState>::new()
        .create_new(true)
        .open_shm(&names.state)
        .map_err(|e| e.to_string())?;
    let ledger = OpenOptions::<Ledger>::new()
        .create_new(true)
        .open_shm(&names.ledger)
        .map_err(|e| e.to_string())?;
    let version_before = state.version();
    let spawn =
        |role: &str, slot: usize| Process::start(program, role, slot, &names, config.patience);
    let mut readers = (0..config.readers)
        .map(|slot| spawn("reader", slot))
        .collect::<Result<Vec<_>, _>>()?;
    let mut writers = (0..config.writers)
        .map(|slot| spawn("writer", slot))
        .collect::<Result<Vec<_>, _>>()?;

    let mut random = XorShift(config.seed | 1);
    let started = Instant::now();
    let mut kills = Kills::default();
    let mut progress = Progress::new(config.readers);
    while started.elapsed() < config.duration {
        let (low, high) = config.kill_every;
        let span = high.saturating_sub(low).as_micros() as u64 + 1;
        std::thread::sleep(low + Duration::from_micros(random.below(span)));
        for process in writers.iter_mut().chain(readers.iter_mut()) {
            process.check_running()?;
        }
        let slot = random.below(config.writers as u64) as usize;
        kills.kill(&mut writers[slot], &names)?;
        writers[slot] = spawn("writer", slot)?;
        progress.check(&state, &ledger, config.patience)?;
    }

    ledger.stop.set(1);
    for process in writers.into_iter().chain(readers) {
        process.finish(config.patience)?;
    }
    let elapsed = started.elapsed();
    // Completes whatever publish a killed writer left, so what is counted
    // is what every later reader sees.
    state.update(|_| ());
    let end = state.snapshot();
    let totals = ledger.snapshot();
    Ok(Report {
        seed: config.seed,
        elapsed,
        writers: config.writers,
        readers: config.readers,
        kills: kills.all,
        kills_holding_lock: kills.holding_lock,
        kills_mid_publish: kills.mid_publish,
        updates_found: end.round,
        updates_acknowledged: totals.writers.iter().map(|w| w.updates).sum(),
        adds_found: end.counter,
        adds_acknowledged: totals.writers.iter().map(|w| w.adds).sum(),
        version_steps: state.version() - version_before - 1,
        snapshots: totals.readers.iter().map(|r| r.snapshots).sum(),
        torn: totals.readers.iter().map(|r| r.torn).sum(),
        backwards: totals.readers.iter().map(|r| r.backwards).sum(),
        final_consistent: end.is_consistent(),
    })
}

/// The child side: `writer|reader <state> <ledger> <slot>`.
pub fn child_main(args: &[String]) -> Result<(), String> {
    let [role, state, ledger, slot] = args else {
        return Err("usage: writer|reader <state shm name> <ledger shm name> <slot>".into());
    };
    let slot: usize = slot.parse().map_err(|e| format!("slot: {e}"))?;
    if slot >= MAX_PROCESSES {
        return Err(format!("slot {slot} >= {MAX_PROCESSES}"));
    }
    let existing = |e: shm_runtime::Error| e.to_string();
    let ledger = OpenOptions::<Ledger>::new()
        .create(false)
        .open_shm(ledger)
        .map_err(existing)?;
    match role.as_str() {
        "writer" => {
            let state = OpenOptions::<SoakState>::new()
                .create(false)
                .open_shm(state)
                .map_err(existing)?;
            let acks = &ledger.writers[slot];
            say("ready");
            while ledger.stop.get() == 0 {
                state.update(SoakState::advance);
                acks.updates.fetch_add(1);
                state.counter.fetch_add(1);
                acks.adds.fetch_add(1);
            }
        }
        // Even slots read through a read-write handle (which may recover a
        // killed writer's publish itself), odd ones through a read-only
        // handle (which reads what the committed journal entry describes).
        "reader" if slot % 2 == 0 => {
            let state = OpenOptions::<SoakState>::new()
                .create(false)
                .open_shm(state)
                .map_err(existing)?;
            read_until_stopped(|| state.snapshot(), &ledger, slot);
        }
        "reader" => {
            let state = OpenOptions::<SoakState>::new()
                .open_shm_read_only(state)
                .map_err(existing)?;
            read_until_stopped(|| state.snapshot(), &ledger, slot);
        }
        other => return Err(format!("unknown soak role {other:?}")),
    }
    say("done");
    Ok(())
}

fn read_until_stopped(
    snapshot: impl Fn() -> SoakState,
    ledger: &shm_runtime::Shared<Ledger>,
    slot: usize,
) {
    let counts = &ledger.readers[slot];
    let mut last = snapshot();
    let mut torn_shown = 0;
    say("ready");
    while ledger.stop.get() == 0 {
        let now = snapshot();
        if !now.is_consistent() {
            counts.torn.fetch_add(1);
            if torn_shown < 3 {
                torn_shown += 1;
                eprintln!("soak reader {slot}: torn snapshot {now:?}");
            }
        }
        if now.round < last.round || now.counter < last.counter {
            counts.backwards.fetch_add(1);
        }
        counts.snapshots.fetch_add(1);
        last = now;
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The two shm objects of one run, removed when it ends however it ends.
struct Names {
    state: String,
    ledger: String,
}

impl Names {
    fn new() -> Names {
        let pid = std::process::id();
        Names {
            state: format!("shm-soak-{pid}"),
            ledger: format!("shm-soak-{pid}-ledger"),
        }
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let _ = shm_runtime::remove_shm(&self.state);
        let _ = shm_runtime::remove_shm(&self.ledger);
    }
}

/// A child process and the lines it prints; killed if dropped alive.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    what: String,
}

impl Process {
    /// Starts a child and waits (bounded) for its "ready".
    fn start(
        program: &Program,
        role: &str,
        slot: usize,
        names: &Names,
        patience: Duration,
    ) -> Result<Process, String> {
        let what = format!("{role} {slot}");
        let mut child = Command::new(&program.path)
            .args(&program.args)
            .args([role, &names.state, &names.ledger, &slot.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{what}: spawning {}: {e}", program.path.display()))?;
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut process = Process { child, lines, what };
        process.expect("ready", patience)?;
        Ok(process)
    }

    fn expect(&mut self, line: &str, patience: Duration) -> Result<(), String> {
        match self.lines.recv_timeout(patience) {
            Ok(got) if got == line => Ok(()),
            Ok(got) => Err(format!("{}: said {got:?}, not {line:?}", self.what)),
            Err(_) => Err(format!(
                "hang: {} did not say {line:?} within {patience:?} ({})",
                self.what,
                match self.child.try_wait() {
                    Ok(Some(status)) => format!("it exited: {status}"),
                    _ => "still running".to_owned(),
                }
            )),
        }
    }

    fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited on its own: {status}", self.what)),
            Err(e) => Err(format!("{}: wait: {e}", self.what)),
        }
    }

    /// SIGKILL, and wait until it is dead, but do not reap it: until it is
    /// reaped it is a zombie, which the lock's liveness check rightly takes
    /// for alive, so nobody touches what it left yet.
    fn kill_unreaped(&mut self) -> Result<(), String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        self.child
            .kill()
            .map_err(|e| format!("{}: kill: {e}", self.what))?;
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
        loop {
            match waitid(Id::Pid(pid), flags) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(format!("{}: waitid: {e}", self.what)),
            }
        }
    }

    fn reap(&mut self) -> Result<(), String> {
        self.child
            .wait()
            .map(drop)
            .map_err(|e| format!("{}: wait: {e}", self.what))
    }

    /// Waits (bounded) for "done", then for the end of its output (it
    /// exited), then reaps it.
    fn finish(mut self, patience: Duration) -> Result<(), String> {
        self.expect("done", patience)?;
        match self.lines.recv_timeout(patience) {
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("hang: {} did not exit after \"done\"", self.what))
            }
            Ok(line) => return Err(format!("{}: said {line:?} after \"done\"", self.what)),
        }
        match self.child.wait() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{}: exited {status}", self.what)),
            Err(e) => Err(format!("{}: wait: {e}", self.what)),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The killer's tally.
#[derive(Default)]
struct Kills {
    all: u64,
    holding_lock: u64,
    mid_publish: u64,
    /// The journal target of the last mid-publish kill: a writer killed
    /// while recovering an earlier victim's entry is not counted twice.
    last_target: u64,
}

impl Kills {
    /// Kills `writer`, looks at the lock and the journal it left, reaps it.
    fn kill(&mut self, writer: &mut Process, names: &Names) -> Result<(), String> {
        writer.kill_unreaped()?;
        self.all += 1;
        let words = SyncWords::read(&names.state)?;
        if words.lock_pid() == writer.child.id() {
            self.holding_lock += 1;
            if words.journal_target != 0 && words.journal_target != self.last_target {
                self.mid_publish += 1;
                self.last_target = words.journal_target;
            }
        }
        writer.reap()
    }
}

/// The sync words of a region, read from its shm object at the offsets
/// docs/design.md documents ("Region layout").
struct SyncWords {
    journal_target: u64,
    lock: u64,
}

impl SyncWords {
    const JOURNAL_TARGET: u64 = 136;
    const LOCK: u64 = 256;

    fn read(name: &str) -> Result<SyncWords, String> {
        use std::os::unix::fs::FileExt;
        let path = format!("/dev/shm/{name}");
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        let word = |at| {
            let mut bytes = [0; 8];
            file.read_exact_at(&mut bytes, at)
                .map(|()| u64::from_le_bytes(bytes))
                .map_err(|e| format!("{path}: {e}"))
        };
        Ok(SyncWords {
            journal_target: word(Self::JOURNAL_TARGET)?,
            lock: word(Self::LOCK)?,
        })
    }

    /// The pid in the lock word's owner token (bits 32..62).
    fn lock_pid(&self) -> u32 {
        ((self.lock >> 32) & 0x7fff_ffff) as u32
    }
}

/// The hang guard: the round, and each reader's count, must move within
/// the patience.
struct Progress {
    round: (u64, Instant),
    readers: Vec<(u64, Instant)>,
}

impl Progress {
    fn new(readers: usize) -> Progress {
        let now = Instant::now();
        Progress {
            round: (0, now),
            readers: vec![(0, now); readers],
        }
    }

    fn check(
        &mut self,
        state: &shm_runtime::Shared<SoakState>,
        ledger: &shm_runtime::Shared<Ledger>,
        patience: Duration,
    ) -> Result<(), String> {
        let now = Instant::now();
        let moved = |last: &mut (u64, Instant), value: u64, what: &str| {
            if value != last.0 {
                *last = (value, now);
                Ok(())
            } else if now - last.1 > patience {
                Err(format!(
                    "hang: {what} stayed at {value} for {patience:?} (version {})",
                    state.version()
                ))
            } else {
                Ok(())
            }
        };
        moved(&mut self.round, state.round.get(), "the round")?;
        for (slot, last) in self.readers.iter_mut().enumerate() {
            let count = ledger.readers[slot].snapshots.get();
            moved(last, count, &format!("reader {slot}'s snapshot count"))?;
        }
        Ok(())
    }
}

/// xorshift64: the killer's choices, reproducible from the seed.
struct XorShift(u64);

impl XorShift {
    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invariant_sees_any_element_out_of_step() {
        let mut state: SoakState = shm_runtime::from_bytes(&[0; size_of::<SoakState>()]).unwrap();
        assert!(state.is_consistent());
        state.advance();
        state.advance();
        assert!(state.is_consistent());
        for tear in [
            |s: &mut SoakState| s.wide[36] -= 1,
            |s: &mut SoakState| s.narrow[0] += 1,
            |s: &mut SoakState| s.half[4] ^= 1,
            |s: &mut SoakState| s.bytes[9] ^= 1,
            |s: &mut SoakState| s.round += 1,
        ] {
            let mut torn = state;
            tear(&mut torn);
            assert!(!torn.is_consistent(), "{torn:?}");
        }
    }

    #[test]
    fn more_found_than_kills_allow_is_a_violation() {
        let report = Report {
            kills: 2,
            updates_found: 10,
            updates_acknowledged: 7,
            version_steps: 10,
            final_consistent: true,
            ..Report::default()
        };
        assert_eq!(report.violations().len(), 1, "{:?}", report.violations());
        let lost = Report {
            updates_acknowledged: 11,
            ..report.clone()
        };
        assert!(lost.violations()[0].contains("lost 1 updates"));
        let fine = Report {
            kills: 3,
            kills_mid_publish: 3,
            ..report
        };
        assert!(fine.violations().is_empty(), "{:?}", fine.violations());
    }
}
