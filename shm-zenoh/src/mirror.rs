//! Keeping a local region equal to the state published under a key.
//!
//! A [`Mirror`] subscribes to `KEY` and applies each state in the
//! subscriber's callback (see [`follow`](crate::follow) for which, and in
//! what order). It watches the publishers' liveliness tokens under `KEY/*`
//! (those live when it starts, then each one that appears or goes): they
//! say which publisher to follow, the older of two live ones. It asks the
//! publisher's queryable for the whole current state when it has none or
//! missed one: at start, when a delta or a heartbeat shows a gap, whenever
//! a publisher's token appears (a publisher that started, or came back
//! after the network went away), and when the followed one's token goes.
//! When a message comes from a publisher whose token it does not see as
//! it expects (one it retired, or a newer one while the followed one is
//! thought live), it asks Zenoh whether that token lives. A thread of its
//! own sends those queries, so no Zenoh callback ever waits for one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm_runtime::{Location, Region, Shared, SharedState};
use zenoh::key_expr::OwnedKeyExpr;
use zenoh::pubsub::Subscriber;
use zenoh::query::{ConsolidationMode, QueryTarget};
use zenoh::sample::SampleKind;
use zenoh::{Session, Wait};

use crate::config::parse_key;
use crate::error::BridgeError;
use crate::follow::{Follower, MirrorStatus, Outcome};
use crate::publisher::{epoch_of, lock, region_of, token_key};

/// Options of a [`Mirror`].
#[derive(Clone, Debug)]
pub struct MirrorOptions {
    /// How long a query for the whole state waits for answers (default 2 s).
    pub query_timeout: Duration,
    /// While a full state is wanted and none came, ask again this often
    /// (default 1 s; a publisher that appears is asked at once).
    pub retry_interval: Duration,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            query_timeout: Duration::from_secs(2),
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// Where a mirror writes.
#[derive(Debug)]
pub enum MirrorTarget {
    /// The region at this location, created from the publisher's schema
    /// when it is missing; one of another layout is refused.
    Location(Location),
    /// This open region, which must have the publisher's layout.
    Region(Box<Region>),
}

impl MirrorTarget {
    /// The region in the file at `path`.
    pub fn file(path: impl Into<std::path::PathBuf>) -> MirrorTarget {
        MirrorTarget::Location(Location::File(path.into()))
    }

    /// This open region.
    pub fn region(region: Region) -> MirrorTarget {
        MirrorTarget::Region(Box::new(region))
    }

    /// The POSIX shm region `name` (leading `/` optional).
    pub fn shm(name: &str) -> MirrorTarget {
        let name = if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{name}")
        };
        MirrorTarget::Location(Location::Shm(name))
    }
}

/// Keeps a local region equal to the state published under a key: see the
/// [crate docs](crate). Dropping it stops mirroring; the region stays.
pub struct Mirror {
    core: Arc<Core>,
    worker: Option<JoinHandle<()>>,
    // Held for their effect; dropped (undeclared) with the mirror.
    _states: Subscriber<()>,
    _publishers: Subscriber<()>,
}

/// What the mirror's thread and Zenoh callbacks share.
struct Core {
    key: OwnedKeyExpr,
    session: Session,
    options: MirrorOptions,
    follower: Mutex<Follower>,
    /// Signalled when a full state becomes wanted, a state is applied,
    /// a query ends, or the mirror stops.
    changed: Condvar,
    query: Mutex<QueryState>,
    stop: AtomicBool,
}

/// What the mirror learnt of a publisher's token.
#[derive(Clone, Copy)]
enum TokenChange {
    /// It appeared (the liveliness subscriber): a full state is asked for.
    Appeared,
    /// A check found it: news only if it was not known as live.
    Found,
    /// It went, or a check did not find it.
    Went,
}

struct QueryState {
    in_flight: bool,
    next_at: Instant,
    /// When each epoch's token was last looked for (at most one look per
    /// epoch per retry interval).
    checked: Vec<(u64, Instant)>,
}

