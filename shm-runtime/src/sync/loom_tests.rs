//! Model tests of the sync protocols: loom runs the real `Shared<T>` code
//! (`update`, `snapshot`, `wait_for_change`, and the writer lock under
//! them) as 2 to 3 simulated processes, over every interleaving and every
//! value each relaxed or acquire load may return, within loom's bounds.
//! The model of what loom cannot see (shared memory, processes and their
//! deaths, futexes, time) is `model.rs`; `docs/loom.md` says what this
//! proves and what it does not.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p shm-runtime --release --lib loom -- --nocapture --test-threads=1
//! ```

use std::mem::offset_of;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicBool;
use loom::thread;

use super::atomics::Ordering::{AcqRel, Acquire, Relaxed, Release};
use super::model::{self, Builder, Installed};
use super::object::Object;
use super::owner::ObjectId;
use super::{journal, lock, runs, SyncArea, SYNC_OFFSET};
use crate::header::Geometry;
use crate::mapping::Mapping;
use crate::os::Access;
use crate::{Location, Shared, SharedState};

/// The models' structs. Every update keeps `a == b`: a reader that ever
/// sees them differ saw a torn state.
trait Model: SharedState + std::fmt::Debug {
    fn ab(&self) -> (u32, u32);
    fn add(&mut self, n: u32);
}

/// The smallest struct with an invariant across fields.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[shm(crate = "crate")]
#[repr(C)]
struct Pair {
    a: u32,
    b: u32,
}

/// A pair and a counter `c` that only field-level `fetch_add`s change,
/// which no update may clobber.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[shm(crate = "crate")]
#[repr(C)]
struct Triple {
    a: u32,
    b: u32,
    c: u32,
}

impl Model for Pair {
    fn ab(&self) -> (u32, u32) {
        (self.a, self.b)
    }
    fn add(&mut self, n: u32) {
        self.a += n;
        self.b += n;
    }
}

impl Model for Triple {
    fn ab(&self) -> (u32, u32) {
        (self.a, self.b)
    }
    fn add(&mut self, n: u32) {
        self.a += n;
        self.b += n;
    }
}

/// Adds `n` to `a` and `b`, as one update.
fn add<T: Model>(shared: &Shared<T>, n: u32) {
    shared.update(|v| v.add(n));
}

/// A snapshot, checked untorn (`a == b`); returns it and `a`.
fn snapshot<T: Model>(shared: &Shared<T>) -> (T, u32) {
    let v = shared.snapshot();
    let (a, b) = v.ab();
    assert_eq!(a, b, "a torn snapshot: {v:?}");
    (v, a)
}

const OBJECT: ObjectId = ObjectId { dev: 0, ino: 1 };

/// A region of one execution of a model: a real `Shared<T>` over an
/// anonymous mapping laid out as a region is, with its sync area made of
/// loom's atomics and its payload and journal cells of the model.
struct Region<T: Model> {
    shared: Arc<Shared<T>>,
    base: usize,
    payload: usize,
    /// Uninstalled after `shared` is dropped (declared after it).
    _world: Installed,
}

impl<T: Model> Region<T> {
    /// A region holding zeros, in a world of `processes` processes; see
    /// `Builder::polls_elapse`.
    fn new(processes: u32, polls_elapse: bool) -> Region<T> {
        let size = size_of::<T>();
        let geometry = Geometry::for_payload(size, align_of::<T>(), 0).unwrap();
        let map: memmap2::MmapRaw = memmap2::MmapOptions::new()
            .len(geometry.total_len as usize)
            .map_anon()
            .unwrap()
            .into();
        let base = map.as_mut_ptr();
        assert!(SYNC_OFFSET + size_of::<SyncArea>() <= geometry.payload_offset as usize);
        // SAFETY: the mapping is page-aligned and larger than the sync
        // area's place (asserted); nothing else uses it yet.
        unsafe {
            base.add(SYNC_OFFSET)
                .cast::<SyncArea>()
                .write(SyncArea::new())
        };
        let payload = geometry.payload_offset as usize;
        let journal = geometry.journal_offset as usize;
        let mapping = Mapping {
            map,
            geometry,
            location: Location::Shm("/loom-model".to_owned()),
            object: Object::in_model(OBJECT),
            access: Access::ReadWrite,
            created: true,
        };
        let shared = Arc::new(Shared::<T>::new(mapping).unwrap());
        let cells = runs::runs(T::TYPE)
            .into_iter()
            .flat_map(|run| (0..run.count).map(move |i| (run.offset + i * run.width, run.width)));
        // SAFETY: the sync area was written just above, and the mapping
        // lives in `shared` as long as the region.
        let area = unsafe { &*base.add(SYNC_OFFSET).cast::<SyncArea>() };
        // SAFETY: the payload and journal lie in the mapping (checked by
        // `Shared::new`), which outlives the world (field order), and the
        // protocols reach them only through `Word`, that is, the cells.
        let world = unsafe {
            Builder::new(processes)
                .polls_elapse(polls_elapse)
                .memory("payload", base.add(payload), cells)
                .memory("journal", base.add(journal), journal_cells(size))
        }
        .futex(&area.lock_futex)
        .futex(&area.change_futex)
        .install();
        Region {
            shared,
            base: base as usize,
            payload: base as usize + payload,
            _world: world,
        }
    }

