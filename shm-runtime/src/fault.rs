//! Pause points for crash tests (feature `fault-injection`).
//!
//! With the feature on and `SHM_RUNTIME_PAUSE_AT=<point>` in the
//! environment, a process that reaches `<point>` prints
//! `shm-runtime: paused at <point>` on stdout (after anything the process
//! printed there before, so tests read lines in order) and sleeps until it is
//! killed.
//! Without the feature, [`pause_point`] compiles to nothing.

#[cfg(all(feature = "fault-injection", not(loom)))]
pub(crate) fn pause_point(point: &str) {
    use std::io::Write;
    if std::env::var("SHM_RUNTIME_PAUSE_AT").is_ok_and(|p| p == point) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "shm-runtime: paused at {point}");
        let _ = out.flush();
        drop(out);
        loop {
            std::thread::park();
        }
    }
}

#[cfg(not(any(feature = "fault-injection", loom)))]
#[inline(always)]
pub(crate) fn pause_point(_point: &str) {}

/// Under loom the pause points are steps of the model, where a simulated
/// process can be made to die or stall (`sync::model`).
#[cfg(loom)]
pub(crate) use crate::sync::model::pause_point;
