//! Pause points for crash tests (feature `fault-injection`).
//!
//! With the feature on and `SHM_RUNTIME_PAUSE_AT=<point>` in the
//! environment, a process that reaches `<point>` prints
//! `shm-runtime: paused at <point>` on stdout (after anything the process
//! printed there before, so tests read lines in order) and sleeps until it is
//! killed.
//! Without the feature, [`pause_point`] compiles to nothing.

#[cfg(feature = "fault-injection")]
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

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn pause_point(_point: &str) {}