    fn area(&self) -> &SyncArea {
        // SAFETY: as in `new`.
        unsafe { &*(self.base as *const u8).add(SYNC_OFFSET).cast::<SyncArea>() }
    }

    /// The address of the payload's byte `offset`, for field-level writes.
    fn field(&self, offset: usize) -> usize {
        self.payload + offset
    }

    /// The sync area is at rest: even sequence, no journal entry, unlocked.
    fn assert_at_rest(&self) {
        let area = self.area();
        assert_eq!(area.seq.load(Relaxed) & 1, 0, "seq odd at rest");
        assert_eq!(area.journal_target.load(Relaxed), 0, "journal not retired");
        assert_eq!(area.lock.load(Relaxed), 0, "still locked");
    }
}

/// The journal's cells for a payload of `size` bytes: the kind and count
/// words, then either each copy in the pieces the copy moves it in (8-byte
/// words, then a 4-, 2- and 1-byte tail), for a payload that journals
/// copies, or one range: its start and end words and its 8 bytes, for one
/// that journals ranges (`raw::SMALL_PAYLOAD`; the models' `Triple`, whose
/// updates and stores change `a` and `b`, bytes 0..8, together). An
/// access that fits no cell fails the model.
fn journal_cells(size: usize) -> Vec<(usize, usize)> {
    if size > crate::raw::SMALL_PAYLOAD {
        assert!(size <= 64, "a model payload of one cache line");
        return vec![(0, 8), (8, 8), (64, 8), (72, 8), (80, 8)];
    }
    let mut cells = vec![(0, 8), (8, 8)];
    let copy = size.div_ceil(64) * 64;
    for start in [64, 64 + copy] {
        let mut at = 0;
        while at + 8 <= size {
            cells.push((start + at, 8));
            at += 8;
        }
        for width in [4, 2, 1] {
            if at + width <= size {
                cells.push((start + at, width));
                at += width;
            }
        }
    }
    assert_eq!(journal::len(size), 64 + 2 * copy);
    cells
}

/// A counter only writers holding the lock touch: loom reports any two
/// accesses that overlap, which is exactly a failure of mutual exclusion.
struct Exclusive(UnsafeCell<u32>);

// SAFETY: shared so that loom can check it is never accessed by two
// threads at once; a test failure, not undefined behaviour, if it is.
unsafe impl Sync for Exclusive {}

/// `SharedCell::<u32>::fetch_add` on the field at `at`: one `AcqRel`
/// read-modify-write of its width (the cell's own code casts to a `std`
/// atomic, which loom cannot see).
fn fetch_add_u32(at: usize, n: u32) {
    model::fetch_add(at as *const u8, 4, u64::from(n), AcqRel);
}

/// Runs `f` as process `pid` on a loom thread.
fn process<R: Send + 'static>(
    pid: u32,
    f: impl FnOnce() -> R + Send + 'static,
) -> thread::JoinHandle<R> {
    thread::spawn(move || {
        model::enter_process(pid);
        f()
    })
}

/// The preemption bound of the models with three processes: every
/// interleaving with at most this many preemptions (a thread switched out
/// while it could go on). `LOOM_MAX_PREEMPTIONS` overrides it.
const PREEMPTIONS: Option<usize> = Some(2);

/// Checks `f` under loom, preemptions bounded by `preemptions` if given,
/// and says how long it took.
fn check(name: &str, preemptions: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let started = Instant::now();
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    let executions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = executions.clone();
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    let executions = executions.load(Relaxed);
    eprintln!(
        "loom model {name}: {executions} executions, {:.2?}",
        started.elapsed()
    );
}