impl Mirror {
    /// Starts mirroring `key` into `target`.
    ///
    /// # Errors
    ///
    /// [`BridgeError::InvalidKey`]; [`BridgeError::Zenoh`] if a
    /// declaration fails. Errors that come later (a layout mismatch, a
    /// region that cannot be created) are returned by
    /// [`wait_synced`](Self::wait_synced) and [`run`](Self::run).
    pub fn new(
        session: &Session,
        key: &str,
        target: MirrorTarget,
        options: MirrorOptions,
    ) -> Result<Mirror, BridgeError> {
        let key = parse_key(key)?;
        let follower = match target {
            MirrorTarget::Location(location) => Follower::at(key.as_str(), location),
            MirrorTarget::Region(region) => Follower::into_region(key.as_str(), *region),
        };
        let core = Arc::new(Core {
            key: key.clone(),
            session: session.clone(),
            options,
            follower: Mutex::new(follower),
            changed: Condvar::new(),
            query: Mutex::new(QueryState {
                in_flight: false,
                next_at: Instant::now(),
                checked: Vec::new(),
            }),
            stop: AtomicBool::new(false),
        });
        let states = {
            let core = Arc::clone(&core);
            session
                .declare_subscriber(key.clone())
                .callback(move |sample| core.receive(&sample.payload().to_bytes()))
                .wait()
                .map_err(|e| BridgeError::zenoh(&key, "subscribe", e))?
        };
        let publishers = {
            let core = Arc::clone(&core);
            let prefix = format!("{key}/");
            session
                .liveliness()
                .declare_subscriber(format!("{key}/*"))
                // The tokens already live, then each change.
                .history(true)
                .callback(move |sample| {
                    if let Some(epoch) = epoch_of(sample.key_expr().as_str(), &prefix) {
                        let change = match sample.kind() {
                            SampleKind::Put => TokenChange::Appeared,
                            SampleKind::Delete => TokenChange::Went,
                        };
                        core.token_changed(epoch, change);
                    }
                })
                .wait()
                .map_err(|e| BridgeError::zenoh(&key, "watch for publishers", e))?
        };
        let worker = {
            let core = Arc::clone(&core);
            std::thread::spawn(move || core.ask_when_wanted())
        };
        Ok(Mirror {
            core,
            worker: Some(worker),
            _states: states,
            _publishers: publishers,
        })
    }

    /// Mirrors `key` into the region of a [`Shared<T>`], through the same
    /// code: a [`Region`] handle on the same object, typed by `T`. A
    /// publisher of another layout is refused.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`BridgeError::Region`] if the region
    /// cannot be opened again.
    pub fn shared<T: SharedState>(
        session: &Session,
        key: &str,
        shared: &Shared<T>,
        options: MirrorOptions,
    ) -> Result<Mirror, BridgeError> {
        let region = region_of(shared).map_err(|e| BridgeError::region(key, e))?;
        Mirror::new(session, key, MirrorTarget::region(region), options)
    }

