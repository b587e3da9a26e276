//! The writer lock: a word in shared memory holding its owner's token,
//! robust without kernel help.
//!
//! - Uncontended, lock and unlock are one atomic instruction each and make
//!   no system call. The holder also records which of its threads holds the
//!   lock (plain stores to the lock's cache line: two after locking, one
//!   before unlocking), so that a thread asking for a lock it already holds
//!   panics instead of deadlocking.
//! - A waiter spins briefly, then marks the word contended and sleeps on a
//!   futex, waking at least every [`LIVENESS_PERIOD`]; once the owner has
//!   held the lock for a whole period, it judges the owner
//!   ([`owner::liveness`]). A dead owner's lock is taken over with a
//!   compare-exchange against the dead token, so exactly one waiter
//!   inherits it, and kept only if the owner is still judged dead after
//!   that; the waiter is told to run recovery.
//! - Unlocking is a compare-exchange of the owner's own token: an owner
//!   whose lock was taken over never releases its new owner's lock.
//! - A contended unlock bumps the futex word and wakes one waiter; a waiter
//!   that slept takes the lock marked contended, so its own unlock wakes the
//!   next one (no waiter is stranded until its timeout).
//! - A guard remembers the fork generation it was taken in ([`fork`]): the
//!   copy a forked child has of its parent's guard is from another
//!   generation, and neither publishes (its callers check
//!   [`LockGuard::is_from_this_process`]) nor unlocks (its drop does
//!   nothing). The parent's hold goes on as if the fork had not happened.

use super::atomics::fence;
use super::atomics::Ordering::{Acquire, Relaxed, Release, SeqCst};
use super::fork;
use super::object::Object;
use super::owner::{self, Liveness, ObjectId, OWNER_MASK};
use super::time::{spin_loop, Instant};
use super::SyncArea;
use crate::os;

const CONTENDED: u64 = !OWNER_MASK;
/// Spins before the first liveness check and sleep. One under loom: each
/// spin is a yield whose interleavings the checker would explore, and the
/// argument does not rest on spinning.
const SPINS: u32 = if cfg!(loom) { 1 } else { 200 };
pub(crate) use super::LIVENESS_PERIOD;

/// The held lock; dropping it unlocks.
pub(crate) struct LockGuard<'a> {
    area: &'a SyncArea,
    /// The token this guard's lock word holds (without the contended flag).
    me: u64,
    /// The fork generation of the process that took it.
    generation: u64,
    /// The previous owner died holding the lock: the region may hold a
    /// half-done publish that the new owner must recover before anything else.
    pub(crate) inherited: bool,
}

/// Who holds a lock, for tools that show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockHolder {
    Free,
    Held { pid: u32, liveness: Liveness },
}

/// Takes the lock of the region `area` belongs to, `object`, waiting as
/// long as a live process holds it.
///
/// # Panics
///
/// If this thread already holds it (an `update` from inside an `update`
/// closure on the same region): waiting would never end.
#[inline]
#[track_caller]
pub(crate) fn lock<'a>(area: &'a SyncArea, object: &Object) -> LockGuard<'a> {
    match acquire(area, object, None) {
        Some(guard) => guard,
        None => unreachable!("a wait without a deadline ends with the lock"),
    }
}

/// [`lock`], giving up at `deadline`: `None` if a live process held the
/// lock all along. For callers that wait in slices, to look at something
/// else between them (a Python thread checks for signals) or to give up.
///
/// # Panics
///
/// As [`lock`].
#[track_caller]
pub(crate) fn lock_until<'a>(
    area: &'a SyncArea,
    object: &Object,
    deadline: Instant,
) -> Option<LockGuard<'a>> {
    acquire(area, object, Some(deadline))
}

