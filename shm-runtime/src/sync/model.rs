//! The world the sync protocols run in, as loom models it. Built only with
//! `--cfg loom`, for the model tests (`loom_tests.rs`).
//!
//! Loom checks the atomics it made and the threads it runs, nothing else.
//! What the protocols take from outside is modelled here:
//!
//! - **Shared memory.** The payload and the journal are bytes of a mapping;
//!   here each scalar of them is a loom atomic, a *cell*, registered at its
//!   address. An access as wide as a cell is one atomic operation on it; a
//!   wider one (the copy's 8-byte loads over 4-byte fields) is one per cell,
//!   each at its field's width. That is the word-by-word copy that stands in
//!   for the 16-byte vector loads, whose atomicity is the hardware's.
//! - **Processes.** Each loom thread is a process, with its own pid and
//!   token ([`enter_process`]). [`liveness`] answers from a dead flag per
//!   process, set (`Release`) as the process dies and read (`Acquire`) by
//!   the verdict: a process learns that another is gone only after
//!   everything the other did, as the kernel's exit and `/proc` make it.
//!   A process told to die at its n-th step ([`doom`]) stops there: it
//!   unwinds to the top of its thread without unlocking anything (its
//!   `LockGuard` sees [`this_process_died`]). Steps are the fault pause
//!   points of the protocols and every store to a cell.
//! - **Futexes.** A loom mutex and condvar per futex word: a wait checks the
//!   word under the mutex and sleeps on the condvar, a wake notifies under
//!   it, as the kernel does under its hash-bucket lock. A wait never returns
//!   spuriously here (the callers re-check anyway).
//! - **Time.** Each look at the clock moves it on by one liveness period, so
//!   every period the protocols wait for has passed by their next look.
//!   A futex wait of at most a liveness period (the lock waiter's poll)
//!   elapses at once, after a yield, if the world's `polls_elapse` says so;
//!   a longer one (a caller's `wait_for_change` timeout) ends only when
//!   woken, so a lost wake-up leaves a thread asleep forever: a deadlock,
//!   which loom reports.
//!
//! The world lives in a thread-local of the OS thread that runs the model:
//! loom runs all of a model's threads as coroutines on it, so they all see
//! the one world, and models on other OS threads (tests run in parallel)
//! have their own.

// The half that builds worlds and plays processes serves the tests alone.
#![cfg_attr(not(test), allow(dead_code))]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use loom::sync::{Condvar, Mutex};

use super::atomics::Ordering::{self, Acquire, Relaxed, Release};
use super::object::Object;
use super::owner::{self, Liveness, OWNER_MASK};
use super::LIVENESS_PERIOD;

/// What the model knows besides loom's own objects. Built by [`Builder`],
/// installed for the current execution with [`Builder::install`].
pub(crate) struct World {
    /// The cells of shared memory, by address.
    cells: BTreeMap<usize, MemoryCell>,
    futexes: BTreeMap<usize, Futex>,
    /// Whether each process (by pid; 0 is nobody) is gone.
    dead: Vec<AtomicBool>,
    /// Liveness periods since the execution began.
    clock: Cell<u64>,
    polls_elapse: bool,
    /// The steps a recording process went through (`record_steps`).
    steps: RefCell<Vec<String>>,
}

struct MemoryCell {
    /// Which mapping it belongs to and where in it, for step names.
    name: &'static str,
    offset: usize,
    width: usize,
    value: AtomicU64,
}

struct Futex {
    mutex: Mutex<()>,
    woken: Condvar,
}

std::thread_local! {
    static WORLD: RefCell<Option<Rc<World>>> = const { RefCell::new(None) };
}

fn world() -> Rc<World> {
    WORLD
        .with(|world| world.borrow().clone())
        .expect("a protocol ran under loom without a model world: build one with model::Builder")
}

/// Describes a world; [`install`](Builder::install) makes it current.
pub(crate) struct Builder {
    world: World,
}

