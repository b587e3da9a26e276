//! Serving a region's state under a Zenoh key.
//!
//! A [`Publisher`] owns, on one Zenoh session:
//! - a liveliness token `KEY/<epoch>`: the claim to the key. At start it
//!   asks for the tokens under `KEY/*`; an older one (a smaller epoch) is a
//!   live publisher, and this one refuses to start. It also watches for
//!   tokens that appear later (two publishers started at the same moment,
//!   or two networks joined): the newer of two stops.
//! - a Zenoh publisher on `KEY` that sends each new state: a delta of byte
//!   ranges against the state before when that is smaller, the whole state
//!   otherwise, and a heartbeat when idle (so a mirror that lost a message
//!   notices within a heartbeat interval);
//! - a queryable on `KEY` that answers any mirror's query with the latest
//!   state sent, whole, with the schema: how a mirror that starts late,
//!   lost a message or reconnects gets the current state at once.
//!
//! States are numbered by the publisher (`seq`, from 1, within an `epoch`
//! chosen at start), not by the region's version.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shm_runtime::{Region, Schema, Shared, SharedState};
use zenoh::key_expr::OwnedKeyExpr;
use zenoh::liveliness::LivelinessToken;
use zenoh::pubsub::Subscriber;
use zenoh::qos::CongestionControl;
use zenoh::query::Queryable;
use zenoh::sample::SampleKind;
use zenoh::{Session, Wait};

use crate::config::parse_key;
use crate::delta::changed_ranges;
use crate::error::BridgeError;
use crate::wire::{encoded_sizes, Encoder, Header};

/// How long a starting publisher waits for the answers to its question
/// "who else publishes this key?".
const CLAIM_TIMEOUT: Duration = Duration::from_secs(2);

/// Options of a [`Publisher`].
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// Run a thread that sends changes by itself: version moves at once,
    /// field-level writes within `poll_interval`, and heartbeats. Without
    /// it, only [`Publisher::publish_now`] (or [`Publisher::run`]) sends.
    /// Default `true`.
    pub watch: bool,
    /// How often the watching thread compares snapshots (default 10 ms).
    pub poll_interval: Duration,
    /// How often an idle publisher sends a heartbeat (default 1 s).
    pub heartbeat_interval: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            watch: true,
            poll_interval: Duration::from_millis(10),
            heartbeat_interval: Duration::from_secs(1),
        }
    }
}

/// Publishes a region under a Zenoh key: see the [crate docs](crate).
///
/// Dropping it stops the watching thread and withdraws the publisher, the
/// queryable and the claim to the key.
pub struct Publisher {
    core: Arc<Core>,
    watcher: Option<JoinHandle<()>>,
    // Held for their effect; dropped (undeclared) with the publisher.
    _queryable: Queryable<()>,
    _rivals: Subscriber<()>,
    _token: LivelinessToken,
}

/// What the publisher's threads and Zenoh callbacks share.
struct Core {
    key: OwnedKeyExpr,
    region: Region,
    schema_json: Vec<u8>,
    epoch: u64,
    size: u32,
    fingerprint: u64,
    publisher: zenoh::pubsub::Publisher<'static>,
    state: Mutex<State>,
    options: PublishOptions,
    /// The epoch of an older publisher found on the key, or 0 (set by the
    /// liveliness subscriber).
    rival: Arc<AtomicU64>,
    /// Why the watching thread stopped, if it failed.
    failure: Mutex<Option<String>>,
    stop: AtomicBool,
}

/// The latest state sent, under the core's lock: what deltas are computed
/// against and what queries are answered with.
struct State {
    seq: u64,
    sent: Vec<u8>,
    sent_version: u64,
    scratch: Vec<u8>,
    encoder: Encoder,
    last_send: Instant,
}

