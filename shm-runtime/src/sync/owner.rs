//! Who holds a lock, in a form that can be checked for liveness without any
//! help from the kernel.
//!
//! An owner token is one `u64`: the pid in bits 32..62 and, in bits 0..32, a
//! hash of (boot id, pid, process start time). A token names a process
//! exactly: a reused pid has another start time, and a process of another
//! boot (a region file that survived a crash, or was copied elsewhere)
//! another boot id. Bit 63 is left free for the lock's "contended" flag.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use crate::layout::Fnv1a;
use crate::os::process;

/// Bits of a token that identify the owner (all but the lock's flag).
pub(crate) const OWNER_MASK: u64 = !(1 << 63);

/// This process's token, computed once per process (and again in a forked
/// child, see [`reset_after_fork`]).
#[inline]
pub(crate) fn current() -> u64 {
    match CURRENT.load(Ordering::Relaxed) {
        0 => compute_current(),
        token => token,
    }
}

#[cold]
fn compute_current() -> u64 {
    static REGISTER_FORK_HANDLER: Once = Once::new();
    REGISTER_FORK_HANDLER.call_once(|| {
        // SAFETY: registering a handler is always sound; the handler only
        // does an atomic store, which is async-signal-safe as a fork child
        // handler must be.
        unsafe {
            nix::libc::pthread_atfork(None, None, Some(reset_after_fork));
        }
    });
    let pid = std::process::id() as i32;
    let token = token_of(pid, process::start_time(pid), process::boot_id().as_deref());
    CURRENT.store(token, Ordering::Relaxed);
    token
}

static CURRENT: AtomicU64 = AtomicU64::new(0);

/// A forked child is another process: it must not reuse its parent's token.
extern "C" fn reset_after_fork() {
    CURRENT.store(0, Ordering::Relaxed);
}

/// The token of process `pid` as it is now.
fn token_of(pid: i32, start_time: Option<u64>, boot_id: Option<&str>) -> u64 {
    let tag = Fnv1a::new()
        .bytes(boot_id.unwrap_or("").as_bytes())
        .bytes(&pid.to_le_bytes())
        .bytes(&start_time.unwrap_or(0).to_le_bytes())
        .finish();
    // Fold to 32 bits; never 0, so a token is never 0 (0 = unlocked).
    let tag = ((tag >> 32) ^ tag) as u32 | 1;
    ((pid as u32 as u64 & 0x7fff_ffff) << 32) | u64::from(tag)
}

/// Whether the process a token names is certainly gone. Errs on the side of
/// "alive" when it cannot tell (say, `/proc` is unreadable): stealing a
/// live owner's lock would break mutual exclusion, waiting longer would not.
pub(crate) fn is_dead(token: u64) -> bool {
    let token = token & OWNER_MASK;
    let pid = (token >> 32) as i32;
    if pid <= 0 {
        return true; // no process has this pid: a damaged or forged word
    }
    if !process::exists(pid) {
        return true;
    }
    match (process::start_time(pid), process::boot_id()) {
        (Some(start), Some(boot)) => token_of(pid, Some(start), Some(&boot)) != token,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_stable() {
        let me = current();
        assert_ne!(me, 0);
        assert_eq!(me & !OWNER_MASK, 0);
        assert_eq!(current(), me);
        assert!(!is_dead(me));
    }

    #[test]
    fn other_boots_and_reused_pids_are_dead() {
        let me = current();
        let pid = std::process::id() as i32;
        let start = process::start_time(pid);
        assert!(is_dead(token_of(pid, start, Some("another-boot"))));
        assert!(is_dead(token_of(
            pid,
            start.map(|s| s + 1),
            process::boot_id().as_deref()
        )));
        assert_eq!(token_of(pid, start, process::boot_id().as_deref()), me);
        // pid_max is at most 2^22 on Linux: this pid is never in use.
        assert!(is_dead(token_of(0x7fff_fff0, Some(1), Some("x"))));
    }
}
