//! Helpers for the `shm` command's tests: regions made by this process
//! through the typed API, the command itself as a child process, and waits
//! that fail with a message instead of hanging.

#![allow(dead_code)] // each test file uses its own subset

pub mod bridge;
pub mod c;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use shm_runtime::{OpenOptions, Shared, SharedState};

/// Upper bound for anything a test waits on; far above what any step needs.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The `shm` binary under test.
pub fn shm() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_shm"))
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: i16,
    pub y: i16,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Inner {
    pub x: u32,
    pub corners: [Point; 2],
}

/// Scalars of several kinds, a nested struct holding an array of structs,
/// scalar arrays (one of arrays), explicit padding.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Panel {
    pub id: u64,
    pub level: f32,
    pub count: i32,
    pub ratio: f64,
    pub inner: Inner,
    pub samples: [u16; 4],
    pub grid: [[u8; 3]; 2],
    pub delta: i8,
    pub _pad: [u8; 5],
}

pub fn panel() -> Panel {
    Panel {
        id: 7,
        level: 0.1,
        count: -3,
        ratio: 2.5,
        inner: Inner {
            x: 9,
            corners: [Point { x: -1, y: 2 }, Point { x: 300, y: -400 }],
        },
        samples: [1, 2, 3, 4],
        grid: [[1, 2, 3], [4, 5, 6]],
        delta: -8,
        _pad: [0; 5],
    }
}

/// Far more output than a pipe holds, as JSON.
#[allow(missing_debug_implementations)] // 64k numbers: not for printing
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Long {
    pub head: u64,
    pub data: [u64; 65_536],
}

/// A region under a fresh name: a file in a temporary folder, or a shm
/// object; removed on drop.
#[derive(Debug)]
pub struct Scratch {
    /// The REGION argument that names it.
    pub arg: String,
    pub kind: Kind,
    dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Shm,
}

impl Scratch {
    pub fn file() -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        let arg = dir.path().join("region").display().to_string();
        Scratch {
            arg,
            kind: Kind::File,
            dir: Some(dir),
        }
    }

    pub fn shm() -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let arg = format!(
            "shm-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Scratch {
            arg,
            kind: Kind::Shm,
            dir: None,
        }
    }

    /// Both kinds, for tests that run the same scenario over each.
    pub fn both() -> [Scratch; 2] {
        [Scratch::file(), Scratch::shm()]
    }

    /// Creates the region with `initial` through the typed API.
    pub fn create<T: SharedState>(&self, initial: T) -> Shared<T> {
        let options = OpenOptions::<T>::new()
            .create_new(true)
            .initial(initial)
            .clone();
        match self.kind {
            Kind::File => options.open_file(&self.arg),
            Kind::Shm => options.open_shm(&self.arg),
        }
        .expect("create the region")
    }

    /// Creates the region, all zeros (for structs too large to pass by
    /// value on a test thread's stack).
    pub fn create_zeroed<T: SharedState>(&self) -> Shared<T> {
        let options = OpenOptions::<T>::new().create_new(true).clone();
        match self.kind {
            Kind::File => options.open_file(&self.arg),
            Kind::Shm => options.open_shm(&self.arg),
        }
        .expect("create the region")
    }

    /// The file that holds it (for a shm object, its file in /dev/shm).
    pub fn backing_path(&self) -> PathBuf {
        match self.kind {
            Kind::File => PathBuf::from(&self.arg),
            Kind::Shm => Path::new("/dev/shm").join(&self.arg),
        }
    }

    /// Its location as `ls --json` and `show --json` give it.
    pub fn location(&self) -> String {
        match self.kind {
            Kind::File => self.arg.clone(),
            Kind::Shm => format!("/{}", self.arg),
        }
    }

    /// The folder of a file scratch.
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().expect("a file scratch").path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.kind == Kind::Shm {
            let _ = shm_runtime::remove_shm(&self.arg);
        }
    }
}

/// A running `shm` (or other) process whose output is read line by line
/// with a deadline; killed if dropped alive.
pub struct Running {
    pub child: Child,
    stdout: Option<Receiver<String>>,
    stderr: Receiver<String>,
    what: String,
}

impl Running {
    /// Starts `shm args...` with `env` added, stdout and stderr piped.
    pub fn shm(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shm"));
        command.args(args).envs(env.iter().copied());
        Running::start(command, format!("shm {args:?}"), true, Stdio::null())
    }