impl Publisher {
    /// Starts publishing `region` under `key`: claims the key, sends the
    /// current state, answers queries, and (with `options.watch`) starts a
    /// thread that sends every change.
    ///
    /// # Errors
    ///
    /// [`BridgeError::InvalidKey`]; [`BridgeError::PublisherExists`] when
    /// another publisher is live on the key; [`BridgeError::TooLarge`];
    /// [`BridgeError::Zenoh`] if a declaration or the first send fails.
    pub fn new(
        session: &Session,
        key: &str,
        region: Region,
        options: PublishOptions,
    ) -> Result<Publisher, BridgeError> {
        let key = parse_key(key)?;
        let size = u32::try_from(region.size()).map_err(|_| BridgeError::TooLarge {
            key: key.to_string(),
            size: region.size(),
            max: u64::from(u32::MAX),
        })?;
        let epoch = new_epoch();

        // Claim the key first: a refused publisher sends nothing.
        let token = session
            .liveliness()
            .declare_token(token_key(&key, epoch))
            .wait()
            .map_err(|e| BridgeError::zenoh(&key, "declare the publisher's liveliness token", e))?;
        let rival = Arc::new(AtomicU64::new(0));
        let rivals = {
            let rival = Arc::clone(&rival);
            let prefix = format!("{key}/");
            session
                .liveliness()
                .declare_subscriber(format!("{key}/*"))
                .callback(move |sample| {
                    if sample.kind() == SampleKind::Put {
                        if let Some(other) = epoch_of(sample.key_expr().as_str(), &prefix) {
                            if other < epoch {
                                rival.store(other, Ordering::Relaxed);
                            }
                        }
                    }
                })
                .wait()
                .map_err(|e| BridgeError::zenoh(&key, "watch for other publishers", e))?
        };
        if let Some(other) = older_publisher(session, &key, epoch)? {
            return Err(BridgeError::PublisherExists {
                key: key.to_string(),
                other_epoch: other,
            });
        }

        // Block, not Drop: a state is never dropped on the way out. While a
        // slow link makes `put` wait, changes pile up in the region, and
        // the next send carries the latest state: a slow mirror gets fewer
        // states, never a stale last one. Express: each state leaves at
        // once instead of waiting to be batched with others.
        let publisher = session
            .declare_publisher(key.clone())
            .congestion_control(CongestionControl::Block)
            .express(true)
            .wait()
            .map_err(|e| BridgeError::zenoh(&key, "declare the publisher", e))?;
        let schema = region.schema();
        let core = Arc::new(Core {
            schema_json: schema.to_json().into_bytes(),
            fingerprint: schema.fingerprint(),
            size,
            epoch,
            state: Mutex::new(State {
                seq: 0,
                sent: vec![0; region.size()],
                sent_version: region.version(),
                scratch: vec![0; region.size()],
                encoder: Encoder::new(),
                last_send: Instant::now(),
            }),
            region,
            publisher,
            options,
            rival,
            failure: Mutex::new(None),
            stop: AtomicBool::new(false),
            key,
        });
        core.send_initial()?;
        let queryable = {
            let answering = Arc::clone(&core);
            session
                .declare_queryable(core.key.clone())
                .complete(true)
                .callback(move |query| {
                    let reply = answering.full_state_reply();
                    // A mirror that went away cannot be answered: nothing
                    // to do about it here.
                    let _ = query.reply(answering.key.clone(), reply).wait();
                })
                .wait()
                .map_err(|e| BridgeError::zenoh(&core.key, "declare the queryable", e))?
        };

        let watcher = if core.options.watch {
            let core = Arc::clone(&core);
            Some(std::thread::spawn(move || {
                let result = core.watch(&core.stop);
                if let Err(e) = result {
                    *lock(&core.failure) = Some(e.to_string());
                }
            }))
        } else {
            None
        };
        Ok(Publisher {
            core,
            watcher,
            _queryable: queryable,
            _rivals: rivals,
            _token: token,
        })
    }

    /// Publishes the region of a [`Shared<T>`] through the same code: a
    /// [`Region`] handle on the same file or shm object, typed by `T`'s
    /// schema.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`BridgeError::Region`] if the region
    /// cannot be opened again (its file was removed, say).
    pub fn shared<T: SharedState>(
        session: &Session,
        key: &str,
        shared: &Shared<T>,
        options: PublishOptions,
    ) -> Result<Publisher, BridgeError> {
        let region = region_of(shared).map_err(|e| BridgeError::region(key, e))?;
        Publisher::new(session, key, region, options)
    }

