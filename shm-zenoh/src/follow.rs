//! What a mirror follows: which messages to apply and in what order, and
//! applying each state to the local region with one `update`.
//!
//! - A full state is applied when it is newer than the state held: from a
//!   new epoch (a publisher that started since), or with a larger `seq`.
//!   The first one creates the local region from the schema it carries
//!   when the region is missing, or checks the region's layout against it.
//! - A delta is applied when it is based on exactly the state held; one
//!   that is ahead (a message was lost, or the mirror has no state yet) is
//!   kept for a moment and a full state is asked for; the kept deltas are
//!   applied after it when they follow on.
//! - Anything older than the state held, or from a retired epoch (one this
//!   mirror left for a newer publisher), is stale or a duplicate: dropped.
//! - A heartbeat announcing a state newer than the one held asks for a
//!   full state.
//!
//! Every applied state makes the whole local struct equal to the
//! publisher's: a local write on the mirror lasts until the next state.

use std::collections::VecDeque;

use shm_runtime::schema::{diff, summarize};
use shm_runtime::{Location, Region, RegionOptions, Schema};

use crate::error::BridgeError;
use crate::wire::{Body, Header, Message, Ranges};

/// Epochs remembered as left behind.
const RETIRED_KEPT: usize = 16;
/// Deltas kept while waiting for the state they follow.
const AHEAD_KEPT: usize = 256;

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
    /// Messages dropped as stale or duplicate.
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
    /// The local struct, to compare with `known`.
    scratch: Vec<u8>,
    retired: VecDeque<u64>,
    ahead: VecDeque<Vec<u8>>,
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
            scratch: Vec::new(),
            retired: VecDeque::new(),
            ahead: VecDeque::new(),
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

    fn receive_one(&mut self, payload: &[u8]) -> Outcome {
        let message = match Message::decode(payload) {
            Ok(m) => m,
            Err(e) => return Outcome::Invalid(e.to_string()),
        };
        let header = message.header;
        if self.retired.contains(&header.epoch) {
            return Outcome::Dropped("from a publisher this mirror has left for a newer one");
        }
        let same_epoch = self.status.epoch == Some(header.epoch);
        if same_epoch && header.seq <= self.status.seq {
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
                if same_epoch && base_seq == self.status.seq {
                    self.apply_delta(&header, ranges)
                } else {
                    if self.ahead.len() == AHEAD_KEPT {
                        self.ahead.pop_front();
                    }
                    self.ahead.push_back(payload.to_vec());
                    self.want_full = true;
                    Outcome::Ahead
                }
            }
        }
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
        if let Err(outcome) = self.write_known() {
            return outcome;
        }
        if self.status.epoch != Some(header.epoch) {
            if let Some(old) = self.status.epoch {
                if self.retired.len() == RETIRED_KEPT {
                    self.retired.pop_front();
                }
                self.retired.push_back(old);
            }
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

    /// Kept deltas that now follow on, in order; stale ones are dropped.
    fn apply_ahead(&mut self) {
        loop {
            let epoch = self.status.epoch;
            let seq = self.status.seq;
            let mut next = None;
            self.ahead.retain(|payload| match Message::decode(payload) {
                Ok(Message {
                    header,
                    body: Body::Delta { base_seq, .. },
                }) => {
                    let current = Some(header.epoch) == epoch;
                    if current && base_seq == seq && next.is_none() {
                        next = Some(payload.clone());
                        false
                    } else {
                        // Keep what may still follow on; drop what is behind.
                        !(current && header.seq <= seq)
                    }
                }
                _ => false,
            });
            let Some(payload) = next else { break };
            if self.receive_one(&payload) != Outcome::Applied {
                break;
            }
        }
        if self.gap_ahead() {
            self.want_full = true;
        }
    }

    /// Whether kept deltas of the current epoch wait for a state not held.
    fn gap_ahead(&self) -> bool {
        let epoch = self.status.epoch;
        self.ahead
            .iter()
            .any(|payload| Message::decode(payload).is_ok_and(|m| Some(m.header.epoch) == epoch))
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
    fn a_new_epoch_takes_over_and_the_old_one_is_stale() {
        let path = scratch_path("epochs");
        let mut f = Follower::at("k", Location::File(path.clone()));
        let mut old = Sender::new(10, Schema::of::<Foo>());
        let mut new = Sender::new(20, Schema::of::<Foo>());
        assert_eq!(f.receive(&old.full(1, 1)), Outcome::Applied);
        let late = old.delta(9);
        assert_eq!(f.receive(&new.full(7, 7)), Outcome::Applied);
        assert!(matches!(f.receive(&late), Outcome::Dropped(_)));
        assert_eq!(value(&f), Foo { bar: 7, baz: 7 });
        assert_eq!(f.status.epochs, 2);
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
