//! Helpers for the bridge tests: `shm-bridge` processes whose standard
//! error is read line by line, regions compared across "hosts", and waits
//! that fail with a message instead of hanging.

#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm_runtime::{Error, Region, SharedState};

/// Upper bound for anything a test waits on; far above what any step needs.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A fixed loopback endpoint. Ports 17400..17600 are below the kernel's
/// ephemeral range, so no outgoing connection holds them; each test uses
/// its own.
pub fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

/// A layout with scalars, an array and room for deltas.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Board {
    pub counter: u64,
    pub bar: i32,
    pub baz: i32,
    pub samples: [u32; 16],
}

/// The same name, another layout: `baz` is a `u64` and `extra` is new.
pub mod other {
    use shm_runtime::SharedState;

    #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
    #[repr(C)]
    pub struct Board {
        pub counter: u64,
        pub bar: i32,
        pub _pad: u32,
        pub baz: u64,
        pub extra: u64,
    }
}

/// One "host": a folder of its own for its region files.
pub struct Host {
    pub dir: tempfile::TempDir,
}

impl Host {
    pub fn new() -> Host {
        Host {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn region(&self) -> PathBuf {
        self.dir.path().join("board")
    }
}

/// A running `shm-bridge`, killed if dropped alive; its standard error
/// arrives line by line.
pub struct Bridge {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Bridge {
    /// `shm-bridge COMMAND REGION --key KEY [--listen L] [--connect C]...`
    pub fn start(
        command: &str,
        region: &Path,
        key: &str,
        listen: &[u16],
        connect: &[u16],
    ) -> Bridge {
        Bridge::start_with(command, region, key, listen, connect, &[])
    }

    /// The same with more arguments (`--config FILE`).
    pub fn start_with(
        command: &str,
        region: &Path,
        key: &str,
        listen: &[u16],
        connect: &[u16],
        extra: &[&str],
    ) -> Bridge {
        let listen: Vec<String> = listen.iter().map(|p| endpoint(*p)).collect();
        let connect: Vec<String> = connect.iter().map(|p| endpoint(*p)).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shm-bridge"));
        cmd.arg(command)
            .arg(region)
            .arg("--key")
            .arg(key)
            .args(extra);
        Bridge::spawn(cmd, &listen, &connect)
    }

    /// `shm-bridge COMMAND REGION --key KEY ...` inside the network
    /// namespace `netns`, with whole endpoints (`tcp/10.1.2.3:7447`).
    /// `ip netns exec` runs the bridge in its own place, so the child is
    /// the bridge itself (signals reach it).
    pub fn start_in(
        netns: &str,
        command: &str,
        region: &Path,
        key: &str,
        listen: &[String],
        connect: &[String],
    ) -> Bridge {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", netns])
            .arg(env!("CARGO_BIN_EXE_shm-bridge"))
            .arg(command)
            .arg(region)
            .arg("--key")
            .arg(key);
        Bridge::spawn(cmd, listen, connect)
    }

    fn spawn(mut cmd: Command, listen: &[String], connect: &[String]) -> Bridge {
        for endpoint in listen {
            cmd.arg("--listen").arg(endpoint);
        }
        for endpoint in connect {
            cmd.arg("--connect").arg(endpoint);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shm-bridge");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Bridge {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line of standard error containing `text`, and returns it.
    pub fn wait_line(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} from shm-bridge within {PATIENCE:?}; it said: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Waits for the process to exit by itself, and returns its status
    /// and everything it said.
    pub fn wait_exit(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return (status, self.seen.join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "shm-bridge did not exit within {PATIENCE:?}; it said: {:#?}",
                self.seen
            );
            // A hang guard on a process with no other way to wait with a
            // deadline; not a synchronisation.
            std::thread::sleep(Duration::from_millis(10));
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
        }
    }

    /// SIGKILL, as a crash or a pulled plug would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as `kill` or a service manager would, then the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        self.wait_exit().0
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A network cable, plugged: TCP connections to `127.0.0.1:from` are
/// relayed byte for byte to `127.0.0.1:to`. A bridge told to connect to
/// `from` keeps retrying until the cable is plugged, so two networks join
/// when the test says. Unplugged (every relayed connection cut) when
/// dropped.
pub struct Cable {
    port: u16,
    stop: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accepting: Option<JoinHandle<()>>,
}

impl Cable {
    pub fn plug(from: u16, to: u16) -> Cable {
        let listener = TcpListener::bind(("127.0.0.1", from))
            .unwrap_or_else(|e| panic!("cable: listen on port {from}: {e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let accepting = {
            let (stop, streams) = (Arc::clone(&stop), Arc::clone(&streams));
            std::thread::spawn(move || {
                for inbound in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(inbound) = inbound else { continue };
                    let Ok(outbound) = TcpStream::connect(("127.0.0.1", to)) else {
                        continue;
                    };
                    let mut streams = streams.lock().unwrap();
                    for (from, to) in [(&inbound, &outbound), (&outbound, &inbound)] {
                        let (mut from, mut to) =
                            (from.try_clone().unwrap(), to.try_clone().unwrap());
                        let _ = from.set_nodelay(true);
                        streams.push(from.try_clone().unwrap());
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = from.shutdown(Shutdown::Both);
                            let _ = to.shutdown(Shutdown::Both);
                        });
                    }
                }
            })
        };
        Cable {
            port: from,
            stop,
            streams,
            accepting: Some(accepting),
        }
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Opens the region at `path` once it exists (a mirror creates it when the
/// first state arrives).
pub fn open_when_created(path: &Path) -> Region {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match Region::open_file(path) {
            Ok(region) => return region,
            Err(Error::NotFound { .. }) if Instant::now() < deadline => {
                // A hang guard while the file does not exist yet: there is
                // nothing to wait on before it does.
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

/// Waits, on the region's own `wait_for_change`, until `done` holds for
/// its snapshot; returns that snapshot. Fails with both states after
/// [`PATIENCE`].
pub fn wait_until(region: &Region, what: &str, mut done: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = region.version();
        let bytes = region.snapshot();
        if done(&bytes) {
            return bytes;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{what}: not reached within {PATIENCE:?}; the mirror holds {bytes:?}"
        );
        let _ = region.wait_for_change(seen, left.min(Duration::from_millis(500)));
    }
}

/// Waits until the mirror's region equals `expected`.
pub fn wait_equal(mirror: &Region, expected: &[u8]) {
    wait_until(mirror, "the mirror equal to the publisher", |b| {
        b == expected
    });
}

pub fn board(bytes: &[u8]) -> Board {
    shm_runtime::from_bytes(bytes).expect("a Board")
}
