//! What goes on the wire: one Zenoh payload is one [`Message`].
//!
//! Format version 1, every integer little-endian:
//!
//! ```text
//! header, 36 bytes
//!   0  4  magic "SHMZ"
//!   4  1  format version: 1
//!   5  1  kind: 1 full state, 2 delta, 3 heartbeat
//!   6  2  reserved: 0
//!   8  8  epoch        the publisher's run: changes when a publisher restarts
//!  16  8  seq          the state's number within its epoch (1, 2, ...)
//!  24  8  fingerprint  the struct's layout fingerprint
//!  32  4  size         the struct's size in bytes
//! full state (kind 1)
//!  36  4  schema_len   0: no schema (the receiver knows this fingerprint's)
//!  40  .  schema       the region's embedded schema JSON, schema_len bytes
//!   .  .  state        the struct's bytes, exactly `size` of them
//! delta (kind 2): the state `seq`, as changes to the state `base_seq`
//!  36  8  base_seq     the state this delta applies to (same epoch)
//!  44  4  count        number of ranges
//!  48  .  count x { offset u32, len u32, len bytes }
//!                      increasing, not overlapping, not empty, inside `size`
//! heartbeat (kind 3): no body; says "my latest state is `seq`"
//! ```
//!
//! Nothing may follow the body. [`Message::decode`] checks all of this and
//! never panics, whatever the bytes: a message it returns can be applied
//! without further bounds checks. A reader refuses other format versions
//! (a later version may change anything after the version byte).

use std::fmt;

/// The first four bytes of every message.
pub const MAGIC: [u8; 4] = *b"SHMZ";
/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;
/// Bytes before the body.
pub const HEADER_LEN: usize = 36;
/// Bytes a delta spends on each range besides the bytes it carries.
pub const RANGE_OVERHEAD: usize = 8;
/// Bytes a delta spends before its ranges.
pub const DELTA_PREFIX: usize = 12;

const KIND_FULL: u8 = 1;
const KIND_DELTA: u8 = 2;
const KIND_HEARTBEAT: u8 = 3;

/// The fields every message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The publisher's run.
    pub epoch: u64,
    /// The state's number within the epoch.
    pub seq: u64,
    /// The struct's layout fingerprint.
    pub fingerprint: u64,
    /// The struct's size in bytes.
    pub size: u32,
}

/// A decoded message, borrowing the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Epoch, sequence number, layout.
    pub header: Header,
    /// What the message says.
    pub body: Body<'a>,
}

/// The kinds of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// The whole state; with the schema JSON when the sender included it.
    Full {
        /// The schema JSON (as a region embeds it), if included.
        schema: Option<&'a [u8]>,
        /// Exactly `header.size` bytes.
        state: &'a [u8],
    },
    /// The state `header.seq` as byte ranges replacing those of the state
    /// `base_seq`.
    Delta {
        /// The state the ranges apply to.
        base_seq: u64,
        /// The changed ranges, validated.
        ranges: Ranges<'a>,
    },
    /// The publisher's latest state is `header.seq`; nothing else.
    Heartbeat,
}

/// The validated ranges of a delta: iterate to get `(offset, bytes)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ranges<'a> {
    count: u32,
    size: u32,
    bytes: &'a [u8],
}

impl fmt::Debug for Ranges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(offset, bytes)| offset..offset + bytes.len()),
            )
            .finish()
    }
}

impl<'a> Ranges<'a> {
    /// How many ranges.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none (a state equal to its base).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `(offset, bytes)` of each range, in increasing offset order.
    pub fn iter(&self) -> RangesIter<'a> {
        RangesIter { rest: self.bytes }
    }

    /// Writes the ranges over `state`, which must be the struct's size
    /// (as the header that came with them says).
    ///
    /// # Errors
    ///
    /// [`WireError::SizeMismatch`] if `state` has another length.
    pub fn apply(&self, state: &mut [u8]) -> Result<(), WireError> {
        if state.len() != self.size as usize {
            return Err(WireError::SizeMismatch {
                header: u64::from(self.size),
                found: state.len() as u64,
            });
        }
        for (offset, bytes) in self.iter() {
            // In bounds: `decode` checked every range against `size`.
            state[offset..offset + bytes.len()].copy_from_slice(bytes);
        }
        Ok(())
    }
}