/// [`lock`] and [`lock_until`]: one compare-exchange when the lock is
/// free, the contended path otherwise. `None` only once `deadline` passed.
#[inline(always)]
#[track_caller]
fn acquire<'a>(
    area: &'a SyncArea,
    object: &Object,
    deadline: Option<Instant>,
) -> Option<LockGuard<'a>> {
    let me = owner::current();
    // Before the lock is ours, this process is in the record of who holds
    // the object open (a forked child registers now), so no judge finds it
    // missing there while it holds the lock.
    let generation = object.register_this_process();
    match area.lock.compare_exchange(0, me, Acquire, Relaxed) {
        Ok(_) => Some(LockGuard::new(area, me, generation, object.id(), false)),
        Err(_) => lock_contended(area, object, me, generation, deadline),
    }
}

/// The contended path of [`acquire`]: `None` only once
/// `deadline` has passed.
#[cold]
#[track_caller]
fn lock_contended<'a>(
    area: &'a SyncArea,
    object: &Object,
    me: u64,
    generation: u64,
    deadline: Option<Instant>,
) -> Option<LockGuard<'a>> {
    if held_by_this_thread(area, object.id(), me) {
        reentered(object.id());
    }
    let mut spins = 0;
    let mut slept = false;
    // Judging the owner reads /proc (tens of microseconds, more for its
    // memory map), so it is done only after the owner has held the lock
    // for a whole LIVENESS_PERIOD while we waited, not on every contended
    // acquisition.
    let mut next_check = Instant::now() + LIVENESS_PERIOD;
    loop {
        let word = area.lock.load(Relaxed);
        if word == 0 {
            let mine = if slept { me | CONTENDED } else { me };
            if area
                .lock
                .compare_exchange(0, mine, Acquire, Relaxed)
                .is_ok()
            {
                return Some(LockGuard::new(area, me, generation, object.id(), false));
            }
            continue;
        }
        if spins < SPINS {
            spins += 1;
            spin_loop();
            continue;
        }
        let now = Instant::now();
        if now >= next_check {
            if let Some(guard) = take_from_dead(area, object, word, me, generation) {
                return Some(guard);
            }
            next_check = Instant::now() + LIVENESS_PERIOD;
        }
        let mut nap = LIVENESS_PERIOD;
        if let Some(deadline) = deadline {
            if now >= deadline {
                if slept {
                    // A wake-up meant for the next waiter may have been
                    // ours: pass it on rather than leave them to their
                    // timeout.
                    os::futex_wake(&area.lock_futex, 1);
                }
                return None;
            }
            nap = nap.min(deadline.checked_duration_since(now).unwrap_or_default());
        }
        if word & CONTENDED == 0
            && area
                .lock
                .compare_exchange(word, word | CONTENDED, Relaxed, Relaxed)
                .is_err()
        {
            continue;
        }
        let seen = area.lock_futex.load(Acquire);
        if area.lock.load(Acquire) == word | CONTENDED {
            os::futex_wait(&area.lock_futex, seen, nap);
            slept = true;
        }
    }
}

/// Whether the calling thread holds this lock already. Relaxed loads
/// suffice: the thread word holds this thread's record only if this thread
/// stored it and has not cleared it since (no other thread stores that
/// value), and a thread never reads a value older than its own last store.
pub(crate) fn held_by_this_thread(area: &SyncArea, object: &ObjectId, me: u64) -> bool {
    area.lock.load(Relaxed) & OWNER_MASK == me
        && area.lock_thread.load(Relaxed) == holder_record(me)
        && area.lock_object.load(Relaxed) == object.tag()
}

#[cold]
#[inline(never)]
#[track_caller]
fn reentered(object: &ObjectId) -> ! {
    panic!(
        "update() called from inside an update() closure on the same region \
         ({object}): the region's writer lock is already held by this thread, \
         so waiting for it would never end; change the struct through the \
         closure's `&mut` argument instead"
    )
}

