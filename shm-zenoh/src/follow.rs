//! What a mirror follows: which messages to apply and in what order, and
//! applying each state to the local region with one `update`.
//!
//! Which publisher (epoch) to follow comes from the publishers' liveliness
//! tokens, as the mirror sees them come and go ([`Follower::token_appeared`],
//! [`Follower::token_went`]), and from the one-publisher rule: of two live
//! publishers the older one (the smaller epoch) keeps the key and the newer
//! one stops as soon as it sees it.
//!
//! - The epoch followed changes to another when the other one's full
//!   state arrives and the one followed is not known to be live (its token
//!   went, or was never seen), or the other is older and its token lives.
//!   While two are live, the older one is followed: a newer publisher can
//!   send a state or two before it sees its rival and stops, and those are
//!   dropped.
//! - An epoch is retired only when its token goes. Its messages are then
//!   dropped, and each one has the mirror check whether the token lives
//!   after all (a token that came back unseen): if so the epoch is live
//!   again and a full state is asked for.
//! - A full state of the epoch followed is applied when its `seq` is
//!   larger than the one held. The first state creates the local region
//!   from the schema it carries when the region is missing, or checks the
//!   region's layout against it.
//! - A delta is applied when it is based on exactly the state held; one
//!   that is ahead (a message was lost, or the mirror has no state yet) is
//!   kept for a moment and a full state is asked for; the kept deltas are
//!   applied after it when they follow on. Only deltas that fit the state
//!   held are kept (its epoch, layout and size, ahead of it; with no state
//!   yet, those of a publisher whose token lives), up to a byte budget.
//! - Anything older than the state held is stale or a duplicate: dropped.
//! - A heartbeat announcing a state newer than the one held asks for a
//!   full state.
//!
//! Every applied state makes the whole local struct equal to the
//! publisher's: a local write on the mirror lasts until the next state.

use std::collections::{BTreeSet, VecDeque};

use shm_runtime::schema::{diff, summarize};
use shm_runtime::{Location, Region, RegionOptions, Schema};

use crate::error::BridgeError;
use crate::wire::{Body, Header, Message, Ranges};

/// Epochs remembered as retired (their token went).
const RETIRED_KEPT: usize = 64;
/// The least room for deltas kept while waiting for the state they follow.
/// More than the larger of this and one whole state is not kept: asking
/// for the state again costs less than holding more.
const AHEAD_MIN_BYTES: usize = 1 << 20;

/// What a mirror has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MirrorStatus {
    /// The epoch of the publisher followed, once a state was applied.
    pub epoch: Option<u64>,
    /// The number of the state held.
    pub seq: u64,
    /// States applied: each with one `update` of the local region, or
    /// none when the region already held it.
    pub applied: u64,
    /// Messages dropped as stale or duplicate, or from a publisher not
    /// followed.
    pub dropped: u64,
    /// Payloads that were not valid messages, or carried an unusable
    /// schema.
    pub invalid: u64,
    /// Full states asked of the publisher.
    pub full_requests: u64,
    /// Publishers followed one after the other (epoch changes).
    pub epochs: u64,
}

/// What became of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A state was applied (and possibly kept deltas after it).
    Applied,
    /// Nothing to do with it.
    Dropped(&'static str),
    /// It cannot be applied yet; a full state is wanted.
    Ahead,
    /// Not a valid message.
    Invalid(String),
    /// The mirror has failed (see [`Follower::failure`]).
    Failed,
}