impl Builder {
    /// A world of `processes` processes (pids 1 to `processes`), all alive.
    pub(crate) fn new(processes: u32) -> Builder {
        Builder {
            world: World {
                cells: BTreeMap::new(),
                futexes: BTreeMap::new(),
                dead: (0..=processes).map(|_| AtomicBool::new(false)).collect(),
                clock: Cell::new(0),
                polls_elapse: true,
                steps: RefCell::new(Vec::new()),
            },
        }
    }

    /// Whether futex waits of at most a liveness period elapse (the lock
    /// waiter then polls its owner), or end only when woken (a lost wake-up
    /// of the lock is then a deadlock). The first is needed where a lock
    /// holder dies.
    pub(crate) fn polls_elapse(mut self, elapse: bool) -> Builder {
        self.world.polls_elapse = elapse;
        self
    }

    /// Makes `width`-byte cells at the `offsets` of the memory at `base`,
    /// each holding the bytes there now (little-endian).
    ///
    /// # Safety
    ///
    /// `base` is valid for reads at every cell, and stays valid, unused by
    /// anything but the model's cells, while the world is installed.
    pub(crate) unsafe fn memory(
        mut self,
        name: &'static str,
        base: *const u8,
        cells: impl IntoIterator<Item = (usize, usize)>,
    ) -> Builder {
        for (offset, width) in cells {
            let mut bytes = [0u8; 8];
            // SAFETY: the caller's promise; `width` is at most 8 (below).
            unsafe { std::ptr::copy_nonoverlapping(base.add(offset), bytes.as_mut_ptr(), width) };
            assert!(matches!(width, 1 | 2 | 4 | 8), "a cell of {width} bytes");
            let cell = MemoryCell {
                name,
                offset,
                width,
                value: AtomicU64::new(u64::from_le_bytes(bytes)),
            };
            let previous = self.world.cells.insert(base as usize + offset, cell);
            assert!(previous.is_none(), "two cells at {name}+{offset}");
        }
        self
    }

    /// Makes `word` a futex of the model.
    pub(crate) fn futex(mut self, word: &AtomicU32) -> Builder {
        let futex = Futex {
            mutex: Mutex::new(()),
            woken: Condvar::new(),
        };
        self.world
            .futexes
            .insert(word as *const AtomicU32 as usize, futex);
        self
    }

    /// Makes this world the current execution's, until the returned guard
    /// drops.
    pub(crate) fn install(self) -> Installed {
        WORLD.with(|world| *world.borrow_mut() = Some(Rc::new(self.world)));
        Installed(())
    }
}

/// The installed world; dropping it uninstalls it (loom's objects in it
/// belong to one execution).
#[must_use]
pub(crate) struct Installed(());

impl Installed {
    /// The steps recorded by a process that called [`record_steps`].
    pub(crate) fn recorded_steps(&self) -> Vec<String> {
        world().steps.borrow().clone()
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        WORLD.with(|world| world.borrow_mut().take());
    }
}

// --- Shared memory ---------------------------------------------------------

impl World {
    /// Applies `each` to the cells that make up the `width` bytes at `at`,
    /// with each cell's byte offset inside the access.
    fn cells(&self, at: *const u8, width: usize, mut each: impl FnMut(&MemoryCell, usize)) {
        let start = at as usize;
        let mut next = start;
        while next < start + width {
            let Some(cell) = self.cells.get(&next) else {
                panic!("an access of {width} bytes at {at:p} touches no cell, or part of one");
            };
            assert!(
                next + cell.width <= start + width,
                "an access of {width} bytes at {at:p} covers part of the {}-byte cell {}+{}",
                cell.width,
                cell.name,
                cell.offset
            );
            each(cell, next - start);
            next += cell.width;
        }
    }
}

/// Loads the `width` bytes at `at`: one load per cell they cover, each with
/// `order`, assembled little-endian.
pub(crate) fn load(at: *const u8, width: usize, order: Ordering) -> u64 {
    let mut value = 0u64;
    world().cells(at, width, |cell, shift| {
        value |= cell.value.load(order) << (8 * shift);
    });
    value
}

