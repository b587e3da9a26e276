//! Helpers for the `shm publish` / `shm mirror` tests: the commands started
//! on fixed loopback endpoints (or inside a network namespace), a layout
//! with room for deltas, a "cable" that joins two networks when the test
//! says, and waits on a mirror's region that fail with a message instead
//! of hanging.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm_runtime::{Error, Region, SharedState};

use super::{Running, Scratch, PATIENCE};

/// A fixed loopback endpoint. Ports 17400..17600 are below the kernel's
/// ephemeral range, so no outgoing connection holds them; each test uses
/// its own (unique across every test file of the workspace).
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

/// `shm COMMAND REGION --key KEY [--listen L]... [--connect C]... EXTRA...`
/// (COMMAND is `publish` or `mirror`) on loopback ports.
pub fn start(
    command: &str,
    region: &Scratch,
    key: &str,
    listen: &[u16],
    connect: &[u16],
    extra: &[&str],
) -> Running {
    let mut args = vec![command, region.arg.as_str(), "--key", key];
    let listen: Vec<String> = listen.iter().map(|p| endpoint(*p)).collect();
    let connect: Vec<String> = connect.iter().map(|p| endpoint(*p)).collect();
    push_endpoints(&mut args, &listen, &connect);
    args.extend_from_slice(extra);
    Running::shm(&args, &[])
}

/// `shm COMMAND REGION --key KEY ...` inside the network namespace `netns`,
/// with whole endpoints (`tcp/10.1.2.3:7447`). `ip netns exec` runs `shm`
/// in its own place, so the child is `shm` itself (signals reach it).
pub fn start_in(
    netns: &str,
    command: &str,
    region: &Scratch,
    key: &str,
    listen: &[String],
    connect: &[String],
) -> Running {
    let mut args = vec![command, region.arg.as_str(), "--key", key];
    push_endpoints(&mut args, listen, connect);
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", netns])
        .arg(env!("CARGO_BIN_EXE_shm"))
        .args(&args);
    Running::program(cmd, &format!("shm {args:?} in {netns}"))
}

fn push_endpoints<'a>(args: &mut Vec<&'a str>, listen: &'a [String], connect: &'a [String]) {
    for endpoint in listen {
        args.extend(["--listen", endpoint]);
    }
    for endpoint in connect {
        args.extend(["--connect", endpoint]);
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
pub fn open_when_created(path: impl AsRef<Path>) -> Region {
    let path = path.as_ref();
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
/// its snapshot; returns that snapshot. Fails with the state held after
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