/// How a message's epoch stands with this mirror.
enum Stance {
    /// The epoch followed.
    Current,
    /// An epoch to follow from its next full state.
    Follow,
    /// Not followed: its messages are dropped for this reason.
    Ignore(&'static str),
}

/// A delta kept until the state it follows is held.
struct Kept {
    epoch: u64,
    seq: u64,
    base_seq: u64,
    payload: Vec<u8>,
}

/// The mirror's state: the local region and the publisher's state it holds.
pub(crate) struct Follower {
    key: String,
    location: Location,
    region: Option<Region>,
    /// The local region's fingerprint (computed once: it hashes the schema).
    region_fingerprint: u64,
    /// The publisher's schema, as sent and as parsed, and its fingerprint.
    schema: Option<(Vec<u8>, Schema, u64)>,
    /// The publisher's state at `status.seq`: what deltas apply to.
    known: Vec<u8>,
    /// The fingerprint of the layout `known` has.
    known_fingerprint: u64,
    /// The local struct, to compare with `known`.
    scratch: Vec<u8>,
    /// Epochs whose token is live, as last seen.
    live: BTreeSet<u64>,
    /// Epochs whose token went (and was not seen back), oldest first.
    retired: VecDeque<u64>,
    /// Deltas ahead of the state held, in arrival order, and their bytes.
    ahead: VecDeque<Kept>,
    ahead_bytes: usize,
    /// Epochs whose token the mirror should look for: a message came that
    /// the tokens seen so far cannot explain.
    pub(crate) checks: BTreeSet<u64>,
    /// A full state is wanted (no state yet, or a gap).
    pub(crate) want_full: bool,
    /// Why the mirror stopped, until reported.
    pub(crate) failure: Option<BridgeError>,
    pub(crate) failed: bool,
    pub(crate) status: MirrorStatus,
}

impl Follower {
    /// A follower that creates the region at `location` from the first
    /// state's schema when it is missing.
    pub(crate) fn at(key: &str, location: Location) -> Follower {
        Follower {
            key: key.to_owned(),
            location,
            region: None,
            region_fingerprint: 0,
            schema: None,
            known: Vec::new(),
            known_fingerprint: 0,
            scratch: Vec::new(),
            live: BTreeSet::new(),
            retired: VecDeque::new(),
            ahead: VecDeque::new(),
            ahead_bytes: 0,
            checks: BTreeSet::new(),
            want_full: true,
            failure: None,
            failed: false,
            status: MirrorStatus::default(),
        }
    }

    /// A follower that writes into `region`, which must have the
    /// publisher's layout.
    pub(crate) fn into_region(key: &str, region: Region) -> Follower {
        let mut follower = Follower::at(key, region.location().clone());
        follower.region_fingerprint = region.schema().fingerprint();
        follower.region = Some(region);
        follower
    }

    pub(crate) fn location(&self) -> &Location {
        &self.location
    }

    /// The local region, once open.
    pub(crate) fn region(&self) -> Option<&Region> {
        self.region.as_ref()
    }

    /// The token of publisher `epoch` is live (it appeared, or a check
    /// found it): the epoch is no longer retired, and a full state is
    /// wanted (a publisher that started, or one that came back).
    pub(crate) fn token_appeared(&mut self, epoch: u64) {
        self.live.insert(epoch);
        self.retired.retain(|&e| e != epoch);
        self.checks.remove(&epoch);
        self.want_full = true;
    }

    /// A check found the token of publisher `epoch`: news only when the
    /// epoch was not known as live.
    pub(crate) fn token_found(&mut self, epoch: u64) {
        if self.live.contains(&epoch) {
            self.checks.remove(&epoch);
        } else {
            self.token_appeared(epoch);
        }
    }

    /// The token of publisher `epoch` went (or a check did not find it):
    /// the epoch is retired. When it is the one followed a full state is
    /// wanted, from whichever publisher is left.
    pub(crate) fn token_went(&mut self, epoch: u64) {
        self.live.remove(&epoch);
        self.checks.remove(&epoch);
        if !self.retired.contains(&epoch) {
            if self.retired.len() == RETIRED_KEPT {
                self.retired.pop_front();
            }
            self.retired.push_back(epoch);
        }
        if self.status.epoch == Some(epoch) {
            self.want_full = true;
        }
    }

