//! Stopping a long-running command cleanly on SIGINT or SIGTERM.
//!
//! Both signals are blocked in the process and taken with `sigwait` by a
//! thread of their own, which raises a flag the command polls: no signal
//! handler, so nothing runs at an arbitrary instant, and the command ends
//! its current line and exits 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{SigSet, Signal};

/// Raised once SIGINT or SIGTERM arrived.
#[derive(Clone, Debug)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Whether a stop was asked for.
    pub fn raised(&self) -> bool {
        // Relaxed: the flag carries no data with it.
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for code that polls it (the Zenoh bridge).
    #[cfg(feature = "zenoh")]
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Blocks SIGINT and SIGTERM and starts the thread that waits for them.
/// Call it before starting any other thread, so that every thread
/// inherits the mask and the signals reach only the waiter.
pub fn stop_on_interrupt() -> std::io::Result<StopFlag> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().map_err(std::io::Error::from)?;
    let flag = StopFlag(Arc::new(AtomicBool::new(false)));
    let raised = flag.clone();
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            // `sigwait` fails only for an invalid set; then no signal stops
            // the command but a kill.
            if signals.wait().is_ok() {
                raised.0.store(true, Ordering::Relaxed);
            }
        })?;
    Ok(flag)
}
