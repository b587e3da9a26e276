//! For the tests that build C programs from `shm codegen --lang c`: the C
//! compiler, shm-ffi's static library as cargo built it, and a C program
//! run as a child process that talks over its standard input and output,
//! with every wait bounded. The compiler helpers are `shm_testing::c`, which
//! shm-ffi's C tests use too.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::PATIENCE;

#[allow(unused_imports)] // each test file uses its own subset
pub use shm_testing::c::*;

/// A C program running as a child, fed by lines on its standard input and
/// read by lines from its standard output; killed if dropped alive.
pub struct CProgram {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    what: String,
}

impl CProgram {
    pub fn start(program: &Path, args: &[&str]) -> CProgram {
        let what = format!("{} {args:?}", program.display());
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: spawn: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let (tx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        CProgram {
            child,
            stdin,
            lines,
            stderr,
            what,
        }
    }

    /// The next line the program prints, within [`PATIENCE`]; a failure
    /// shows what it wrote on standard error.
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(e) => {
                let _ = self.child.kill();
                let status = self.child.wait();
                panic!(
                    "{}: no line ({e:?}; {status:?}); its standard error:\n{}",
                    self.what,
                    self.stderr_text()
                )
            }
        }
    }

    /// The next line, which must start with `tag` and a space: the rest.
    pub fn expect(&mut self, tag: &str) -> String {
        let line = self.line();
        match line
            .strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix(' '))
        {
            Some(rest) => rest.to_owned(),
            None if line == tag => String::new(),
            None => panic!("{}: expected `{tag} ...`, got {line:?}", self.what),
        }
    }

    /// Sends one line to the program.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: writing {line:?}: {e}", self.what));
    }

    /// Closes its input, waits for its output to end and for it to exit,
    /// within [`PATIENCE`], and checks that it succeeded.
    pub fn finish(mut self) {
        self.stdin = None;
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{}: output did not end within {PATIENCE:?}", self.what)
                }
            }
        }
        // Standard output closed: the program is exiting.
        let status = self.child.wait().expect("wait");
        assert!(
            status.success() && rest.is_empty(),
            "{}: {status}; more output: {rest:?}; standard error:\n{}",
            self.what,
            self.stderr_text()
        );
    }

    fn stderr_text(&self) -> String {
        self.stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "(not available)".to_owned())
    }
}

impl Drop for CProgram {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