    /// Handles one payload from the subscription or a query's reply.
    pub(crate) fn receive(&mut self, payload: &[u8]) -> Outcome {
        if self.failed {
            return Outcome::Failed;
        }
        let outcome = self.receive_one(payload);
        match &outcome {
            Outcome::Applied => self.apply_ahead(),
            Outcome::Dropped(_) => self.status.dropped += 1,
            Outcome::Invalid(_) => self.status.invalid += 1,
            Outcome::Ahead | Outcome::Failed => {}
        }
        outcome
    }

    /// How messages of `epoch` stand; schedules the token check that would
    /// settle an ignored one.
    fn stance(&mut self, epoch: u64) -> Stance {
        let Some(current) = self.status.epoch else {
            return if self.retired.contains(&epoch) {
                self.checks.insert(epoch);
                Stance::Ignore("from a publisher whose token went")
            } else {
                Stance::Follow
            };
        };
        if epoch == current {
            Stance::Current
        } else if self.retired.contains(&epoch) {
            self.checks.insert(epoch);
            Stance::Ignore("from a publisher whose token went")
        } else if !self.live.contains(&current) || (epoch < current && self.live.contains(&epoch)) {
            // The one followed is not known to be live, or this one is
            // the older of two live ones.
            Stance::Follow
        } else if epoch < current {
            self.checks.insert(epoch);
            Stance::Ignore("from an older publisher whose token was not seen")
        } else {
            // The one-publisher rule stops the newer one once it sees the
            // older; until then its states are not followed. Should the
            // older one be gone unseen, the check finds it out.
            self.checks.insert(current);
            Stance::Ignore("from a newer publisher while the one followed lives")
        }
    }

    fn receive_one(&mut self, payload: &[u8]) -> Outcome {
        let message = match Message::decode(payload) {
            Ok(m) => m,
            Err(e) => return Outcome::Invalid(e.to_string()),
        };
        let header = message.header;
        let current = match self.stance(header.epoch) {
            Stance::Ignore(why) => return Outcome::Dropped(why),
            Stance::Current => true,
            Stance::Follow => false,
        };
        if current && header.seq <= self.status.seq {
            if header.seq == self.status.seq && matches!(message.body, Body::Full { .. }) {
                // The answer to a query when nothing was missed: the state
                // held is the latest, unless kept deltas show a gap.
                self.want_full = self.gap_ahead();
            }
            return match message.body {
                Body::Heartbeat => Outcome::Dropped("a heartbeat for the state held"),
                _ => Outcome::Dropped("a state already held, or older"),
            };
        }
        match message.body {
            Body::Heartbeat => {
                // A newer state exists that this mirror did not get.
                self.want_full = true;
                Outcome::Ahead
            }
            Body::Full { schema, state } => self.apply_full(&header, schema, state),
            Body::Delta { base_seq, ranges } => {
                if current && base_seq == self.status.seq {
                    self.apply_delta(&header, ranges)
                } else {
                    self.keep_ahead(&header, base_seq, payload);
                    self.want_full = true;
                    Outcome::Ahead
                }
            }
        }
    }

    /// Keeps a delta that is ahead of the state held, if it fits it: of
    /// the epoch followed, its layout and size, and newer than it; with no
    /// state held, of a publisher whose token lives. The oldest kept go
    /// first when the byte budget is spent.
    fn keep_ahead(&mut self, header: &Header, base_seq: u64, payload: &[u8]) {
        let fits = match self.status.epoch {
            Some(epoch) => {
                header.epoch == epoch
                    && header.fingerprint == self.known_fingerprint
                    && header.size as usize == self.known.len()
                    && base_seq > self.status.seq
            }
            None => self.live.contains(&header.epoch),
        };
        let budget = AHEAD_MIN_BYTES.max(self.known.len());
        if !fits || payload.len() > budget {
            return;
        }
        while self.ahead_bytes + payload.len() > budget {
            let Some(old) = self.ahead.pop_front() else {
                break;
            };
            self.ahead_bytes -= old.payload.len();
        }
        self.ahead_bytes += payload.len();
        self.ahead.push_back(Kept {
            epoch: header.epoch,
            seq: header.seq,
            base_seq,
            payload: payload.to_vec(),
        });
    }

