//! Helpers for the multi-process tests: unique region names, the helper
//! process, and waits that fail with a message instead of hanging.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use shm_testing::{Scratch, Target};

/// Upper bound for anything a test waits on; far above what any step needs.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running helper process (`shm-test-child`), killed if dropped alive.
pub struct Helper {
    child: Child,
    lines: mpsc::Receiver<String>,
    what: String,
}

impl Helper {
    /// Starts `shm-test-child <role> <target> <extra...>` with `env` added.
    pub fn start(role: &str, target: &Target, extra: &[&str], env: &[(&str, &str)]) -> Helper {
        let mut command = Command::new(Helper::program());
        command
            .arg(role)
            .args(target.args())
            .args(extra)
            .envs(env.iter().copied());
        let what = format!(
            "shm-test-child {role} {:?} {extra:?} {env:?}",
            target.args()
        );
        Helper::spawn(command, what)
    }

    /// The helper program's path.
    pub fn program() -> &'static str {
        env!("CARGO_BIN_EXE_shm-test-child")
    }

    /// Starts a prepared command (the helper program, maybe run through a
    /// wrapper or as another user); `what` names it in failure messages.
    pub fn spawn(mut command: Command, what: String) -> Helper {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: spawn: {e}"));
        // Both pipes feed one channel, so a test can wait for a line from
        // either (the pause points report on stderr).
        let (tx, lines) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Helper { child, lines, what }
    }

    /// The next line the helper prints, within [`PATIENCE`].
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(_) => panic!("{}: no output within {PATIENCE:?}", self.what),
        }
    }

    /// Waits for a clean exit within [`PATIENCE`] and returns every line
    /// printed that was not read yet.
    pub fn finish(mut self) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{}: still running after {PATIENCE:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        // The reader threads end at EOF, which follows the exit.
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        assert!(
            status.success(),
            "{}: {status}; output: {rest:?}",
            self.what
        );
        rest
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGKILL without reaping: the helper stays a zombie until [`reap`]
    /// (or drop).
    ///
    /// [`reap`]: Helper::reap
    pub fn kill_leaving_zombie(&mut self) {
        self.child.kill().expect("kill");
    }

    /// Waits for the (killed) helper to be gone.
    pub fn reap(mut self) {
        self.child.wait().expect("wait");
    }

    /// The next line, if one comes within `limit`.
    pub fn line_within(&mut self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a helper to completion and returns its output lines.
pub fn run(role: &str, target: &Target, extra: &[&str]) -> Vec<String> {
    Helper::start(role, target, extra, &[]).finish()
}

/// The bytes and length of a file, to prove it was not modified.
pub fn snapshot_file(path: &std::path::Path) -> (Vec<u8>, std::fs::Metadata) {
    let bytes = std::fs::read(path).expect("read back");
    let meta = std::fs::metadata(path).expect("metadata");
    (bytes, meta)
}

/// Waits (bounded) until process `pid` sleeps in the kernel on a futex, so
/// that a test can make a change it must be woken for.
pub fn wait_until_asleep_on_a_futex(pid: u32) {
    let started = Instant::now();
    loop {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        if state == Some("S") && (wchan.contains("futex") || wchan.is_empty() || wchan == "0") {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "process {pid} never slept ({wchan:?}, {state:?})"
        );
        std::thread::yield_now();
    }
}

/// An `Invariant` region at `target` holding round 5, and a writer process
/// stopped at pause point `point` inside its update to round 6 (it has said
/// "ready" and where it paused).
pub fn invariant_writer_paused_at(
    target: &Target,
    point: &str,
) -> (shm_runtime::Shared<shm_testing::Invariant>, Helper) {
    let shared = target
        .open(&shm_runtime::OpenOptions::<shm_testing::Invariant>::new())
        .unwrap();
    shared.store(shm_testing::Invariant {
        round: 5,
        data: [5; 31],
    });
    let mut writer = Helper::start(
        "invariant-writer",
        target,
        &["1"],
        &[("SHM_RUNTIME_PAUSE_AT", point)],
    );
    assert_eq!(writer.line(), "ready");
    assert_eq!(writer.line(), format!("shm-runtime: paused at {point}"));
    (shared, writer)
}