/// Stores the `width` bytes at `at`: one store per cell, each with `order`
/// and each a step of the storing process.
pub(crate) fn store(at: *const u8, width: usize, value: u64, order: Ordering) {
    let world = world();
    world.cells(at, width, |cell, shift| {
        let mask = u64::MAX >> (64 - 8 * cell.width);
        cell.value.store((value >> (8 * shift)) & mask, order);
        step(|| format!("store {}+{}", cell.name, cell.offset));
    });
}

/// `fetch_add` on the one cell at `at`, as a field-level write does it.
pub(crate) fn fetch_add(at: *const u8, width: usize, value: u64, order: Ordering) -> u64 {
    let world = world();
    let mut old = None;
    world.cells(at, width, |cell, _| {
        assert!(old.is_none(), "a field-level write is one scalar");
        let mask = u64::MAX >> (64 - 8 * cell.width);
        let before = cell.value.fetch_add(value, order);
        assert!(
            before.wrapping_add(value) <= mask,
            "a model's counter overflowed its field"
        );
        old = Some(before);
    });
    old.expect("a cell")
}

// --- Processes -------------------------------------------------------------

/// Unwound with by a process that dies.
#[derive(Debug)]
pub(crate) struct Died;

#[derive(Default)]
struct Me {
    pid: u32,
    /// Die at this step (1 is the first).
    die_at: Option<usize>,
    /// Stop at this step until the flag is set.
    stall_at: Option<(usize, std::sync::Arc<AtomicBool>)>,
    steps: usize,
    record: bool,
    died: bool,
}

loom::thread_local! {
    static ME: RefCell<Me> = RefCell::new(Me::default());
}

/// Makes the calling loom thread the process `pid` (its only thread).
pub(crate) fn enter_process(pid: u32) {
    ME.with(|me| me.borrow_mut().pid = pid);
}

/// The calling process dies at its `step`-th step (1 is the first).
pub(crate) fn doom(step: usize) {
    ME.with(|me| me.borrow_mut().die_at = Some(step));
}

/// The calling process, alive, stops at its `step`-th step until `go` is
/// set: a writer descheduled or SIGSTOPped mid-publish.
pub(crate) fn stall(step: usize, go: std::sync::Arc<AtomicBool>) {
    ME.with(|me| me.borrow_mut().stall_at = Some((step, go)));
}

/// The calling process records the names of its steps.
pub(crate) fn record_steps() {
    ME.with(|me| me.borrow_mut().record = true);
}

/// Whether the calling process has died (its code runs no more: only the
/// unwinding that models its end is under way).
pub(crate) fn this_process_died() -> bool {
    ME.with(|me| me.borrow().died)
}

/// Process `pid` is judged dead from now on, whether or not it still runs:
/// a wrong verdict, as a lock holder gets when it cannot be told apart from
/// a dead one.
pub(crate) fn judge_dead(pid: u32) {
    world().dead[pid as usize].store(true, Release);
}

/// Runs `f` in the calling process; `None` if the process died in it.
pub(crate) fn unless_died<R>(f: impl FnOnce() -> R) -> Option<R> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(payload) if payload.is::<Died>() => None,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// The calling process's token: its pid and an odd tag.
pub(crate) fn current() -> u64 {
    let pid = ME.with(|me| me.borrow().pid);
    assert_ne!(
        pid, 0,
        "a loom thread that is no process: call enter_process"
    );
    (u64::from(pid) << 32) | 1
}

/// The model's verdict on the process `token` names: its dead flag. A
/// token no process makes is dead at once, as `owner::liveness` judges it.
pub(crate) fn liveness(token: u64, _object: &Object) -> Liveness {
    let token = token & OWNER_MASK;
    if owner::never_made(token) {
        return Liveness::Dead;
    }
    let pid = (token >> 32) as usize;
    if token == current() {
        return Liveness::Alive;
    }
    match world().dead.get(pid) {
        Some(dead) if dead.load(Acquire) => Liveness::Dead,
        Some(_) => Liveness::Alive,
        None => Liveness::Dead, // no process of the model has this pid
    }
}