    fn apply_full(&mut self, header: &Header, schema: Option<&[u8]>, state: &[u8]) -> Outcome {
        if let Some(json) = schema {
            if self.schema.as_ref().is_none_or(|(seen, _, _)| seen != json) {
                match Schema::from_json(json) {
                    Ok(parsed) => {
                        let fingerprint = parsed.fingerprint();
                        self.schema = Some((json.to_vec(), parsed, fingerprint));
                    }
                    Err(e) => return Outcome::Invalid(format!("the publisher's schema: {e}")),
                }
            }
        }
        let size = match &self.schema {
            Some((_, s, fingerprint)) if *fingerprint == header.fingerprint => s.size(),
            Some(_) | None => {
                if schema.is_some() {
                    return Outcome::Invalid(
                        "the schema sent is not the layout the header names".to_owned(),
                    );
                }
                // A whole state of a layout not seen yet: ask for one with
                // its schema.
                self.want_full = true;
                return Outcome::Ahead;
            }
        };
        if size != state.len() {
            return Outcome::Invalid(format!(
                "a state of {} bytes for a struct of {size}",
                state.len()
            ));
        }
        if let Err(e) = self.open_region(header.fingerprint, state) {
            return self.fail(e);
        }
        self.known.clear();
        self.known.extend_from_slice(state);
        self.known_fingerprint = header.fingerprint;
        if let Err(outcome) = self.write_known() {
            return outcome;
        }
        if self.status.epoch != Some(header.epoch) {
            // The epoch left is not retired: only its token going does
            // that (it may be the older of two, back after a partition).
            self.status.epochs += 1;
            self.status.epoch = Some(header.epoch);
        }
        self.status.seq = header.seq;
        self.want_full = false;
        Outcome::Applied
    }

    fn apply_delta(&mut self, header: &Header, ranges: Ranges<'_>) -> Outcome {
        let fits = self.region.is_some() && self.region_fingerprint == header.fingerprint;
        if !fits || self.known.len() != header.size as usize {
            // Same epoch, so the same layout as the state held: a
            // publisher that lies. Ask for the whole state.
            self.want_full = true;
            return Outcome::Invalid("a delta of another layout than its epoch's".to_owned());
        }
        if let Err(e) = ranges.apply(&mut self.known) {
            return Outcome::Invalid(e.to_string());
        }
        if let Err(outcome) = self.write_known() {
            return outcome;
        }
        self.status.seq = header.seq;
        Outcome::Applied
    }

    /// Makes the local struct equal to `known`: one update, or none when
    /// it already is (a state that changed only the publisher's version).
    /// Not moving the version then also ends the echo a mirror into the
    /// very region its publisher serves would make: every version move
    /// is a state to send.
    fn write_known(&mut self) -> Result<(), Outcome> {
        let Some(region) = &self.region else {
            return Err(Outcome::Dropped("no local region yet"));
        };
        self.scratch.resize(self.known.len(), 0);
        if region.snapshot_into(&mut self.scratch).is_ok() && self.scratch == self.known {
            self.status.applied += 1;
            return Ok(());
        }
        // Compared with the region in place: only what differs is written.
        match region.store(&self.known) {
            Ok(()) => {
                self.status.applied += 1;
                Ok(())
            }
            Err(e) => Err(self.fail(BridgeError::region(&self.key, e))),
        }
    }

    /// Kept deltas that now follow on, in order; those that no longer fit
    /// the state held are dropped.
    fn apply_ahead(&mut self) {
        loop {
            let (epoch, seq) = (self.status.epoch, self.status.seq);
            let mut next = None;
            let mut freed = 0;
            self.ahead.retain_mut(|kept| {
                let fits = Some(kept.epoch) == epoch && kept.seq > seq;
                if fits && (kept.base_seq != seq || next.is_some()) {
                    return true;
                }
                freed += kept.payload.len();
                if fits {
                    next = Some(std::mem::take(&mut kept.payload));
                }
                false
            });
            self.ahead_bytes -= freed;
            let Some(payload) = next else { break };
            if self.receive_one(&payload) != Outcome::Applied {
                break;
            }
        }
        if self.gap_ahead() {
            self.want_full = true;
        }
    }

