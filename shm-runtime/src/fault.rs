//! Pause points for crash tests (feature `fault-injection`).
//!
//! With the feature on and `SHM_RUNTIME_PAUSE_AT=<point>` in the
//! environment, a process that reaches `<point>` prints
//! `shm-runtime: paused at <point>` on stdout (after anything the process
//! printed there before, so tests read lines in order) and sleeps until it is
//! killed. `<point>` is a named step (`journal-committed`, `seq-odd`, ...) or
//! `stored-<n>`: right after the `n`th scalar a publish (or a recovery)
//! stores into the payload, so a test can stop a writer half-way through
//! its stores, at any of them.
//!
//! A *hold point* ([`hold_point`]) is a pause point that resumes: it prints
//! the same line, then waits for a line on standard input (or its end)
//! and goes on, so a test can act at an exact step of a process (rename a
//! file under a removal, remove a region under an open) and then let it
//! finish.
//!
//! Without the feature, [`pause_point`], [`hold_point`] and
//! [`scalar_stored`] compile to nothing.

#[cfg(all(feature = "fault-injection", not(loom)))]
mod enabled {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::OnceLock;

    /// `SHM_RUNTIME_PAUSE_AT`, read once: the environment of a test child
    /// does not change while it runs.
    fn pause_at() -> Option<&'static str> {
        static AT: OnceLock<Option<String>> = OnceLock::new();
        AT.get_or_init(|| std::env::var("SHM_RUNTIME_PAUSE_AT").ok())
            .as_deref()
    }

    pub(crate) fn pause_point(point: &str) {
        if pause_at() == Some(point) {
            pause(point);
        }
    }

    pub(crate) fn hold_point(point: &str) {
        use std::io::{BufRead, Write};
        if pause_at() == Some(point) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "shm-runtime: paused at {point}");
            let _ = out.flush();
            drop(out);
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
        }
    }

    pub(crate) fn scalar_stored() {
        static AFTER: OnceLock<Option<u64>> = OnceLock::new();
        static STORED: AtomicU64 = AtomicU64::new(0);
        let after = AFTER.get_or_init(|| pause_at()?.strip_prefix("stored-")?.parse().ok());
        if let Some(after) = *after {
            if STORED.fetch_add(1, Relaxed) + 1 == after {
                pause(&format!("stored-{after}"));
            }
        }
    }

    fn pause(point: &str) -> ! {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "shm-runtime: paused at {point}");
        let _ = out.flush();
        drop(out);
        loop {
            std::thread::park();
        }
    }
}

#[cfg(all(feature = "fault-injection", not(loom)))]
pub(crate) use enabled::{hold_point, pause_point, scalar_stored};

/// Without the feature (or under loom): nothing.
#[cfg(not(all(feature = "fault-injection", not(loom))))]
#[inline(always)]
pub(crate) fn hold_point(_point: &str) {}

#[cfg(not(any(feature = "fault-injection", loom)))]
#[inline(always)]
pub(crate) fn pause_point(_point: &str) {}

/// One scalar of a publish or recovery was stored into the payload.
#[cfg(not(all(feature = "fault-injection", not(loom))))]
#[inline(always)]
pub(crate) fn scalar_stored() {}

/// Under loom the pause points are steps of the model, where a simulated
/// process can be made to die or stall (`sync::model`); every store is a
/// step of its own already.
#[cfg(loom)]
pub(crate) use crate::sync::model::pause_point;