/// The steps (fault pause points and cell stores) of one update publishing
/// a change of `a` and `b`, in order, as `model::doom` counts them.
fn publish_steps<T: Model>() -> Vec<String> {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let out = steps.clone();
    loom::model(move || {
        let region = Region::<T>::new(1, true);
        model::enter_process(1);
        model::record_steps();
        add(&*region.shared, 1);
        *out.lock().unwrap() = region._world.recorded_steps();
    });
    let steps = steps.lock().unwrap().clone();
    assert!(steps.iter().any(|s| s == "journal-committed"), "{steps:?}");
    steps
}

/// Lock: two writers' increments both land (mutual exclusion, no lost
/// update), a concurrent reader never sees a torn state, and the second
/// writer, asleep on the lock's futex with no timeout to save it, is woken
/// (no stranded waiter).
#[test]
fn loom_two_writers_lose_no_update() {
    check("two_writers_lose_no_update", PREEMPTIONS, || {
        let region = Region::<Pair>::new(3, false);
        let writers: Vec<_> = (1..=2)
            .map(|pid| {
                let shared = region.shared.clone();
                process(pid, move || add(&*shared, 1))
            })
            .collect();
        let shared = region.shared.clone();
        let reader = process(3, move || snapshot(&*shared).1);
        for writer in writers {
            writer.join().unwrap();
        }
        assert!(reader.join().unwrap() <= 2);
        model::enter_process(3);
        assert_eq!(snapshot(&*region.shared).1, 2, "an update was lost");
        region.assert_at_rest();
    });
}

/// Lock: a holder judged dead while it still runs (a wrong verdict) has its
/// lock taken over; its unlock must not release the taker's lock, or a
/// third writer would enter beside the taker. The two later writers'
/// critical sections touch a loom `UnsafeCell`: loom fails on any overlap.
#[test]
fn loom_unlock_only_by_the_owner() {
    check("unlock_only_by_the_owner", PREEMPTIONS, || {
        // Nobody dies, so no wait needs a timeout: a waiter takes the lock
        // over if it judges before it sleeps, and is woken otherwise.
        let region = Region::<Pair>::new(3, false);
        let exclusive = Arc::new(Exclusive(UnsafeCell::new(0u32)));
        let base = region.base;
        let area = move || {
            // SAFETY: the region outlives the threads (joined below).
            unsafe { &*(base as *const u8).add(SYNC_OFFSET).cast::<SyncArea>() }
        };
        let wrongly_judged = process(1, move || {
            let guard = lock::lock(area(), &Object::in_model(OBJECT));
            model::judge_dead(1);
            drop(guard);
        });
        let writers: Vec<_> = (2..=3)
            .map(|pid| {
                let exclusive = exclusive.clone();
                process(pid, move || {
                    let guard = lock::lock(area(), &Object::in_model(OBJECT));
                    // SAFETY: loom checks that no other thread is in here.
                    exclusive.0.with_mut(|n| unsafe { *n += 1 });
                    drop(guard);
                })
            })
            .collect();
        wrongly_judged.join().unwrap();
        for writer in writers {
            writer.join().unwrap();
        }
        // SAFETY: every thread that touched it has been joined.
        assert_eq!(exclusive.0.with(|n| unsafe { *n }), 2);
        assert_eq!(region.area().lock.load(Relaxed), 0, "lock left held");
    });
}

/// Publish and recover, by the next writer: a writer dies (stops for good,
/// releasing nothing) at each step of its publish in turn, one model per
/// step, while another writer makes a field-level `fetch_add` on `c` and
/// then an update of its own.
///
/// - The second writer always gets the lock (it inherits and recovers).
/// - The end state is after the dead update if it died at or after its
///   commit, before it otherwise: never between.
/// - The `fetch_add` on `c`, which the dead update did not change, is never
///   lost to the recovery.
#[test]
fn loom_a_writer_dying_at_each_step_is_recovered_by_the_next_writer() {
    for_each_step_of_a_publish(|die_at, committed| {
        let region = Region::<Triple>::new(3, true);
        let doomed = doomed_writer(&region, die_at);
        let (shared, c) = (region.shared.clone(), region.field(offset_of!(Triple, c)));
        let heir = process(2, move || {
            fetch_add_u32(c, 1);
            add(&*shared, 10);
        });
        assert!(doomed.join().unwrap().is_none(), "did not die");
        heir.join().unwrap();
        check_end(&region, if committed { 11 } else { 10 });
    });
}