    /// Whether kept deltas wait for a state not held.
    fn gap_ahead(&self) -> bool {
        let epoch = self.status.epoch;
        self.ahead.iter().any(|kept| Some(kept.epoch) == epoch)
    }

    /// Opens (or creates) the local region for the publisher's schema
    /// (which has `fingerprint`), or checks that the one open has its
    /// layout.
    fn open_region(&mut self, fingerprint: u64, state: &[u8]) -> Result<(), BridgeError> {
        if self.region.is_some() && self.region_fingerprint == fingerprint {
            return Ok(());
        }
        // Only reached with the schema of `fingerprint` (see `apply_full`);
        // cloned only here, when a region is opened or refused.
        let Some((_, schema, _)) = &self.schema else {
            return Err(BridgeError::LayoutMismatch {
                key: self.key.clone(),
                detail: "the publisher sent no schema for its layout".to_owned(),
            });
        };
        let schema = schema.clone();
        if let Some(region) = &self.region {
            return Err(self.mismatch(region, &schema));
        }
        let mut options = RegionOptions::new();
        options.schema(schema).initial(state.to_vec());
        let opened = match &self.location {
            Location::File(path) => options.open_file(path),
            Location::Shm(name) => options.open_shm(name),
        };
        let region = opened.map_err(|e| BridgeError::region(&self.key, e))?;
        self.region_fingerprint = region.schema().fingerprint();
        self.region = Some(region);
        Ok(())
    }

    /// The error for a publisher whose layout is not the region's: the
    /// runtime's own mismatch message, from opening the region as the
    /// publisher's type.
    fn mismatch(&self, region: &Region, schema: &Schema) -> BridgeError {
        let mut options = RegionOptions::new();
        options.schema(schema.clone()).create(false);
        let reopened = match region.location() {
            Location::File(path) => options.open_file(path),
            Location::Shm(name) => options.open_shm(name),
        };
        match reopened {
            Err(e @ shm_runtime::Error::LayoutMismatch { .. }) => BridgeError::region(&self.key, e),
            // The object was replaced since it was opened: say it from the
            // two schemas.
            _ => BridgeError::LayoutMismatch {
                key: self.key.clone(),
                detail: format!(
                    "{} holds a `{}`, the publisher sends a `{}`: {}",
                    region.location(),
                    region.schema().name(),
                    schema.name(),
                    summarize(&diff(schema.root(), region.schema().root()))
                ),
            },
        }
    }