    /// Sends the region's state now if it changed since the last send
    /// (bytes, or the version): the fast path for a process that updates
    /// and publishes right after. Returns whether it sent.
    ///
    /// # Errors
    ///
    /// [`BridgeError::PublisherExists`] if an older publisher appeared on
    /// the key (this one should stop); [`BridgeError::Zenoh`] if the send
    /// fails.
    pub fn publish_now(&self) -> Result<bool, BridgeError> {
        self.core.check_rival()?;
        self.core.publish_changes()
    }

    /// Sends changes until `stop` is set (or the publisher fails): the
    /// loop of `shm publish`. Version moves are sent at once, field-level
    /// writes within the poll interval; heartbeats when idle. Use with
    /// `options.watch == false` (the watching thread runs the same loop).
    ///
    /// # Errors
    ///
    /// [`BridgeError::PublisherExists`] if an older publisher appears on the
    /// key; [`BridgeError::Zenoh`] if a send fails.
    pub fn run(&self, stop: &AtomicBool) -> Result<(), BridgeError> {
        self.core.watch(stop)
    }

    /// Why the watching thread stopped, if it failed.
    pub fn failure(&self) -> Option<String> {
        lock(&self.core.failure).clone()
    }

    /// The key published under.
    pub fn key(&self) -> &str {
        self.core.key.as_str()
    }

    /// This publisher's epoch: its run, told apart from earlier and later
    /// publishers of the key.
    pub fn epoch(&self) -> u64 {
        self.core.epoch
    }

    /// The number of the latest state sent.
    pub fn seq(&self) -> u64 {
        lock(&self.core.state).seq
    }

    /// The region published.
    pub fn region(&self) -> &Region {
        &self.core.region
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.core.stop.store(true, Ordering::Relaxed);
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("key", &self.core.key.as_str())
            .field("epoch", &format_args!("{:#018x}", self.core.epoch))
            .field("region", &self.core.region)
            .finish_non_exhaustive()
    }
}

impl Core {
    fn header(&self, seq: u64) -> Header {
        Header {
            epoch: self.epoch,
            seq,
            fingerprint: self.fingerprint,
            size: self.size,
        }
    }

    /// The first state of this epoch, whole, with the schema: mirrors that
    /// already follow the key (an earlier publisher's) switch to it at once.
    fn send_initial(&self) -> Result<(), BridgeError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        state.sent_version = self.region.version();
        // Exactly the schema's size: cannot fail.
        let _ = self.region.snapshot_into(&mut state.sent);
        state.seq = 1;
        let message = state
            .encoder
            .full(&self.header(1), Some(&self.schema_json), &state.sent)
            .to_vec();
        self.put(message)?;
        state.last_send = Instant::now();
        Ok(())
    }

    /// The latest state sent, whole, with the schema.
    fn full_state_reply(&self) -> Vec<u8> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let header = self.header(state.seq);
        state
            .encoder
            .full(&header, Some(&self.schema_json), &state.sent)
            .to_vec()
    }

    /// Sends the state if its bytes or the version moved since the last
    /// send; a delta when that is smaller than the whole struct.
    fn publish_changes(&self) -> Result<bool, BridgeError> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let version = self.region.version();
        // Exactly the schema's size: cannot fail.
        let _ = self.region.snapshot_into(&mut state.scratch);
        let bytes_moved = state.scratch != state.sent;
        if !bytes_moved && version == state.sent_version {
            return Ok(false);
        }
        let ranges = if bytes_moved {
            changed_ranges(&state.sent, &state.scratch)
        } else {
            Vec::new()
        };
        let base = state.seq;
        let header = self.header(base + 1);
        let (full_len, delta_len) = encoded_sizes(state.scratch.len(), &ranges);
        let message = if delta_len < full_len {
            state
                .encoder
                .delta(&header, base, &ranges, &state.scratch)
                .to_vec()
        } else {
            state.encoder.full(&header, None, &state.scratch).to_vec()
        };
        self.put(message)?;
        state.seq = base + 1;
        std::mem::swap(&mut state.sent, &mut state.scratch);
        state.sent_version = version;
        state.last_send = Instant::now();
        Ok(true)
    }

    /// A heartbeat if nothing was sent for a heartbeat interval.
    fn heartbeat_if_idle(&self) -> Result<(), BridgeError> {
        let mut state = lock(&self.state);
        if state.last_send.elapsed() < self.options.heartbeat_interval {
            return Ok(());
        }
        let header = self.header(state.seq);
        let message = state.encoder.heartbeat(&header).to_vec();
        self.put(message)?;
        state.last_send = Instant::now();
        Ok(())
    }

    fn put(&self, message: Vec<u8>) -> Result<(), BridgeError> {
        self.publisher
            .put(message)
            .wait()
            .map_err(|e| BridgeError::zenoh(&self.key, "send a state", e))
    }

    fn check_rival(&self) -> Result<(), BridgeError> {
        match self.rival.load(Ordering::Relaxed) {
            0 => Ok(()),
            other => Err(BridgeError::PublisherExists {
                key: self.key.to_string(),
                other_epoch: other,
            }),
        }
    }

    /// The publishing loop: until `stop`, the core's own stop, or failure.
    fn watch(&self, stop: &AtomicBool) -> Result<(), BridgeError> {
        let mut seen = self.region.version();
        while !stop.load(Ordering::Relaxed) && !self.stop.load(Ordering::Relaxed) {
            self.check_rival()?;
            // Short enough to notice a stop request promptly.
            let wait = self
                .options
                .poll_interval
                .min(self.options.heartbeat_interval)
                .min(Duration::from_millis(100));
            if let Ok(version) = self.region.wait_for_change(seen, wait) {
                seen = version;
            }
            self.publish_changes()?;
            self.heartbeat_if_idle()?;
        }
        Ok(())
    }
}