/// A step of the calling process: a pause point of the protocols, or a
/// store to a cell (`name` says which). A doomed process dies here if this
/// is its step; a stalled one waits here.
fn step(name: impl FnOnce() -> String) {
    let (step, record) = ME.with(|me| {
        let mut me = me.borrow_mut();
        me.steps += 1;
        (me.steps, me.record)
    });
    if record {
        world().steps.borrow_mut().push(name());
    }
    let (die_at, stall_at) = ME.with(|me| {
        let me = me.borrow();
        (me.die_at, me.stall_at.clone())
    });
    if let Some((at, go)) = stall_at {
        if at == step {
            while !go.load(Acquire) {
                loom::thread::yield_now();
            }
        }
    }
    if die_at == Some(step) {
        let pid = ME.with(|me| {
            let mut me = me.borrow_mut();
            me.died = true;
            me.pid
        });
        // Release: whoever learns of the death learns of all it did first.
        world().dead[pid as usize].store(true, Release);
        // Not a panic: no message, the panic hook is not called.
        std::panic::resume_unwind(Box::new(Died));
    }
}

/// The protocols' fault pause points (`crate::fault`) are steps here.
pub(crate) fn pause_point(point: &str) {
    if WORLD.with(|world| world.borrow().is_some()) {
        step(|| point.to_owned());
    }
}

// --- Futexes ---------------------------------------------------------------

/// `FUTEX_WAIT`: sleeps while `word` holds `expected`, until woken; a wait
/// of at most a liveness period elapses instead if the world says polls do.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let world = world();
    let futex = world
        .futexes
        .get(&(word as *const AtomicU32 as usize))
        .expect("a futex word of the model");
    let guard = futex.mutex.lock().unwrap();
    // Relaxed: the mutex orders this after any wake that came first, and so
    // after the waker's change of the word (the kernel's bucket lock does so).
    if word.load(Relaxed) != expected {
        return;
    }
    if world.polls_elapse && timeout <= LIVENESS_PERIOD {
        drop(guard);
        loom::thread::yield_now();
        return;
    }
    drop(futex.woken.wait(guard).unwrap());
}

/// `FUTEX_WAKE`: wakes one waiter of `word`, or all of them.
pub(crate) fn futex_wake(word: &AtomicU32, count: i32) {
    let world = world();
    let futex = world
        .futexes
        .get(&(word as *const AtomicU32 as usize))
        .expect("a futex word of the model");
    let _guard = futex.mutex.lock().unwrap();
    if count == 1 {
        futex.woken.notify_one();
    } else {
        futex.woken.notify_all();
    }
}

// --- Time ------------------------------------------------------------------

/// The model's clock: time is counted in liveness periods, and each look at
/// it moves it on by one.
pub(crate) mod clock {
    use std::ops::Add;
    use std::time::Duration;

    use super::{world, LIVENESS_PERIOD};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    pub(crate) struct Instant(u64);

    /// Whole periods in `d`, rounded up.
    fn periods(d: Duration) -> u64 {
        let n = d.as_nanos().div_ceil(LIVENESS_PERIOD.as_nanos());
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    impl Instant {
        pub(crate) fn now() -> Instant {
            let world = world();
            let now = world.clock.get() + 1;
            world.clock.set(now);
            Instant(now)
        }

        pub(crate) fn elapsed(&self) -> Duration {
            Instant::now()
                .checked_duration_since(*self)
                .unwrap_or_default()
        }

        pub(crate) fn checked_add(&self, d: Duration) -> Option<Instant> {
            self.0.checked_add(periods(d)).map(Instant)
        }

        pub(crate) fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
            let n = self.0.checked_sub(earlier.0)?;
            Some(LIVENESS_PERIOD.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)))
        }
    }

    impl Add<Duration> for Instant {
        type Output = Instant;

        fn add(self, d: Duration) -> Instant {
            Instant(self.0.saturating_add(periods(d)))
        }
    }

    /// Sleeping lets the other threads run.
    pub(crate) fn sleep(_: Duration) {
        loom::thread::yield_now();
    }
}