/// Takes the lock only if it is free or its owner is dead; never waits for
/// a live owner (or one whose liveness is unknown). For readers that found
/// a publish left half-done.
pub(crate) fn try_lock_if_abandoned<'a>(
    area: &'a SyncArea,
    object: &Object,
) -> Option<LockGuard<'a>> {
    let me = owner::current();
    let generation = object.register_this_process();
    match area.lock.load(Relaxed) {
        0 => area
            .lock
            .compare_exchange(0, me, Acquire, Relaxed)
            .ok()
            .map(|_| LockGuard::new(area, me, generation, object.id(), false)),
        word => take_from_dead(area, object, word, me, generation),
    }
}

/// Who holds the lock now, and what can be said of them.
pub(crate) fn holder(area: &SyncArea, object: &Object) -> LockHolder {
    match area.lock.load(Acquire) {
        0 => LockHolder::Free,
        word => LockHolder::Held {
            pid: owner::pid_of(word),
            liveness: owner::liveness(word, object),
        },
    }
}

/// If `word` names a dead owner, replaces it with `me`. Exactly one caller
/// wins for a given dead token.
///
/// The owner is judged again once the word is ours: a verdict from its
/// memory map ("does not map the object") or from the record of who holds
/// the object open ("has no entry") holds for the instant it was read, and
/// between that and our compare-exchange the word could have been freed
/// and taken again, with the same token, by that very process after it
/// opened and mapped the object. Judged dead after the exchange too, it
/// cannot hold the lock now (a holder maps the object, and has its entry,
/// from before its acquisition until after its unlock attempt), and any
/// hold it had at our exchange was over before our second judgement.
/// Otherwise the word goes back as it was.
fn take_from_dead<'a>(
    area: &'a SyncArea,
    object: &Object,
    word: u64,
    me: u64,
    generation: u64,
) -> Option<LockGuard<'a>> {
    if owner::liveness(word, object) != Liveness::Dead {
        return None;
    }
    // Keep the contended flag: others may sleep on this lock.
    let mine = me | (word & CONTENDED);
    area.lock
        .compare_exchange(word, mine, Acquire, Relaxed)
        .ok()?;
    if owner::liveness(word, object) == Liveness::Dead {
        return Some(LockGuard::new(area, me, generation, object.id(), true));
    }
    give_back(area, word, me);
    None
}

/// Puts `word` back in place of our token, keeping a contended flag that
/// waiters may have set meanwhile.
#[cold]
fn give_back(area: &SyncArea, word: u64, me: u64) {
    let mut current = area.lock.load(Relaxed);
    while current & OWNER_MASK == me {
        let back = (word & OWNER_MASK) | ((word | current) & CONTENDED);
        match area.lock.compare_exchange(current, back, Release, Relaxed) {
            Ok(_) => return,
            Err(now) => current = now,
        }
    }
}

/// What the calling thread of the process with token `me` writes in the
/// lock's thread word while it holds the lock: its identity within the
/// process (the address of a thread-local, unique among the threads alive
/// at once; const-initialised with no destructor, so reading it costs an
/// address computation), mixed with the token so that a record another
/// process left (it died holding the lock) does not match a thread of this
/// one that happens to have the same address. Never 0.
#[inline]
fn holder_record(me: u64) -> u64 {
    thread_local! {
        static IDENTITY: u64 = const { 0 };
    }
    const K: u64 = 0x9e37_79b9_7f4a_7c15; // odd: multiplying is a bijection
    let identity = IDENTITY.with(|word| word as *const u64 as u64);
    (identity ^ me.wrapping_mul(K)) | 1
}

impl<'a> LockGuard<'a> {
    /// The lock was just taken with token `me` in fork generation
    /// `generation`: record the holder.
    #[inline]
    fn new(
        area: &'a SyncArea,
        me: u64,
        generation: u64,
        object: &ObjectId,
        inherited: bool,
    ) -> Self {
        // Relaxed: read back only by this thread (`held_by_this_thread`).
        area.lock_object.store(object.tag(), Relaxed);
        area.lock_thread.store(holder_record(me), Relaxed);
        LockGuard {
            area,
            me,
            generation,
            inherited,
        }
    }

