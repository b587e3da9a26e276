//! The system calls of the baselines and the harness: CPU pinning, a raw
//! shared mapping of a POSIX shm object, a robust pthread mutex, futexes,
//! child processes.

use std::ffi::CString;
use std::marker::PhantomData;
use std::process::{Child, Command, Stdio};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};
use std::time::Duration;

/// The parent's CPU.
pub const PARENT_CPU: usize = 0;
/// The children's CPU, except in same-CPU rows.
pub const CHILD_CPU: usize = 1;

/// The environment variable that tells a child which CPU to pin itself to.
const CHILD_CPU_ENV: &str = "SHM_BENCH_CHILD_CPU";

/// Pins the calling process (and the threads and children it makes later) to `cpu`.
pub fn pin_to(cpu: usize) {
    // SAFETY: `cpu_set_t` is plain data for which all zeroes is the empty
    // set; CPU_SET writes inside it (cpu < CPU_SETSIZE on any machine this
    // runs on) and sched_setaffinity only reads it.
    let failed = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0
    };
    if failed {
        eprintln!(
            "warning: sched_setaffinity({cpu}) failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Lets the calling process (and the threads and children it makes later)
/// run on every online CPU again.
pub fn unpin() {
    // SAFETY: as in `pin_to`: plain data, CPU_SET within the set's size.
    let failed = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..online_cpus().min(libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0
    };
    if failed {
        eprintln!(
            "warning: sched_setaffinity(all) failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The CPUs online (not just those this process may run on).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Re-executes this binary as `shm-bench --child <mode> <args>`, pinned to `cpu`.
pub fn spawn_child(cpu: usize, mode: &str, args: &[&str]) -> Child {
    Command::new(std::env::current_exe().expect("current_exe"))
        .arg("--child")
        .arg(mode)
        .args(args)
        .env(CHILD_CPU_ENV, cpu.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child")
}

/// Like [`spawn_child`], with the child's standard input and output piped
/// (the zenoh rows talk to their child through them).
pub fn spawn_child_piped(cpu: Option<usize>, mode: &str, args: &[&str]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("current_exe"));
    command.arg("--child").arg(mode).args(args);
    if let Some(cpu) = cpu {
        command.env(CHILD_CPU_ENV, cpu.to_string());
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the
/// machine, so a child can subtract a time the parent took.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec that clock_gettime writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Waits for a child and insists that it succeeded.
pub fn reap(mut child: Child, what: &str) {
    let status = child.wait().expect("wait for child");
    assert!(status.success(), "child `{what}` failed: {status}");
}

/// What a child does first: die with the parent (so an aborted run leaves
/// no process spinning) and pin itself where the parent said.
pub fn child_setup() {
    // SAFETY: getppid and prctl(PR_SET_PDEATHSIG) have no memory effects.
    let orphaned = unsafe {
        let parent = libc::getppid();
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::getppid() != parent
    };
    if orphaned {
        std::process::exit(1);
    }
    if let Some(cpu) = std::env::var(CHILD_CPU_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pin_to(cpu);
    }
}

/// A word that can live in a [`RawSeg`]: an atomic, valid for every bit
/// pattern and only ever accessed atomically.
pub trait SharedWord {}
impl SharedWord for AtomicU32 {}
impl SharedWord for AtomicI32 {}
impl SharedWord for AtomicU64 {}

/// The plain shared mapping of the baselines: a POSIX shm object, sized
/// with `ftruncate` and mapped `MAP_SHARED`; the creator unlinks it on drop.
#[derive(Debug)]
pub struct RawSeg {
    name: String,
    ptr: NonNull<u8>,
    len: usize,
    owner: bool,
}

impl RawSeg {
    /// Creates `/shm-bench-<pid>-raw-<tag>` of `len` bytes (all zero).
    pub fn create(tag: &str, len: usize) -> RawSeg {
        let name = format!("/shm-bench-{}-raw-{tag}", std::process::id());
        let c_name = CString::new(name.clone()).expect("shm name");
        // SAFETY: `c_name` is a NUL-terminated string that outlives the calls.
        let fd = unsafe {
            libc::shm_open(
                c_name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                0o600,
            )
        };
        assert!(
            fd >= 0,
            "shm_open {name}: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: `fd` is the descriptor just opened.
        let sized = unsafe { libc::ftruncate(fd, len as libc::off_t) } == 0;
        assert!(
            sized,
            "ftruncate {name}: {}",
            std::io::Error::last_os_error()
        );
        let ptr = map(fd, len, &name);
        RawSeg {
            name,
            ptr,
            len,
            owner: true,
        }
    }

    /// Maps an object that another process created.
    pub fn open(name: &str) -> RawSeg {
        let c_name = CString::new(name).expect("shm name");
        // SAFETY: `c_name` is a NUL-terminated string that outlives the call.
        let fd = unsafe { libc::shm_open(c_name.as_ptr(), libc::O_RDWR, 0) };
        assert!(
            fd >= 0,
            "shm_open {name}: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: an all-zero `stat` is a valid value; fstat overwrites it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open and `st` is a valid `stat` to write into.
        let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
        assert!(ok, "fstat {name}: {}", std::io::Error::last_os_error());
        let len = st.st_size as usize;
        let ptr = map(fd, len, name);
        RawSeg {
            name: name.to_owned(),
            ptr,
            len,
            owner: false,
        }
    }

    /// The object's name, for a child to [`open`](Self::open).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The start of the mapping.
    pub fn base(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The atomic word at byte `offset`.
    pub fn at<T: SharedWord>(&self, offset: usize) -> &T {
        assert!(offset + size_of::<T>() <= self.len, "word past the mapping");
        assert_eq!(offset % align_of::<T>(), 0, "misaligned word");
        // SAFETY: in bounds and aligned (asserted; the mapping is
        // page-aligned); `T` is an atomic (`SharedWord`), valid for every bit
        // pattern and accessed only atomically by every process, and the
        // mapping lives as long as the borrow of `self`.
        unsafe { &*self.ptr.as_ptr().add(offset).cast::<T>() }
    }
}

/// Maps `len` bytes of `fd` read-write, shared, and closes `fd`.
fn map(fd: i32, len: usize, name: &str) -> NonNull<u8> {
    // SAFETY: a fresh mapping chosen by the kernel aliases nothing of ours;
    // `fd` is open read-write and at least `len` long.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    let error = std::io::Error::last_os_error();
    // SAFETY: `fd` is ours to close; the mapping keeps the object alive.
    unsafe { libc::close(fd) };
    assert!(p != libc::MAP_FAILED, "mmap {name}: {error}");
    NonNull::new(p.cast()).expect("mmap returned null")
}

impl Drop for RawSeg {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are the mapping made in `map`, and no borrow
        // of it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        if self.owner {
            if let Ok(name) = CString::new(self.name.clone()) {
                // SAFETY: a NUL-terminated name; unlinking has no memory effects.
                unsafe { libc::shm_unlink(name.as_ptr()) };
            }
        }
    }
}

/// A robust, process-shared pthread mutex inside a [`RawSeg`]: the writer
/// lock of the `update` and `store` baselines.
#[derive(Debug)]
pub struct RobustMutex<'m> {
    mutex: *mut libc::pthread_mutex_t,
    _seg: PhantomData<&'m RawSeg>,
}

impl<'m> RobustMutex<'m> {
    /// Initialises a mutex at byte `offset` of `seg`.
    ///
    /// # Safety
    ///
    /// Nothing else uses the bytes `offset..offset + size_of::<pthread_mutex_t>()`
    /// of the mapping while the returned value lives.
    pub unsafe fn init(seg: &'m RawSeg, offset: usize) -> Self {
        assert!(offset + size_of::<libc::pthread_mutex_t>() <= seg.len());
        // SAFETY: in bounds (asserted just above).
        let mutex = unsafe { seg.base().add(offset) }.cast::<libc::pthread_mutex_t>();
        assert_eq!(mutex as usize % align_of::<libc::pthread_mutex_t>(), 0);
        // SAFETY: `attr` is initialised by pthread_mutexattr_init before use
        // and destroyed after; `mutex` is in bounds and aligned (asserted)
        // and unused by anything else (the caller's promise).
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
            assert_eq!(
                libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED),
                0
            );
            assert_eq!(
                libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST),
                0
            );
            assert_eq!(libc::pthread_mutex_init(mutex, &attr), 0);
            libc::pthread_mutexattr_destroy(&mut attr);
        }
        RobustMutex {
            mutex,
            _seg: PhantomData,
        }
    }

    /// Locks, taking over a mutex whose holder died (`EOWNERDEAD`).
    #[inline(always)]
    pub fn lock(&self) {
        // SAFETY: `mutex` was initialised in `init` and lives in the mapping,
        // which outlives `self`.
        let r = unsafe { libc::pthread_mutex_lock(self.mutex) };
        if r == libc::EOWNERDEAD {
            // SAFETY: as above; EOWNERDEAD means this thread holds it now.
            unsafe { libc::pthread_mutex_consistent(self.mutex) };
        }
    }

    /// Unlocks; the caller holds the lock.
    #[inline(always)]
    pub fn unlock(&self) {
        // SAFETY: as in `lock`; the caller holds the mutex.
        unsafe { libc::pthread_mutex_unlock(self.mutex) };
    }
}

impl Drop for RobustMutex<'_> {
    fn drop(&mut self) {
        // SAFETY: initialised in `init`; with `self` gone nobody uses it.
        unsafe { libc::pthread_mutex_destroy(self.mutex) };
    }
}

/// Sleeps while `word` holds `expected`. A shared (not `FUTEX_PRIVATE`)
/// futex: the waker is another process.
pub fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call;
    // a null timeout means no timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// As [`futex_wait`], for at most `timeout` (relative, CLOCK_MONOTONIC).
pub fn futex_wait_for(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 and `ts` a valid timespec for
    // the duration of the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        );
    }
}

/// Wakes one process sleeping on `word`.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1);
    }
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(
        r,
        0,
        "clock_gettime(CLOCK_THREAD_CPUTIME_ID): {}",
        std::io::Error::last_os_error()
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