/// Whether a publisher older than `epoch` holds a token on `key`: the
/// epoch of the oldest, if any.
fn older_publisher(
    session: &Session,
    key: &OwnedKeyExpr,
    epoch: u64,
) -> Result<Option<u64>, BridgeError> {
    let replies = session
        .liveliness()
        .get(format!("{key}/*"))
        .timeout(CLAIM_TIMEOUT)
        .wait()
        .map_err(|e| BridgeError::zenoh(key, "ask for other publishers", e))?;
    let prefix = format!("{key}/");
    let mut oldest: Option<u64> = None;
    while let Ok(reply) = replies.recv() {
        if let Ok(sample) = reply.result() {
            if let Some(other) = epoch_of(sample.key_expr().as_str(), &prefix) {
                if other < epoch {
                    oldest = Some(oldest.map_or(other, |o| o.min(other)));
                }
            }
        }
    }
    Ok(oldest)
}

/// The liveliness token a publisher of `key` holds.
pub(crate) fn token_key(key: &OwnedKeyExpr, epoch: u64) -> String {
    format!("{key}/{epoch:016x}")
}

/// The epoch in a token's key, if it is a publisher's token under `prefix`.
pub(crate) fn epoch_of(token: &str, prefix: &str) -> Option<u64> {
    let hex = token.strip_prefix(prefix)?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// A new epoch: the time in nanoseconds since 1970, so that a restarted
/// publisher's is larger than the one before (and, between two that start
/// together, the older wins the key); strictly increasing within a process.
fn new_epoch() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

/// A [`Region`] handle on the object a `Shared<T>` maps, typed by `T`.
pub(crate) fn region_of<T: SharedState>(shared: &Shared<T>) -> shm_runtime::Result<Region> {
    let mut options = Region::options();
    options.schema(Schema::of::<T>()).create(false);
    match shared.location() {
        shm_runtime::Location::File(path) => options.open_file(path),
        shm_runtime::Location::Shm(name) => options.open_shm(name),
    }
}

/// Locks `mutex`, whose data stays consistent even if a holder panicked
/// (every critical section leaves it whole).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_keys_carry_the_epoch() {
        let key = parse_key("demo/foo").unwrap();
        let token = token_key(&key, 0x0123_4567_89ab_cdef);
        assert_eq!(token, "demo/foo/0123456789abcdef");
        assert_eq!(epoch_of(&token, "demo/foo/"), Some(0x0123_4567_89ab_cdef));
        assert_eq!(epoch_of("demo/foo/xyz", "demo/foo/"), None);
        assert_eq!(epoch_of("demo/bar/0123456789abcdef", "demo/foo/"), None);
    }

    #[test]
    fn epochs_increase() {
        let a = new_epoch();
        let b = new_epoch();
        assert!(b > a);
    }
}