    /// Like [`Running::shm`], leaving stdout to the caller
    /// ([`Running::take_stdout`]).
    pub fn shm_raw_stdout(args: &[&str]) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shm"));
        command.args(args);
        Running::start(command, format!("shm {args:?}"), false, Stdio::null())
    }

    /// Starts `shm args...` with `env` added and a pipe on its standard
    /// input, for a process held at a hold point
    /// (`SHM_RUNTIME_PAUSE_AT`): [`Running::resume`] lets it go on.
    pub fn shm_held(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shm"));
        command.args(args).envs(env.iter().copied());
        Running::start(
            command,
            format!("shm {args:?} {env:?}"),
            true,
            Stdio::piped(),
        )
    }

    /// Starts any program, stdout read by lines, stdin piped (a helper
    /// that waits for a line, or the end, to finish).
    pub fn program(command: Command, what: &str) -> Running {
        Running::start(command, what.to_owned(), true, Stdio::piped())
    }

    /// Sends a line to the process's standard input (a held process goes
    /// on; a helper that waits for a line ends).
    pub fn resume(&mut self) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        stdin
            .write_all(b"\n")
            .expect("write to the process's stdin");
        stdin.flush().expect("flush the process's stdin");
    }

    fn start(mut command: Command, what: String, read_stdout: bool, stdin: Stdio) -> Running {
        let mut child = command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shm");
        let stdout = read_stdout.then(|| lines_of(child.stdout.take().expect("stdout")));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
            what,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line on stdout, within [`PATIENCE`].
    pub fn line(&self) -> String {
        let lines = self.stdout.as_ref().expect("stdout is read by lines");
        next_line(lines, &format!("{}: stdout", self.what))
    }

    /// The next line on stderr, within [`PATIENCE`].
    pub fn error_line(&self) -> String {
        next_line(&self.stderr, &format!("{}: stderr", self.what))
    }

    /// The first line on stderr that contains `text`, within [`PATIENCE`];
    /// the lines before it are passed over (and said if none comes).
    pub fn error_line_with(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut passed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => passed.push(line),
                Err(_) => panic!(
                    "{}: no line with {text:?} on stderr within {PATIENCE:?}; it said: {passed:#?}",
                    self.what
                ),
            }
        }
    }

    /// No line on stdout for `quiet` (for "nothing changed, nothing said").
    pub fn no_line_for(&self, quiet: Duration) {
        let lines = self.stdout.as_ref().expect("stdout is read by lines");
        match lines.recv_timeout(quiet) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(line) => panic!("{}: unexpected line {line:?}", self.what),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: ended", self.what),
        }
    }

    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().expect("stdout not yet taken")
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal the child");
    }

    /// Waits for the process to end, within [`PATIENCE`]; its exit status
    /// and everything left on stderr.
    pub fn finish(self) -> (std::process::ExitStatus, String) {
        self.finish_while(|| {})
    }

    /// As [`finish`](Self::finish), with the lines left on stdout too.
    pub fn finish_with_stdout(mut self) -> (std::process::ExitStatus, Vec<String>, String) {
        let stdout = self.stdout.take();
        let (status, stderr) = self.finish();
        let mut rest = Vec::new();
        if let Some(lines) = stdout {
            while let Ok(line) = lines.recv_timeout(PATIENCE) {
                rest.push(line);
            }
        }
        (status, rest, stderr)
    }

    /// As [`finish`](Self::finish), calling `poke` every few milliseconds
    /// until the process ends (for a process that ends in reaction to
    /// something it sees happen).
    pub fn finish_while(mut self, mut poke: impl FnMut()) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            poke();
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Every line up to the end of the stream (its reader thread
                // may not have passed the last ones on yet).
                let mut rest = Vec::new();
                while let Ok(line) = self.stderr.recv_timeout(PATIENCE) {
                    rest.push(line);
                }
                return (status, rest.join("\n"));
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: still running after {PATIENCE:?}",
                self.what
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(lines: &Receiver<String>, what: &str) -> String {
    match lines.recv_timeout(PATIENCE) {
        Ok(line) => line,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: no line within {PATIENCE:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: ended without a line"),
    }
}

/// Everything about a file that a command must leave alone: its bytes,
/// length, permissions and modification time.
pub fn fingerprint_of_file(path: &Path) -> (Vec<u8>, u64, u32, std::time::SystemTime) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).expect("stat");
    (
        std::fs::read(path).expect("read"),
        meta.len(),
        meta.permissions().mode(),
        meta.modified().expect("mtime"),
    )
}

/// Parses one line of JSON.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