    /// Waits until the first state is applied (the local region then exists
    /// and holds the publisher's state) and returns the status.
    ///
    /// # Errors
    ///
    /// The error that stopped the mirror (a layout mismatch, a region that
    /// could not be created), reported once; [`BridgeError::Timeout`].
    pub fn wait_synced(&self, timeout: Duration) -> Result<MirrorStatus, BridgeError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut follower = lock(&self.core.follower);
        loop {
            if let Some(e) = take_failure(&mut follower, &self.core.key) {
                return Err(e);
            }
            if follower.status.epoch.is_some() {
                return Ok(follower.status);
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return Err(BridgeError::Timeout {
                    key: self.core.key.to_string(),
                    what: "no state arrived from a publisher",
                    waited_ms: timeout.as_millis(),
                });
            }
            follower = self
                .core
                .changed
                .wait_timeout(follower, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Mirrors until `stop` is set: the loop of `shm mirror`. `on_status`
    /// is called with the status whenever the publisher followed changes
    /// (the first state, a publisher that restarted).
    ///
    /// # Errors
    ///
    /// The error that stopped the mirror (see
    /// [`wait_synced`](Self::wait_synced)).
    pub fn run(
        &self,
        stop: &AtomicBool,
        mut on_status: impl FnMut(&MirrorStatus),
    ) -> Result<(), BridgeError> {
        let mut reported = None;
        let mut follower = lock(&self.core.follower);
        while !stop.load(Ordering::Relaxed) {
            if let Some(e) = take_failure(&mut follower, &self.core.key) {
                return Err(e);
            }
            if follower.status.epoch != reported {
                reported = follower.status.epoch;
                let status = follower.status;
                drop(follower);
                on_status(&status);
                follower = lock(&self.core.follower);
            }
            // Short enough to notice `stop` promptly.
            follower = self
                .core
                .changed
                .wait_timeout(follower, Duration::from_millis(50))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    /// What the mirror has done so far.
    pub fn status(&self) -> MirrorStatus {
        lock(&self.core.follower).status
    }

    /// Where the mirror writes.
    pub fn location(&self) -> Location {
        lock(&self.core.follower).location().clone()
    }

    /// The local region's type name, once the first state created or
    /// checked it.
    pub fn type_name(&self) -> Option<String> {
        lock(&self.core.follower)
            .region()
            .map(|r| r.schema().name().to_owned())
    }

    /// The key mirrored.
    pub fn key(&self) -> &str {
        self.core.key.as_str()
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.core.stop.store(true, Ordering::Relaxed);
        self.core.changed.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("key", &self.core.key.as_str())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

fn take_failure(follower: &mut Follower, key: &OwnedKeyExpr) -> Option<BridgeError> {
    if let Some(e) = follower.failure.take() {
        return Some(e);
    }
    follower.failed.then(|| BridgeError::Stopped {
        key: key.to_string(),
    })
}

impl Core {
    /// A payload from the subscription or a reply. The waiting threads are
    /// woken only for what they wait for (a full state wanted, a failure, a
    /// publisher followed for the first time, a token to look for): not for
    /// every state.
    fn receive(&self, payload: &[u8]) {
        let mut follower = lock(&self.follower);
        let epoch = follower.status.epoch;
        let checks = follower.checks.len();
        let outcome = follower.receive(payload);
        let news = follower.status.epoch != epoch
            || matches!(outcome, Outcome::Ahead | Outcome::Failed)
            || follower.checks.len() > checks;
        drop(follower);
        if news {
            self.changed.notify_all();
        }
    }

    /// A publisher's token appeared, was found, or went. A full state is
    /// asked for at once when one is wanted: a publisher appeared, or the
    /// one followed went.
    fn token_changed(&self, epoch: u64, change: TokenChange) {
        let mut follower = lock(&self.follower);
        let wanted_before = follower.want_full;
        match change {
            TokenChange::Appeared => follower.token_appeared(epoch),
            TokenChange::Found => follower.token_found(epoch),
            TokenChange::Went => follower.token_went(epoch),
        }
        let ask_now =
            follower.want_full && (!wanted_before || matches!(change, TokenChange::Appeared));
        drop(follower);
        if ask_now {
            lock(&self.query).next_at = Instant::now();
        }
        self.changed.notify_all();
    }

    /// The mirror's thread: sends a query whenever a full state is wanted,
    /// one at a time, again every retry interval while none comes.
    fn ask_when_wanted(self: Arc<Self>) {
        let mut follower = lock(&self.follower);
        loop {
            if self.stop.load(Ordering::Relaxed) || follower.failed {
                return;
            }
            let now = Instant::now();
            let mut wait = Duration::from_millis(100);
            if let Some(epoch) = self.next_check(&mut follower, now) {
                drop(follower);
                self.check(epoch);
                follower = lock(&self.follower);
                continue;
            }
            if follower.want_full {
                let mut query = lock(&self.query);
                if !query.in_flight && query.next_at <= now {
                    query.in_flight = true;
                    query.next_at = now + self.options.retry_interval;
                    drop(query);
                    follower.status.full_requests += 1;
                    drop(follower);
                    self.ask();
                    follower = lock(&self.follower);
                    continue;
                }
                if !query.in_flight {
                    wait = wait.min(query.next_at.saturating_duration_since(now));
                }
            }
            follower = self
                .changed
                .wait_timeout(follower, wait)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Asks the publisher's queryable for the whole state; the replies are
    /// applied as they come, and the query ends when Zenoh drops the
    /// callback (all answered, or the timeout).
    fn ask(self: &Arc<Self>) {
        let done = QueryDone(Arc::clone(self));
        let core = Arc::clone(self);
        let sent = self
            .session
            .get(self.key.clone())
            .target(QueryTarget::All)
            .consolidation(ConsolidationMode::None)
            .timeout(self.options.query_timeout)
            .callback(move |reply| {
                let _held = &done;
                if let Ok(sample) = reply.result() {
                    core.receive(&sample.payload().to_bytes());
                }
            })
            .wait();
        if sent.is_err() {
            // The callback (and `done`) were dropped: retried later.
        }
    }

    /// An epoch whose token to look for now, if any: each at most once
    /// per retry interval (the rest wait for the next turn).
    fn next_check(&self, follower: &mut Follower, now: Instant) -> Option<u64> {
        if follower.checks.is_empty() {
            return None;
        }
        let mut query = lock(&self.query);
        let interval = self.options.retry_interval;
        query
            .checked
            .retain(|(_, at)| now.saturating_duration_since(*at) < interval);
        let epoch = follower
            .checks
            .iter()
            .copied()
            .find(|e| query.checked.iter().all(|(c, _)| c != e))?;
        follower.checks.remove(&epoch);
        query.checked.push((epoch, now));
        Some(epoch)
    }

    /// Asks Zenoh whether the token of publisher `epoch` lives; the answer
    /// is taken when the query ends (see [`TokenCheck`]).
    fn check(self: &Arc<Self>, epoch: u64) {
        let check = Arc::new(TokenCheck {
            core: Arc::clone(self),
            epoch,
            found: AtomicBool::new(false),
            unsent: AtomicBool::new(false),
        });
        let replies = Arc::clone(&check);
        let sent = self
            .session
            .liveliness()
            .get(token_key(&self.key, epoch))
            .timeout(self.options.query_timeout)
            .callback(move |reply| {
                if reply.result().is_ok() {
                    replies.found.store(true, Ordering::Relaxed);
                }
            })
            .wait();
        if sent.is_err() {
            // No answer will come: conclude nothing (looked for again when
            // its next message needs it).
            check.unsent.store(true, Ordering::Relaxed);
        }
    }
}

/// One look for a publisher's token. Zenoh drops the reply callback, and
/// with it this, when the query ends (every answer in, or the timeout);
/// the caller holds it until the query is sent, so an unsent query is
/// known as such here.
struct TokenCheck {
    core: Arc<Core>,
    epoch: u64,
    found: AtomicBool,
    unsent: AtomicBool,
}

impl Drop for TokenCheck {
    fn drop(&mut self) {
        if !self.unsent.load(Ordering::Relaxed) {
            let change = if self.found.load(Ordering::Relaxed) {
                TokenChange::Found
            } else {
                TokenChange::Went
            };
            self.core.token_changed(self.epoch, change);
        }
    }
}

/// Marks the query finished when dropped with the reply callback.
struct QueryDone(Arc<Core>);

impl Drop for QueryDone {
    fn drop(&mut self) {
        lock(&self.0.query).in_flight = false;
        self.0.changed.notify_all();
    }
}