/// Publish and recover, by a reader: as above, but the other process only
/// makes its `fetch_add` and takes a snapshot. The snapshot is never torn;
/// if it finds the publish stuck half-done, it recovers it (the owner is
/// dead) without clobbering `c`.
#[test]
fn loom_a_writer_dying_at_each_step_is_recovered_by_a_reader() {
    for_each_step_of_a_publish(|die_at, committed| {
        let region = Region::<Triple>::new(3, true);
        let doomed = doomed_writer(&region, die_at);
        let (shared, c) = (region.shared.clone(), region.field(offset_of!(Triple, c)));
        let reader = process(2, move || {
            fetch_add_u32(c, 1);
            snapshot(&*shared)
        });
        assert!(doomed.join().unwrap().is_none(), "did not die");
        let (seen, a) = reader.join().unwrap();
        assert!(a <= 1 && seen.c == 1, "{seen:?}");
        check_end(&region, u32::from(committed));
    });
}

/// Both at once, where it matters most: the writer dies with `a` stored and
/// `b` not, a reader takes a snapshot while the next writer recovers and
/// updates. Three processes: preemptions bounded by one.
#[test]
fn loom_a_reader_races_the_recovery_of_a_half_applied_publish() {
    let steps = publish_steps::<Triple>();
    let die_at = 1 + steps.iter().position(|s| s == "store payload+0").unwrap();
    check("reader_races_recovery", Some(1), move || {
        let region = Region::<Triple>::new(3, true);
        let doomed = doomed_writer(&region, die_at);
        let shared = region.shared.clone();
        let heir = process(2, move || add(&*shared, 10));
        let shared = region.shared.clone();
        let reader = process(3, move || snapshot(&*shared).1);
        assert!(doomed.join().unwrap().is_none(), "did not die");
        heir.join().unwrap();
        assert!([0, 1, 10, 11].contains(&reader.join().unwrap()));
        model::enter_process(3);
        let (end, a) = snapshot(&*region.shared);
        assert_eq!((a, end.c), (11, 0), "{end:?}");
        region.assert_at_rest();
    });
}

/// Publish and recover, for `store`: a writer storing a new `a` and `b`
/// (compared with the region in place, journaled as one range) dies at
/// each step of its publish in turn, while a reader takes a snapshot. The
/// snapshot is never torn, and the next lock holder finds the region
/// before the store if the writer died before its commit, after it
/// otherwise.
#[test]
fn loom_a_storing_writer_dying_at_each_step_is_recovered() {
    let steps = store_steps();
    eprintln!("store steps: {steps:?}");
    let commit = 1 + steps.iter().position(|s| s == "journal-committed").unwrap();
    for (index, step) in steps.iter().enumerate() {
        let die_at = index + 1;
        let name = format!("store_dies_at_{die_at}_{step}");
        check(&name, PREEMPTIONS, move || {
            let region = Region::<Triple>::new(3, true);
            let shared = region.shared.clone();
            let doomed = process(1, move || {
                model::doom(die_at);
                model::unless_died(|| store_one(&shared))
            });
            let shared = region.shared.clone();
            let reader = process(2, move || snapshot(&*shared).1);
            assert!(doomed.join().unwrap().is_none(), "did not die");
            assert!(reader.join().unwrap() <= 1);
            model::enter_process(3);
            region.shared.update(|_| ());
            let (end, a) = snapshot(&*region.shared);
            assert_eq!((a, end.c), (u32::from(die_at >= commit), 0), "{end:?}");
            region.assert_at_rest();
        });
    }
}

/// Stores `a = b = 1` (`c` as it is: 0) over a region of zeros.
fn store_one(shared: &Shared<Triple>) {
    shared.store(Triple { a: 1, b: 1, c: 0 });
}

/// The steps of [`store_one`], as `model::doom` counts them. It journals
/// one range, not copies: the models' `Triple` is above the loom build's
/// inline size (`raw::SMALL_PAYLOAD`).
fn store_steps() -> Vec<String> {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let out = steps.clone();
    loom::model(move || {
        let region = Region::<Triple>::new(1, true);
        model::enter_process(1);
        model::record_steps();
        store_one(&region.shared);
        *out.lock().unwrap() = region._world.recorded_steps();
    });
    let steps = steps.lock().unwrap().clone();
    assert!(steps.iter().any(|s| s == "journal-committed"), "{steps:?}");
    steps
}