    fn fail(&mut self, error: BridgeError) -> Outcome {
        self.failure = Some(error);
        self.failed = true;
        Outcome::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Encoder;
    use shm_runtime::SharedState;

    #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
    #[repr(C)]
    struct Foo {
        bar: i32,
        baz: i32,
    }

    #[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
    #[repr(C)]
    struct Other {
        bar: i32,
        qux: u32,
    }

    struct Sender {
        epoch: u64,
        seq: u64,
        state: Vec<u8>,
        schema: Schema,
    }

    impl Sender {
        fn new(epoch: u64, schema: Schema) -> Sender {
            Sender {
                epoch,
                seq: 0,
                state: vec![0; schema.size()],
                schema,
            }
        }
        fn header(&self) -> Header {
            Header {
                epoch: self.epoch,
                seq: self.seq,
                fingerprint: self.schema.fingerprint(),
                size: self.schema.size() as u32,
            }
        }
        fn set(&mut self, bar: i32, baz: i32) {
            self.state[..4].copy_from_slice(&bar.to_le_bytes());
            self.state[4..].copy_from_slice(&baz.to_le_bytes());
        }
        fn full(&mut self, bar: i32, baz: i32) -> Vec<u8> {
            self.set(bar, baz);
            self.seq += 1;
            let json = self.schema.to_json();
            Encoder::new()
                .full(&self.header(), Some(json.as_bytes()), &self.state)
                .to_vec()
        }
        fn delta(&mut self, bar: i32) -> Vec<u8> {
            let old = self.state.clone();
            self.state[..4].copy_from_slice(&bar.to_le_bytes());
            self.seq += 1;
            let ranges = crate::delta::changed_ranges(&old, &self.state);
            Encoder::new()
                .delta(&self.header(), self.seq - 1, &ranges, &self.state)
                .to_vec()
        }
        /// The answer to a query: the latest state, whole, with the schema.
        fn reply(&self) -> Vec<u8> {
            let json = self.schema.to_json();
            Encoder::new()
                .full(&self.header(), Some(json.as_bytes()), &self.state)
                .to_vec()
        }
        fn heartbeat(&self) -> Vec<u8> {
            Encoder::new().heartbeat(&self.header()).to_vec()
        }
    }

    fn scratch_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shm-zenoh-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    fn value(f: &Follower) -> Foo {
        shm_runtime::from_bytes(&f.region().unwrap().snapshot()).unwrap()
    }

    #[test]
    fn creates_the_region_then_follows_deltas_in_order() {
        let path = scratch_path("in-order");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        let first = s.full(1, 2);
        assert_eq!(f.receive(&first), Outcome::Applied);
        assert_eq!(value(&f), Foo { bar: 1, baz: 2 });
        assert!(!f.want_full);
        let d2 = s.delta(5);
        let d3 = s.delta(6);
        assert_eq!(f.receive(&d2), Outcome::Applied);
        assert!(matches!(f.receive(&d2), Outcome::Dropped(_)), "duplicate");
        assert!(matches!(f.receive(&first), Outcome::Dropped(_)), "stale");
        assert_eq!(f.receive(&d3), Outcome::Applied);
        assert_eq!(value(&f), Foo { bar: 6, baz: 2 });
        assert_eq!(f.status.seq, 3);
        assert!(matches!(f.receive(&s.heartbeat()), Outcome::Dropped(_)));
        assert!(!f.want_full);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_gap_asks_for_a_full_state_and_kept_deltas_follow_it() {
        let path = scratch_path("gap");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Applied);
        let _lost = s.delta(3);
        let full_after_lost = {
            let json = s.schema.to_json();
            Encoder::new()
                .full(&s.header(), Some(json.as_bytes()), &s.state)
                .to_vec()
        };
        let d4 = s.delta(4);
        let d5 = s.delta(5);
        assert_eq!(f.receive(&d5), Outcome::Ahead);
        assert_eq!(f.receive(&d4), Outcome::Ahead);
        assert!(f.want_full);
        // The query's answer: the state the lost delta made.
        assert_eq!(f.receive(&full_after_lost), Outcome::Applied);
        assert_eq!(value(&f).bar, 5, "kept deltas applied after the full state");
        assert_eq!(f.status.seq, 4);
        assert!(!f.want_full);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_heartbeat_ahead_asks_for_a_full_state() {
        let path = scratch_path("heartbeat");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Applied);
        let _lost = s.delta(3);
        assert_eq!(f.receive(&s.heartbeat()), Outcome::Ahead);
        assert!(f.want_full);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_restarted_publisher_takes_over_and_the_old_one_is_stale() {
        let path = scratch_path("epochs");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut old = Sender::new(10, Schema::of::<Foo>());
        let mut new = Sender::new(20, Schema::of::<Foo>());
        f.token_appeared(10);
        assert_eq!(f.receive(&old.full(1, 1)), Outcome::Applied);
        let late = old.delta(9);
        f.token_went(10);
        assert!(f.want_full, "the publisher followed went: ask who is left");
        f.token_appeared(20);
        assert_eq!(f.receive(&new.full(7, 7)), Outcome::Applied);
        assert!(matches!(f.receive(&late), Outcome::Dropped(_)));
        assert!(f.checks.contains(&10), "a retired epoch spoke: look again");
        f.token_went(10);
        assert_eq!(value(&f), Foo { bar: 7, baz: 7 });
        assert_eq!(f.status.epochs, 2);
        // Without tokens seen at all, a new epoch's state still takes over.
        let mut f = Follower::at("k", Location::File(path.clone()));
        assert_eq!(f.receive(&old.full(2, 2)), Outcome::Applied);
        assert_eq!(f.receive(&new.full(8, 8)), Outcome::Applied);
        assert_eq!(value(&f), Foo { bar: 8, baz: 8 });
        let _ = std::fs::remove_file(path);
    }

    /// Issue 18, item 5: two networks that each had a publisher join; the
    /// newer one sends a state before it sees the older one, and stops.
    /// The mirror goes on following the older one.
    #[test]
    fn a_newer_publisher_is_not_followed_while_the_older_one_lives() {
        let path = scratch_path("rivals");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut older = Sender::new(10, Schema::of::<Foo>());
        let mut newer = Sender::new(20, Schema::of::<Foo>());
        f.token_appeared(10);
        assert_eq!(f.receive(&older.full(1, 1)), Outcome::Applied);
        f.token_appeared(20);
        assert!(matches!(f.receive(&newer.full(5, 5)), Outcome::Dropped(_)));
        assert!(matches!(f.receive(&newer.delta(6)), Outcome::Dropped(_)));
        assert!(matches!(f.receive(&newer.heartbeat()), Outcome::Dropped(_)));
        assert!(f.checks.contains(&10), "is the one followed still there?");
        // The answers to the query the newer token caused.
        assert!(matches!(f.receive(&newer.reply()), Outcome::Dropped(_)));
        assert!(matches!(f.receive(&older.reply()), Outcome::Dropped(_)));
        assert!(!f.want_full, "the state held is the older one's latest");
        f.token_found(10);
        f.token_went(20);
        assert_eq!(f.receive(&older.delta(2)), Outcome::Applied);
        assert!(matches!(f.receive(&older.heartbeat()), Outcome::Dropped(_)));
        assert!(!f.want_full);
        assert_eq!(f.receive(&older.delta(3)), Outcome::Applied);
        assert_eq!(value(&f), Foo { bar: 3, baz: 1 });
        assert_eq!(f.status.epochs, 1);

        // Followed first (the older one's token not seen yet), the newer
        // one gives way once the older one's token shows.
        let mut f = Follower::at("k", Location::File(path.clone()));
        f.token_appeared(20);
        assert_eq!(f.receive(&newer.full(5, 5)), Outcome::Applied);
        f.token_appeared(10);
        assert!(f.want_full);
        assert_eq!(f.receive(&older.full(4, 4)), Outcome::Applied);
        assert!(matches!(f.receive(&newer.delta(7)), Outcome::Dropped(_)));
        assert_eq!(value(&f), Foo { bar: 4, baz: 4 });
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_retired_publisher_whose_token_lives_comes_back() {
        let path = scratch_path("back");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut older = Sender::new(10, Schema::of::<Foo>());
        let mut newer = Sender::new(20, Schema::of::<Foo>());
        f.token_appeared(10);
        assert_eq!(f.receive(&older.full(1, 1)), Outcome::Applied);
        // A partition: the older one's token goes, a newer one starts on
        // this side and is followed.
        f.token_went(10);
        f.token_appeared(20);
        assert_eq!(f.receive(&newer.full(2, 2)), Outcome::Applied);
        // The network heals; the older one speaks before its token shows.
        f.want_full = false;
        assert!(matches!(f.receive(&older.delta(3)), Outcome::Dropped(_)));
        assert!(f.checks.contains(&10));
        f.token_found(10);
        assert!(f.want_full, "back: ask for its state");
        assert_eq!(f.receive(&older.full(4, 4)), Outcome::Applied);
        assert_eq!(f.status.epoch, Some(10), "the older of two live ones");
        assert!(matches!(f.receive(&newer.delta(9)), Outcome::Dropped(_)));
        assert_eq!(value(&f), Foo { bar: 4, baz: 4 });
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn kept_deltas_fit_the_state_held_within_a_byte_budget() {
        let path = scratch_path("kept");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        let mut stranger = Sender::new(30, Schema::of::<Foo>());
        // No state held: only deltas of a publisher whose token lives.
        assert_eq!(f.receive(&stranger.delta(1)), Outcome::Ahead);
        assert_eq!(f.ahead.len(), 0, "an epoch never seen");
        f.token_appeared(10);
        let first = s.full(1, 2);
        let d2 = s.delta(2);
        assert_eq!(f.receive(&d2), Outcome::Ahead);
        assert_eq!(f.ahead.len(), 1);
        assert_eq!(f.receive(&first), Outcome::Applied);
        assert_eq!(f.status.seq, 2, "the kept delta followed on");
        assert!(f.ahead.is_empty() && f.ahead_bytes == 0);

        // A state held: other epochs and other layouts are not kept.
        f.token_appeared(30);
        assert!(matches!(f.receive(&stranger.delta(4)), Outcome::Dropped(_)));
        let mut other = Sender::new(10, Schema::of::<Other>());
        other.seq = 5;
        assert_eq!(f.receive(&other.delta(4)), Outcome::Ahead);
        assert!(f.ahead.is_empty(), "a delta of another layout than held");

        // A gap and many deltas after it: kept within the budget, the
        // newest kept.
        let _lost = s.delta(3);
        let mut last = Vec::new();
        for i in 0..40_000 {
            last = s.delta(i);
            assert_eq!(f.receive(&last), Outcome::Ahead);
        }
        assert!(f.ahead_bytes <= AHEAD_MIN_BYTES, "{}", f.ahead_bytes);
        assert!(f.ahead.len() < 40_000);
        assert_eq!(f.ahead.back().unwrap().payload, last);
        assert_eq!(
            f.ahead_bytes,
            f.ahead.iter().map(|k| k.payload.len()).sum::<usize>()
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_state_the_region_already_holds_moves_no_version() {
        let path = scratch_path("same");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Applied);
        let version = f.region().unwrap().version();
        // The publisher's version moved, its bytes did not: an empty delta.
        let same = s.delta(1);
        assert_eq!(f.receive(&same), Outcome::Applied);
        assert_eq!(f.status.seq, 2);
        assert_eq!(f.region().unwrap().version(), version);
        assert_eq!(f.receive(&s.delta(4)), Outcome::Applied);
        assert!(f.region().unwrap().version() > version);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn local_writes_are_overwritten_by_the_next_state() {
        let path = scratch_path("local");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Applied);
        let local = Foo::options().open_file(&path).unwrap();
        local.baz.set(99);
        assert_eq!(f.receive(&s.delta(3)), Outcome::Applied);
        assert_eq!(local.snapshot(), Foo { bar: 3, baz: 2 });
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn another_layout_is_refused_naming_the_difference() {
        let path = scratch_path("mismatch");
        drop(Other::open_file(&path).unwrap());
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut s = Sender::new(10, Schema::of::<Foo>());
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Failed);
        let e = f.failure.take().unwrap().to_string();
        assert!(e.contains("`k`") && e.contains("baz"), "{e}");

        // The same through an open region.
        let region = Region::open_file(&path).unwrap();
        let mut f = Follower::into_region("k", region);
        assert_eq!(f.receive(&s.full(1, 2)), Outcome::Failed);
        let e = f.failure.take().unwrap().to_string();
        assert!(e.contains("baz") && e.contains("qux"), "{e}");
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn garbage_is_counted_not_applied() {
        let mut f = Follower::at("k", Location::Shm("/unused".into()));
        assert!(matches!(f.receive(b"hello"), Outcome::Invalid(_)));
        assert_eq!(f.status.invalid, 1);
        assert!(f.region().is_none());
    }
}