/// Iterator over a delta's ranges.
#[derive(Debug)]
pub struct RangesIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RangesIter<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The bytes were validated by `decode`; these `get`s cannot fail,
        // but stopping is the answer if they did.
        let offset = read_u32(self.rest, 0)? as usize;
        let len = read_u32(self.rest, 4)? as usize;
        let bytes = self.rest.get(RANGE_OVERHEAD..RANGE_OVERHEAD + len)?;
        self.rest = &self.rest[RANGE_OVERHEAD + len..];
        Some((offset, bytes))
    }
}

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than what it announces.
    #[error("message truncated: {needed} bytes needed for the {what}, {found} present")]
    Truncated {
        /// The part that is cut.
        what: &'static str,
        /// Bytes needed up to the end of that part.
        needed: u64,
        /// Bytes present.
        found: u64,
    },
    /// Not a message of this protocol.
    #[error("not an shm state message (magic {found:02x?}, expected \"SHMZ\")")]
    Magic {
        /// The first bytes found.
        found: [u8; 4],
    },
    /// A format this reader does not know.
    #[error(
        "wire format version {found} (this reader knows version {VERSION}); upgrade the older side"
    )]
    Version {
        /// The version byte found.
        found: u8,
    },
    /// An unknown message kind.
    #[error("unknown message kind {found}")]
    Kind {
        /// The kind byte found.
        found: u8,
    },
    /// Reserved bits set.
    #[error("reserved header bits set: {found:#06x}")]
    Reserved {
        /// The reserved field.
        found: u16,
    },
    /// A state of another length than the header's size.
    #[error("the state holds {found} bytes, the header says {header}")]
    SizeMismatch {
        /// The header's size.
        header: u64,
        /// The state's length.
        found: u64,
    },
    /// A delta range that is empty, out of order, overlapping or outside
    /// the struct.
    #[error("delta range {index} ({offset}..{end}) is {why} (struct of {size} bytes)")]
    BadRange {
        /// Which range, from 0.
        index: u32,
        /// Its start.
        offset: u64,
        /// Its end.
        end: u64,
        /// The struct's size.
        size: u32,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Bytes after the body.
    #[error("{extra} unexpected bytes after the message")]
    Trailing {
        /// How many.
        extra: u64,
    },
}

impl<'a> Message<'a> {
    /// Parses one message. Never panics; a message it returns is
    /// consistent (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// A [`WireError`] saying what is wrong.
    pub fn decode(bytes: &'a [u8]) -> Result<Message<'a>, WireError> {
        let magic: [u8; 4] = bytes
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .ok_or_else(|| truncated("magic", 4, bytes))?;
        if magic != MAGIC {
            return Err(WireError::Magic { found: magic });
        }
        let version = *bytes.get(4).ok_or_else(|| truncated("version", 5, bytes))?;
        if version != VERSION {
            return Err(WireError::Version { found: version });
        }
        if bytes.len() < HEADER_LEN {
            return Err(truncated("header", HEADER_LEN, bytes));
        }
        let kind = bytes[5];
        let reserved = read_u16(bytes, 6).unwrap_or(0);
        if reserved != 0 {
            return Err(WireError::Reserved { found: reserved });
        }
        let header = Header {
            epoch: read_u64(bytes, 8).unwrap_or(0),
            seq: read_u64(bytes, 16).unwrap_or(0),
            fingerprint: read_u64(bytes, 24).unwrap_or(0),
            size: read_u32(bytes, 32).unwrap_or(0),
        };
        let body = &bytes[HEADER_LEN..];
        let body = match kind {
            KIND_FULL => decode_full(body, header.size, bytes)?,
            KIND_DELTA => decode_delta(body, header.size, bytes)?,
            KIND_HEARTBEAT => {
                if !body.is_empty() {
                    return Err(WireError::Trailing {
                        extra: body.len() as u64,
                    });
                }
                Body::Heartbeat
            }
            found => return Err(WireError::Kind { found }),
        };
        Ok(Message { header, body })
    }
}

fn decode_full<'a>(body: &'a [u8], size: u32, all: &[u8]) -> Result<Body<'a>, WireError> {
    let schema_len = read_u32(body, 0).ok_or_else(|| truncated("schema length", 40, all))? as u64;
    let rest = &body[4..];
    let needed = schema_len + u64::from(size);
    if (rest.len() as u64) < needed {
        return Err(truncated(
            "schema and state",
            (HEADER_LEN as u64 + 4 + needed) as usize,
            all,
        ));
    }
    if rest.len() as u64 > needed {
        return Err(WireError::Trailing {
            extra: rest.len() as u64 - needed,
        });
    }
    // Both fit in `rest` (checked), so the casts are lossless.
    let (schema, state) = rest.split_at(schema_len as usize);
    Ok(Body::Full {
        schema: (!schema.is_empty()).then_some(schema),
        state,
    })
}

