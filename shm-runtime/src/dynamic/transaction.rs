//! [`Transaction`]: an update of a [`Region`] that its caller finishes.

use std::fmt;

use super::Region;
use crate::error::Result;
use crate::sync::lock;

/// An update in progress on a [`Region`], holding its writer lock: change
/// [`bytes`](Self::bytes), then [`commit`](Self::commit). Dropped without a
/// commit, it publishes nothing and releases the lock.
///
/// A process forked while a transaction is open gets a copy of it that
/// publishes nothing and releases nothing (the lock is the parent's, whose
/// transaction goes on): its `commit` is [`Error::ForkedUpdate`](crate::Error::ForkedUpdate), and
/// dropping it does nothing.
pub struct Transaction<'a> {
    pub(super) region: &'a Region,
    pub(super) guard: lock::LockGuard<'a>,
    pub(super) old: Vec<u8>,
    pub(super) new: Vec<u8>,
}

impl Transaction<'_> {
    /// The private copy to change: the struct's bytes as they were when the
    /// transaction began, with this transaction's changes.
    pub fn bytes(&mut self) -> &mut [u8] {
        &mut self.new
    }

    /// The bytes as they were when the transaction began.
    pub fn original(&self) -> &[u8] {
        &self.old
    }

    /// Publishes the changed bytes, all or nothing (only the scalars that
    /// differ from [`original`](Self::original) are stored), releases the
    /// lock and wakes the version's waiters.
    ///
    /// # Errors
    ///
    /// [`Error::ForkedUpdate`](crate::Error::ForkedUpdate) in a process forked after the transaction
    /// began: nothing is published, and the lock stays with the process
    /// that began it.
    pub fn commit(self) -> Result<()> {
        self.region
            .raw
            .publish_and_unlock(self.guard, &self.old, &self.new)
    }
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("region", self.region.location())
            .finish_non_exhaustive()
    }
}