    /// Whether this process took the lock: not a forked child holding a
    /// copy of its parent's guard. Only such a guard may publish; the
    /// others are forgotten (their drop does nothing).
    #[inline(always)]
    pub(crate) fn is_from_this_process(&self) -> bool {
        self.generation == fork::generation()
    }

    /// The pid of the process that took the lock.
    pub(crate) fn taken_by(&self) -> u32 {
        owner::pid_of(self.me)
    }

    #[cold]
    fn unlock_contended(&self, mut word: u64) {
        loop {
            if word & OWNER_MASK != self.me {
                // Taken over by a process that judged us dead: the lock is
                // theirs now, leave it. The fence stands in for the SeqCst
                // exchange that `change` relies on.
                fence(SeqCst);
                return;
            }
            match self.area.lock.compare_exchange(word, 0, SeqCst, Relaxed) {
                Ok(_) => break,
                Err(now) => word = now,
            }
        }
        if word & CONTENDED != 0 {
            self.area.lock_futex.fetch_add(1, Release);
            os::futex_wake(&self.area.lock_futex, 1);
        }
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // A forked child's copy of its parent's guard: the lock, and the
        // holder's record beside it, are the parent's.
        if self.is_from_this_process() {
            self.unlock();
        }
    }
}

impl LockGuard<'_> {
    /// Unlocks a guard that [`is_from_this_process`](Self::is_from_this_process)
    /// said is this process's (a publish checks that before it writes): the
    /// drop without its second look at the fork generation.
    #[inline(always)]
    pub(crate) fn unlock_checked(self) {
        debug_assert!(self.is_from_this_process());
        std::mem::ManuallyDrop::new(self).unlock();
    }

    #[inline(always)]
    fn unlock(&self) {
        // In the model, a process that dies holding the lock unwinds to the
        // top of its thread; it runs no code, so it releases nothing.
        #[cfg(loom)]
        if super::model::this_process_died() {
            return;
        }
        self.area.lock_thread.store(0, Relaxed);
        // SeqCst: also the barrier between an update's version move and its
        // check for waiters (see `change`). Only our own token is cleared.
        if let Err(word) = self.area.lock.compare_exchange(self.me, 0, SeqCst, Relaxed) {
            self.unlock_contended(word);
        }
    }
}

