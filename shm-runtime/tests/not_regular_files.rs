//! Opening anything that is not a regular file or shm object (a FIFO, a
//! directory, a socket, a device), read-write or read-only, by type or by
//! schema, fails at once with `NotSharedState` naming it, and changes
//! nothing. Before the open stopped blocking, a FIFO hung every one of
//! these opens (and ignored the timeout).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use shm_runtime::{Error, Region, SharedState};
use shm_testing::Scratch;

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Foo {
    bar: i32,
    baz: i32,
}

/// An open through some API, named for failure messages.
type Open<A> = (&'static str, fn(A) -> shm_runtime::Result<()>);

/// Far above what an open that does not block takes.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `open` on a thread; fails the test if it has not returned within
/// the patience (the thread is left blocked; the test process ends).
fn bounded<T: Send + 'static>(what: &str, open: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(open());
    });
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{what}: still blocked after {PATIENCE:?}"))
}

fn expect_refused(what: &str, result: shm_runtime::Result<()>, found: &str, named: &str) {
    match result {
        Err(Error::NotSharedState { location, reason }) => {
            let message = format!("{location}: {reason}");
            assert!(reason.contains(found), "{what}: {message}");
            assert!(message.contains(named), "{what}: {message}");
        }
        other => panic!("{what}: expected NotSharedState, got {other:?}"),
    }
}

/// Every way to open `path` as a file.
fn every_file_open(path: &Path, found: &str) {
    let named = path.display().to_string();
    let opens: [Open<PathBuf>; 4] = [
        ("read-only", |p| Foo::open_file_read_only(p).map(drop)),
        ("read-write", |p| Foo::open_file(p).map(drop)),
        ("by schema, read-write", |p| Region::open_file(p).map(drop)),
        ("by schema, read-only", |p| {
            Region::open_file_read_only(p).map(drop)
        }),
    ];
    for (how, open) in opens {
        let p = path.to_owned();
        let what = format!("{how} open of {found} {named}");
        expect_refused(&what, bounded(&what, move || open(p)), found, &named);
    }
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

#[test]
fn a_fifo_file_is_refused_at_once() {
    let scratch = Scratch::file();
    let shm_testing::Target::File(path) = &scratch.target else {
        unreachable!()
    };
    mkfifo(path);
    every_file_open(path, "a FIFO");
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO is still there, untouched"
    );
}

#[test]
fn a_fifo_in_dev_shm_is_refused_at_once() {
    let scratch = Scratch::shm();
    let shm_testing::Target::Shm(name) = scratch.target.clone() else {
        unreachable!()
    };
    let path = scratch.target.backing_path();
    mkfifo(&path);
    let opens: [Open<String>; 3] = [
        ("read-only", |n| Foo::open_shm_read_only(&n).map(drop)),
        ("read-write", |n| Foo::open_shm(&n).map(drop)),
        ("by schema", |n| Region::open_shm(&n).map(drop)),
    ];
    for (how, open) in opens {
        let n = name.clone();
        let what = format!("{how} open of the FIFO {name}");
        expect_refused(&what, bounded(&what, move || open(n)), "a FIFO", &name);
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn directories_sockets_and_devices_are_refused() {
    let scratch = Scratch::file();
    let dir = scratch.target.backing_path().with_file_name("a-directory");
    std::fs::create_dir(&dir).unwrap();
    every_file_open(&dir, "a directory");

    let socket = scratch.target.backing_path().with_file_name("a-socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    every_file_open(&socket, "a socket");

    // Read-write too: nothing is ever written to what is not ours.
    every_file_open(Path::new("/dev/null"), "a character device");
}
