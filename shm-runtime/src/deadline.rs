//! A bounded wait's end, where `Duration::MAX` (or any duration too long to
//! add to now) means no end at all.

use std::time::{Duration, Instant};

/// When a wait started and when it must give up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    started: Instant,
    /// `None`: wait without a deadline.
    until: Option<Instant>,
}

impl Deadline {
    /// A deadline `timeout` from now; none if `now + timeout` overflows.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        let started = Instant::now();
        Deadline {
            started,
            until: started.checked_add(timeout),
        }
    }

    /// How long is left, or `None` once it has passed. Without a deadline,
    /// always `Some(Duration::MAX)`.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        match self.until {
            None => Some(Duration::MAX),
            Some(until) => until
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero()),
        }
    }

    /// How long the wait has lasted so far.
    pub(crate) fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_timeouts_mean_no_deadline() {
        let never = Deadline::after(Duration::MAX);
        assert_eq!(never.remaining(), Some(Duration::MAX));
        let past = Deadline::after(Duration::ZERO);
        assert_eq!(past.remaining(), None);
        let soon = Deadline::after(Duration::from_secs(60));
        assert!(soon
            .remaining()
            .is_some_and(|d| d <= Duration::from_secs(60)));
    }
}