// Real processes and /proc: not under loom, whose model replaces them.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn zeroed_area() -> Box<SyncArea> {
        // SAFETY: SyncArea is made of atomics only, for which all-zero bytes
        // are a valid value (and the state of a new region).
        Box::new(unsafe { std::mem::zeroed() })
    }

    /// This test binary's file, held open as a handle holds its region's
    /// object.
    fn this_object() -> Object {
        let path = std::path::PathBuf::from("/proc/self/exe");
        let file = std::fs::File::open(&path).unwrap();
        let location = crate::error::Location::File(path);
        Object::open(
            &location,
            &file,
            &file.metadata().unwrap(),
            &crate::deadline::Deadline::after(std::time::Duration::ZERO),
        )
        .unwrap()
    }

    #[test]
    fn lock_and_unlock() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        assert!(!guard.inherited);
        assert_eq!(area.lock.load(Relaxed), owner::current());
        assert_eq!(
            holder(&area, &object),
            LockHolder::Held {
                pid: std::process::id(),
                liveness: Liveness::Alive
            }
        );
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
        assert_eq!(area.lock_thread.load(Relaxed), 0);
        assert_eq!(holder(&area, &object), LockHolder::Free);
    }

    /// A holder judged dead while it lived (the harm is done then) must at
    /// least not release the lock of the process that took it over.
    #[test]
    fn an_owner_whose_lock_was_taken_over_does_not_release_it() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        // pid 1 exists; its token here is made up.
        let new_owner = (1 << 32) | 0x1235 | CONTENDED;
        area.lock.store(new_owner, Relaxed);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), new_owner);
    }

    #[test]
    fn a_contended_unlock_clears_the_flag() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        area.lock.fetch_or(CONTENDED, Relaxed);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
        assert_eq!(area.lock_futex.load(Relaxed), 1, "a waiter was woken");
    }

    #[test]
    fn a_dead_owner_is_taken_over_and_recovery_asked_for() {
        let (area, object) = (zeroed_area(), this_object());
        // No process has this pid.
        area.lock.store((0x3f_fff0 << 32) | 1, Relaxed);
        let guard = try_lock_if_abandoned(&area, &object).expect("taken over");
        assert!(guard.inherited);
        drop(guard);
        assert_eq!(area.lock.load(Relaxed), 0);
    }

    /// Words no process makes (damage, or a forged word) are taken over at
    /// once, whoever they seem to name: pid 1 with tag 0 (one flipped bit
    /// of a free word), this very process with tag 0, pid 0, a pid above
    /// Linux's limit; contended or not.
    #[test]
    fn never_made_tokens_are_taken_over() {
        let (area, object) = (zeroed_area(), this_object());
        let me = u64::from(std::process::id()) << 32;
        for word in [
            1 << 32,
            me,
            0x5a5a,
            (1 << 22) << 32 | 3,
            0x7fff_ffff << 32 | 1,
        ] {
            for word in [word, word | CONTENDED] {
                area.lock.store(word, Relaxed);
                let guard = try_lock_if_abandoned(&area, &object)
                    .unwrap_or_else(|| panic!("{word:#x} was not taken over"));
                assert!(guard.inherited);
                drop(guard);
                assert_eq!(area.lock.load(Relaxed), 0);
            }
        }
    }

    /// A forked child's copy of its parent's guard neither unlocks nor
    /// clears the holder's record, and says it is not its own.
    #[test]
    fn a_forked_child_does_not_release_its_parents_lock() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        let held = (area.lock.load(Relaxed), area.lock_thread.load(Relaxed));
        let (read, write) = nix::unistd::pipe().unwrap();
        // SAFETY: the child only does atomic operations on its copy of the
        // area, one pipe write and `_exit`; it allocates nothing and never
        // returns into the test harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let foreign = !guard.is_from_this_process();
                drop(guard);
                let kept = (area.lock.load(Relaxed), area.lock_thread.load(Relaxed)) == held;
                let _ = nix::unistd::write(&write, &[u8::from(foreign && kept)]);
                // SAFETY: ends the child at once, running nothing of the
                // parent's (no destructors, no atexit handlers).
                unsafe { nix::libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(write);
                let mut answer = [0u8; 1];
                let got = nix::unistd::read(&read, &mut answer).unwrap();
                nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(
                    (got, answer[0]),
                    (1, 1),
                    "the child's drop changed the lock"
                );
                assert!(guard.is_from_this_process());
                drop(guard);
                assert_eq!(area.lock.load(Relaxed), 0);
            }
        }
    }

    #[test]
    fn a_live_owner_is_not_taken_over() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        std::thread::scope(|s| {
            s.spawn(|| assert!(try_lock_if_abandoned(&area, &object).is_none()));
        });
        drop(guard);
    }

    #[test]
    fn the_same_thread_asking_again_panics() {
        let (area, object) = (zeroed_area(), this_object());
        let guard = lock(&area, &object);
        let again = std::panic::catch_unwind(|| drop(lock(&area, &object)));
        let message = *again.unwrap_err().downcast::<String>().unwrap();
        assert!(message.contains("already held by this thread"), "{message}");
        // Another object's lock with the same bytes (a copy) is not ours.
        let copy = ObjectId {
            dev: object.id().dev,
            ino: object.id().ino + 1,
        };
        assert!(!held_by_this_thread(&area, &copy, owner::current()));
        // Nor is it another thread's.
        std::thread::scope(|s| {
            s.spawn(|| assert!(!held_by_this_thread(&area, object.id(), owner::current())));
        });
        drop(guard);
        assert!(!held_by_this_thread(&area, object.id(), owner::current()));
    }
}