fn decode_delta<'a>(body: &'a [u8], size: u32, all: &[u8]) -> Result<Body<'a>, WireError> {
    let base_seq = read_u64(body, 0).ok_or_else(|| truncated("delta base", 44, all))?;
    let count = read_u32(body, 8).ok_or_else(|| truncated("range count", 48, all))?;
    let ranges = &body[DELTA_PREFIX..];
    let mut rest = ranges;
    let mut previous_end = 0u64;
    for index in 0..count {
        let at = (all.len() - rest.len()) as u64;
        let (Some(offset), Some(len)) = (read_u32(rest, 0), read_u32(rest, 4)) else {
            return Err(WireError::Truncated {
                what: "range header",
                needed: at + RANGE_OVERHEAD as u64,
                found: all.len() as u64,
            });
        };
        let (offset, len) = (u64::from(offset), u64::from(len));
        let end = offset + len;
        let bad = |why| WireError::BadRange {
            index,
            offset,
            end,
            size,
            why,
        };
        if len == 0 {
            return Err(bad("empty"));
        }
        if offset < previous_end {
            return Err(bad("out of order or overlapping the previous one"));
        }
        if end > u64::from(size) {
            return Err(bad("past the end of the struct"));
        }
        let available = (rest.len() - RANGE_OVERHEAD) as u64;
        if available < len {
            return Err(WireError::Truncated {
                what: "range bytes",
                needed: at + RANGE_OVERHEAD as u64 + len,
                found: all.len() as u64,
            });
        }
        // `len <= available < rest.len()`: in bounds.
        rest = &rest[RANGE_OVERHEAD + len as usize..];
        previous_end = end;
    }
    if !rest.is_empty() {
        return Err(WireError::Trailing {
            extra: rest.len() as u64,
        });
    }
    Ok(Body::Delta {
        base_seq,
        ranges: Ranges {
            count,
            size,
            bytes: ranges,
        },
    })
}

fn truncated(what: &'static str, needed: usize, bytes: &[u8]) -> WireError {
    WireError::Truncated {
        what,
        needed: needed as u64,
        found: bytes.len() as u64,
    }
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Writes messages into a reusable buffer.
///
/// Sizes must fit the format (a struct of at most `u32::MAX` bytes, a
/// schema likewise); the callers hold a validated schema, whose size is
/// checked when the publisher starts.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// A full state, with the schema JSON if given.
    pub fn full(&mut self, header: &Header, schema: Option<&[u8]>, state: &[u8]) -> &[u8] {
        debug_assert_eq!(state.len(), header.size as usize);
        let schema = schema.unwrap_or(&[]);
        self.start(header, KIND_FULL, 4 + schema.len() + state.len());
        self.buf
            .extend_from_slice(&len_u32(schema.len()).to_le_bytes());
        self.buf.extend_from_slice(schema);
        self.buf.extend_from_slice(state);
        &self.buf
    }

    /// A delta: `ranges` of `state` replace those of the state `base_seq`.
    /// The ranges must be increasing, not overlapping, not empty and inside
    /// `state` (as [`changed_ranges`](crate::delta::changed_ranges) makes
    /// them).
    pub fn delta(
        &mut self,
        header: &Header,
        base_seq: u64,
        ranges: &[std::ops::Range<usize>],
        state: &[u8],
    ) -> &[u8] {
        let carried: usize = ranges.iter().map(|r| RANGE_OVERHEAD + r.len()).sum();
        self.start(header, KIND_DELTA, DELTA_PREFIX + carried);
        self.buf.extend_from_slice(&base_seq.to_le_bytes());
        self.buf
            .extend_from_slice(&len_u32(ranges.len()).to_le_bytes());
        for range in ranges {
            self.buf
                .extend_from_slice(&len_u32(range.start).to_le_bytes());
            self.buf
                .extend_from_slice(&len_u32(range.len()).to_le_bytes());
            self.buf.extend_from_slice(&state[range.clone()]);
        }
        &self.buf
    }

    /// A heartbeat.
    pub fn heartbeat(&mut self, header: &Header) -> &[u8] {
        self.start(header, KIND_HEARTBEAT, 0);
        &self.buf
    }

    fn start(&mut self, header: &Header, kind: u8, body: usize) {
        self.buf.clear();
        self.buf.reserve(HEADER_LEN + body);
        self.buf.extend_from_slice(&MAGIC);
        self.buf.push(VERSION);
        self.buf.push(kind);
        self.buf.extend_from_slice(&0u16.to_le_bytes());
        self.buf.extend_from_slice(&header.epoch.to_le_bytes());
        self.buf.extend_from_slice(&header.seq.to_le_bytes());
        self.buf
            .extend_from_slice(&header.fingerprint.to_le_bytes());
        self.buf.extend_from_slice(&header.size.to_le_bytes());
    }
}