/// Runs `model(die_at, committed)` under loom for each step of a publish of
/// a `Triple`: `committed` says whether the step is at or after the commit.
fn for_each_step_of_a_publish(model: fn(usize, bool)) {
    let steps = publish_steps::<Triple>();
    eprintln!("publish steps: {steps:?}");
    let commit = 1 + steps.iter().position(|s| s == "journal-committed").unwrap();
    for (index, step) in steps.iter().enumerate() {
        let die_at = index + 1;
        let name = format!("dies_at_{die_at}_{step}");
        check(&name, PREEMPTIONS, move || model(die_at, die_at >= commit));
    }
}

/// Process 1 adds 1 to `a` and `b`, dying at its `die_at`-th step; it
/// returns `None` if it died.
fn doomed_writer(region: &Region<Triple>, die_at: usize) -> thread::JoinHandle<Option<()>> {
    let shared = region.shared.clone();
    process(1, move || {
        model::doom(die_at);
        model::unless_died(|| add(&*shared, 1))
    })
}

/// Whatever a dead writer left, the next lock holder (process 3 here)
/// finishes: then `a` is `a`, and the one `fetch_add` on `c` is there.
fn check_end(region: &Region<Triple>, a: u32) {
    model::enter_process(3);
    region.shared.update(|_| ());
    let (end, got) = snapshot(&*region.shared);
    assert_eq!((got, end.c), (a, 1), "{end:?}");
    region.assert_at_rest();
}

/// The stuck reader: a live writer stops (descheduled, SIGSTOPped) at each
/// step where `seq` is odd, until a reader's snapshot returns. The reader
/// cannot recover (the owner lives) and must not wait: it reads the
/// committed journal entry, and what it returns is untorn, before or after
/// the update.
#[test]
fn loom_a_reader_does_not_wait_for_a_stopped_writer() {
    let steps = publish_steps::<Pair>();
    let odd = steps.iter().position(|s| s == "seq-odd").unwrap();
    let even = steps.iter().position(|s| s == "half-applied").unwrap();
    for (index, step) in steps.iter().enumerate().take(even + 1).skip(odd) {
        let stop_at = index + 1;
        check(
            &format!("writer_stops_at_{stop_at}_{step}"),
            None,
            move || {
                let region = Region::<Pair>::new(2, true);
                let go = Arc::new(AtomicBool::new(false));
                let (shared, resume) = (region.shared.clone(), go.clone());
                let writer = process(1, move || {
                    model::stall(stop_at, resume);
                    add(&*shared, 1);
                });
                let shared = region.shared.clone();
                let reader = process(2, move || {
                    let (_, a) = snapshot(&*shared);
                    go.store(true, Release);
                    a
                });
                assert!(reader.join().unwrap() <= 1);
                writer.join().unwrap();
                model::enter_process(2);
                assert_eq!(snapshot(&*region.shared).1, 1);
                region.assert_at_rest();
            },
        );
    }
}

/// The stuck reader racing a live writer: the model's clock lets a reader
/// that finds `seq` odd turn to the journal at once, while the writer
/// finishes and starts its next publish, rewriting the entry under it. The
/// reader's second look at `seq` and `journal_target` must catch that.
#[test]
fn loom_a_reader_of_the_journal_races_the_next_publish() {
    check("journal_reader_races_next_publish", PREEMPTIONS, || {
        let region = Region::<Pair>::new(2, true);
        let shared = region.shared.clone();
        let writer = process(1, move || {
            add(&*shared, 1);
            add(&*shared, 1);
        });
        let shared = region.shared.clone();
        let reader = process(2, move || snapshot(&*shared).1);
        assert!(reader.join().unwrap() <= 2);
        writer.join().unwrap();
        region.assert_at_rest();
    });
}

/// Wait and wake: a waiter registered in `change_waiters` and a writer
/// moving the version. The waiter's wait has no timeout the model lets
/// elapse, so a lost wake-up leaves it asleep for ever, which loom reports
/// as a deadlock.
#[test]
fn loom_a_waiter_is_never_left_asleep() {
    check("waiter_is_never_left_asleep", None, || {
        let region = Region::<Pair>::new(2, false);
        let shared = region.shared.clone();
        let waiter = process(1, move || {
            shared
                .wait_for_change(0, Duration::from_secs(3600))
                .unwrap()
        });
        let shared = region.shared.clone();
        let writer = process(2, move || add(&*shared, 1));
        writer.join().unwrap();
        assert_eq!(waiter.join().unwrap(), 1, "the version after one update");
        assert_eq!(region.area().change_waiters.load(Acquire), 0);
    });
}