/// The encoded size of a full state without schema, and of a delta with
/// these ranges: what the publisher compares to choose.
pub fn encoded_sizes(size: usize, ranges: &[std::ops::Range<usize>]) -> (usize, usize) {
    let full = HEADER_LEN + 4 + size;
    let delta = HEADER_LEN
        + DELTA_PREFIX
        + ranges
            .iter()
            .map(|r| RANGE_OVERHEAD + r.len())
            .sum::<usize>();
    (full, delta)
}

/// A length the format stores in 32 bits; larger ones are refused before
/// anything is encoded (see [`Encoder`]), so saturating never happens.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(size: u32) -> Header {
        Header {
            epoch: 0x1122_3344_5566_7788,
            seq: 42,
            fingerprint: 0xdead_beef_0000_0001,
            size,
        }
    }

    #[test]
    fn full_round_trip() {
        let mut e = Encoder::new();
        let state = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let bytes = e.full(&header(8), Some(b"{\"x\":1}"), &state).to_vec();
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(m.header, header(8));
        assert_eq!(
            m.body,
            Body::Full {
                schema: Some(&b"{\"x\":1}"[..]),
                state: &state[..]
            }
        );
        let bytes = e.full(&header(8), None, &state).to_vec();
        assert!(matches!(
            Message::decode(&bytes).unwrap().body,
            Body::Full { schema: None, .. }
        ));
    }

    #[test]
    fn delta_round_trip_and_apply() {
        let mut e = Encoder::new();
        let new = [0u8, 9, 9, 0, 0, 0, 7, 0];
        let bytes = e.delta(&header(8), 41, &[1..3, 6..7], &new).to_vec();
        let m = Message::decode(&bytes).unwrap();
        let Body::Delta { base_seq, ranges } = m.body else {
            panic!("{m:?}")
        };
        assert_eq!(base_seq, 41);
        assert_eq!(ranges.len(), 2);
        let mut old = [0u8; 8];
        ranges.apply(&mut old).unwrap();
        assert_eq!(old, new);
        assert!(ranges.apply(&mut [0u8; 7]).is_err());
    }

    #[test]
    fn heartbeat_round_trip() {
        let mut e = Encoder::new();
        let bytes = e.heartbeat(&header(8)).to_vec();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(Message::decode(&bytes).unwrap().body, Body::Heartbeat);
    }

    #[test]
    fn refusals_name_the_problem() {
        let mut e = Encoder::new();
        let one_range = vec![std::ops::Range { start: 2, end: 4 }];
        let good = e.delta(&header(8), 1, &one_range, &[0; 8]).to_vec();
        let mut bad = good.clone();
        bad[4] = 2;
        assert_eq!(Message::decode(&bad), Err(WireError::Version { found: 2 }));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            Message::decode(&bad),
            Err(WireError::Magic { .. })
        ));
        let mut bad = good.clone();
        bad.push(0);
        assert_eq!(Message::decode(&bad), Err(WireError::Trailing { extra: 1 }));
        let mut bad = good.clone();
        bad[48..52].copy_from_slice(&7u32.to_le_bytes()); // offset 7, len 2: past 8
        assert!(matches!(
            Message::decode(&bad),
            Err(WireError::BadRange {
                why: "past the end of the struct",
                ..
            })
        ));
        assert!(matches!(
            Message::decode(&good[..good.len() - 1]),
            Err(WireError::Truncated { .. })
        ));
        let overlapping = e.delta(&header(8), 1, &[2..4, 3..5], &[0; 8]).to_vec();
        assert!(matches!(
            Message::decode(&overlapping),
            Err(WireError::BadRange { index: 1, .. })
        ));
        let message = WireError::Version { found: 9 }.to_string();
        assert!(message.contains("version 9"), "{message}");
    }

    fn ranges_strategy() -> impl Strategy<Value = (u32, Vec<std::ops::Range<usize>>)> {
        (1u32..300).prop_flat_map(|size| {
            let cuts = prop::collection::btree_set(0..=size as usize, 0..12);
            (Just(size), cuts).prop_map(|(size, cuts)| {
                let cuts: Vec<usize> = cuts.into_iter().collect();
                let ranges = cuts
                    .chunks_exact(2)
                    .map(|p| p[0]..p[1])
                    .filter(|r| !r.is_empty())
                    .collect();
                (size, ranges)
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Arbitrary bytes never panic; whatever decodes is consistent.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            check_consistent(&bytes)?;
        }

        /// The same behind a valid magic and version, where the checks
        /// that matter are reached.
        #[test]
        fn arbitrary_bodies_never_panic(
            kind in 0u8..5,
            size in prop_oneof![0u32..64, any::<u32>()],
            tail in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.push(VERSION);
            bytes.push(kind);
            bytes.extend_from_slice(&[0; 26]);
            bytes.extend_from_slice(&size.to_le_bytes());
            bytes.extend_from_slice(&tail);
            check_consistent(&bytes)?;
        }

        /// Valid messages with a few bytes changed or cut never panic.
        #[test]
        fn damaged_messages_never_panic(
            (size, ranges) in ranges_strategy(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in prop::option::of(any::<prop::sample::Index>()),
        ) {
            let state: Vec<u8> = (0..size).map(|i| i as u8).collect();
            let mut bytes = Encoder::new().delta(&header(size), 7, &ranges, &state).to_vec();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            check_consistent(&bytes)?;
        }

        /// Every delta the encoder writes decodes to the same ranges, and
        /// applying it to the old state gives the new one.
        #[test]
        fn deltas_round_trip(
            (size, ranges) in ranges_strategy(),
            seed in any::<u8>(),
        ) {
            let old = vec![0u8; size as usize];
            let mut new = old.clone();
            for r in &ranges {
                for (i, b) in new[r.clone()].iter_mut().enumerate() {
                    *b = seed.wrapping_add(i as u8) | 1;
                }
            }
            let bytes = Encoder::new().delta(&header(size), 3, &ranges, &new).to_vec();
            let m = Message::decode(&bytes).unwrap();
            let Body::Delta { base_seq, ranges: decoded } = m.body else {
                return Err(TestCaseError::fail("not a delta"));
            };
            prop_assert_eq!(base_seq, 3);
            let got: Vec<_> = decoded.iter().map(|(o, b)| o..o + b.len()).collect();
            prop_assert_eq!(&got, &ranges);
            let mut applied = old.clone();
            decoded.apply(&mut applied).unwrap();
            prop_assert_eq!(applied, new);
            let (_, delta_len) = encoded_sizes(size as usize, &ranges);
            prop_assert_eq!(delta_len, bytes.len());
        }
    }

    fn check_consistent(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(m) = Message::decode(bytes) {
            match m.body {
                Body::Full { state, .. } => {
                    prop_assert_eq!(state.len(), m.header.size as usize);
                }
                Body::Delta { ranges, .. } => {
                    let mut end = 0;
                    for (offset, b) in ranges.iter() {
                        prop_assert!(offset >= end && !b.is_empty());
                        end = offset + b.len();
                        prop_assert!(end <= m.header.size as usize);
                    }
                    prop_assert_eq!(ranges.iter().count(), ranges.len());
                }
                Body::Heartbeat => prop_assert_eq!(bytes.len(), HEADER_LEN),
            }
        }
        Ok(())
    }
}
