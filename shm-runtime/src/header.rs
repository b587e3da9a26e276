//! The region header: its on-disk format, how it is written, and how bytes
//! read from a file or shm object are validated before anything is mapped.
//!
//! A region is laid out as
//!
//! ```text
//! 0       header: identity and geometry (HEADER_LEN bytes, checksummed)
//! 128     sync area: sequence counter, journal state, version and futex
//!         words, writer lock (`sync::SyncArea`, zero at creation)
//! 4096    payload: the struct's bytes, aligned to a page
//! ...     journal: the old and new value of the update being published
//! ...     schema: JSON describing the struct, for tools in other languages
//! total   rounded up to a page; the header records this exact length
//! ```
//!
//! All integers are little-endian. The header (bytes `0..HEADER_LEN`) is
//! written once, before the region is published, and covered by a checksum
//! that leaves out only the `state` word, which moves from `INITIALISING` to
//! `READY` when the creator publishes the region.

use crate::layout::{Fnv1a, TypeInfo};
use crate::schema::{self, StructDesc};

/// The first eight bytes of every region.
pub(crate) const MAGIC: [u8; 8] = *b"SHMSTATE";
/// The format this library writes and reads.
/// Version 2: the journal records changed ranges (version 1 recorded two
/// whole copies, and regions of it are refused, not misread).
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Bytes covered by the header checksum (the checksum word included).
pub(crate) const HEADER_LEN: usize = 128;
/// Byte offset of the `state` word.
pub(crate) const STATE_OFFSET: usize = 16;
/// The largest region this library will create or map.
const MAX_REGION_LEN: u64 = 1 << 40;
const PAGE: usize = 4096;

/// The `state` word. Any other value is a corrupt header.
pub(crate) const STATE_INITIALISING: u32 = 1;
pub(crate) const STATE_READY: u32 = 2;

/// Where everything lives in a region. Recorded in the header, so a reader
/// takes the offsets from there rather than recomputing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub payload_offset: u64,
    pub payload_size: u64,
    pub payload_align: u64,
    pub journal_offset: u64,
    pub journal_len: u64,
    pub schema_offset: u64,
    pub schema_len: u64,
    pub total_len: u64,
}

impl Geometry {
    /// The geometry a new region for a payload of `size` bytes aligned to
    /// `align`, with a schema of `schema_len` bytes, gets; an error (saying
    /// why) for a region this library would refuse to open, so a creator
    /// never makes one its own decoder refuses.
    pub(crate) fn for_payload(
        size: usize,
        align: usize,
        schema_len: usize,
    ) -> Result<Geometry, String> {
        if !align.is_power_of_two() || align > PAGE {
            return Err(format!(
                "the struct's alignment {align} is not a power of two up to the page size {PAGE}"
            ));
        }
        let too_large =
            || format!("a {size}-byte struct needs a region over the {MAX_REGION_LEN}-byte limit");
        let payload_offset = PAGE;
        let journal_offset = payload_offset
            .checked_add(size)
            .and_then(|end| checked_round_up(end, 64))
            .ok_or_else(too_large)?;
        let journal_len = size
            .checked_add(63)
            .and_then(|n| (n / 64).checked_mul(128))
            .and_then(|copies| copies.checked_add(64))
            .ok_or_else(too_large)?;
        let schema_offset = journal_offset
            .checked_add(journal_len)
            .ok_or_else(too_large)?;
        let total_len = schema_offset
            .checked_add(schema_len)
            .and_then(|end| checked_round_up(end, PAGE))
            .ok_or_else(too_large)?;
        let geometry = Geometry {
            payload_offset: payload_offset as u64,
            payload_size: size as u64,
            payload_align: align as u64,
            journal_offset: journal_offset as u64,
            journal_len: journal_len as u64,
            schema_offset: schema_offset as u64,
            schema_len: schema_len as u64,
            total_len: total_len as u64,
        };
        geometry.check()?;
        Ok(geometry)
    }
}

fn checked_round_up(n: usize, to: usize) -> Option<usize> {
    n.checked_next_multiple_of(to)
}

/// Room for the redo journal of a `size`-byte payload (`sync::journal`).
pub(crate) fn journal_len(size: usize) -> usize {
    crate::sync::journal::len(size)
}

/// A decoded, self-consistent header of a published region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub fingerprint: u64,
    pub geometry: Geometry,
}

/// What the first bytes of an object say it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A published region with a valid header.
    Ready(Header),
    /// Empty, or a region whose creator has not published it (still working,
    /// or killed half-way): the init lock decides which.
    Uninitialised,
    /// Not a region of this library (or one damaged beyond use).
    Foreign(String),
    /// Our magic, but fewer bytes than a header.
    ShortHeader { found: u64 },
}

impl Header {
    /// The header bytes of a new region, in the `INITIALISING` state.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let g = &self.geometry;
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(&mut b, 8, FORMAT_VERSION);
        put_u32(&mut b, 12, HEADER_LEN as u32);
        put_u32(&mut b, STATE_OFFSET, STATE_INITIALISING);
        // 20..24: flags, none defined.
        put_u64(&mut b, 24, self.fingerprint);
        put_u64(&mut b, 32, g.payload_offset);
        put_u64(&mut b, 40, g.payload_size);
        put_u64(&mut b, 48, g.payload_align);
        put_u64(&mut b, 56, g.journal_offset);
        put_u64(&mut b, 64, g.journal_len);
        put_u64(&mut b, 72, g.schema_offset);
        put_u64(&mut b, 80, g.schema_len);
        put_u64(&mut b, 88, g.total_len);
        // 96..120: reserved, zero.
        let sum = checksum(&b);
        put_u64(&mut b, CHECKSUM_OFFSET, sum);
        b
    }

    /// Reads the first bytes of an object of `object_len` bytes. `bytes`
    /// holds `min(object_len, HEADER_LEN)` of them. Never panics, whatever
    /// the bytes.
    pub(crate) fn decode(bytes: &[u8], object_len: u64) -> Decoded {
        if object_len == 0 {
            return Decoded::Uninitialised;
        }
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Decoded::Foreign(format!(
                "its first bytes are not the region magic {:?}",
                core::str::from_utf8(&MAGIC).unwrap_or_default()
            ));
        }
        let Some(b) = bytes.first_chunk::<HEADER_LEN>() else {
            return Decoded::ShortHeader { found: object_len };
        };
        let format = get_u32(b, 8);
        if format != FORMAT_VERSION {
            let made_by = if format < FORMAT_VERSION {
                "an older version of shm"
            } else {
                "a newer version of shm"
            };
            return Decoded::Foreign(format!(
                "region format {format}, made by {made_by}; this library reads format {FORMAT_VERSION} only: recreate the region (remove it and open it again) or use the matching version"
            ));
        }
        match get_u32(b, STATE_OFFSET) {
            STATE_INITIALISING => return Decoded::Uninitialised,
            STATE_READY => {}
            other => {
                return Decoded::Foreign(format!("header state word is {other}, not a known state"))
            }
        }
        let stored = get_u64(b, CHECKSUM_OFFSET);
        let computed = checksum(b);
        if stored != computed {
            return Decoded::Foreign(format!(
                "header checksum {stored:#018x} does not match its contents ({computed:#018x}): the header is damaged"
            ));
        }
        if get_u32(b, 12) as usize != HEADER_LEN {
            return Decoded::Foreign(format!(
                "header length {} is not {HEADER_LEN}",
                get_u32(b, 12)
            ));
        }
        let geometry = Geometry {
            payload_offset: get_u64(b, 32),
            payload_size: get_u64(b, 40),
            payload_align: get_u64(b, 48),
            journal_offset: get_u64(b, 56),
            journal_len: get_u64(b, 64),
            schema_offset: get_u64(b, 72),
            schema_len: get_u64(b, 80),
            total_len: get_u64(b, 88),
        };
        if let Err(reason) = geometry.check() {
            return Decoded::Foreign(format!("inconsistent header: {reason}"));
        }
        Decoded::Ready(Header {
            fingerprint: get_u64(b, 24),
            geometry,
        })
    }
}

impl Geometry {
    /// The sections lie in order, without overlap, inside `total_len`, and
    /// the payload is aligned for its type. Checked arithmetic throughout:
    /// the values come from untrusted bytes.
    fn check(&self) -> Result<(), String> {
        let g = self;
        if g.total_len > MAX_REGION_LEN {
            return Err(format!(
                "total length {} exceeds {MAX_REGION_LEN}",
                g.total_len
            ));
        }
        if !g.payload_align.is_power_of_two() || g.payload_align > PAGE as u64 {
            return Err(format!(
                "payload alignment {} is not a power of two up to {PAGE}",
                g.payload_align
            ));
        }
        if g.payload_offset < PAGE as u64 || g.payload_offset % g.payload_align != 0 {
            return Err(format!(
                "payload offset {} is not aligned to {} past the header page",
                g.payload_offset, g.payload_align
            ));
        }
        if g.payload_size == 0 {
            return Err("payload size is 0".to_owned());
        }
        let sections = [
            ("payload", g.payload_offset, g.payload_size),
            ("journal", g.journal_offset, g.journal_len),
            ("schema", g.schema_offset, g.schema_len),
        ];
        let mut end_of_previous = PAGE as u64;
        for (name, offset, len) in sections {
            let end = offset
                .checked_add(len)
                .ok_or_else(|| format!("{name} section overflows"))?;
            if offset < end_of_previous || end > g.total_len {
                return Err(format!(
                    "{name} section {offset}..{end} is out of order or outside the region's {} bytes",
                    g.total_len
                ));
            }
            end_of_previous = end;
        }
        if g.journal_len < journal_len_u64(g.payload_size) {
            return Err(format!(
                "journal of {} bytes is too small for the payload",
                g.journal_len
            ));
        }
        Ok(())
    }
}

fn journal_len_u64(size: u64) -> u64 {
    usize::try_from(size).map_or(u64::MAX, |s| journal_len(s) as u64)
}

const CHECKSUM_OFFSET: usize = 120;

/// FNV-1a over the header with the state word and the checksum word taken
/// as zero.
fn checksum(header: &[u8; HEADER_LEN]) -> u64 {
    let mut copy = *header;
    copy[STATE_OFFSET..STATE_OFFSET + 4].fill(0);
    copy[CHECKSUM_OFFSET..].fill(0);
    Fnv1a::new().bytes(&copy).finish()
}

fn put_u32(b: &mut [u8; HEADER_LEN], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8; HEADER_LEN], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8; HEADER_LEN], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn get_u64(b: &[u8; HEADER_LEN], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The embedded schema: JSON that mirrors [`TypeInfo`], so a tool in another
/// language can find every field without the Rust source. For example
///
/// ```text
/// {"format":1,"type":"Foo","fingerprint":"0x…","size":8,"align":4,
///  "fields":[{"name":"bar","offset":0,"type":"i32"},…]}
/// ```
///
/// Arrays are `{"array":<element>,"len":N}`, nested structs
/// `{"struct":"Inner","size":…,"align":…,"fields":[…]}`. The one writer is
/// the schema module's (`Schema::to_json`); `schema::json`'s tests hold it
/// to the bytes existing regions hold.
pub(crate) fn schema_json(name: &str, fingerprint: u64, ty: &TypeInfo) -> String {
    // `ty` is a `SharedState` type's `TYPE`: a struct layout the derive
    // proved, which needs no checks.
    let root = StructDesc::from_type_info_trusted(name, ty);
    schema::write_schema(name, fingerprint, &root)
}

/// The type name a schema records, if it looks like one: used only to name
/// the other type in a layout-mismatch error.
pub(crate) fn schema_type_name(schema: &[u8]) -> Option<String> {
    let rest = schema.strip_prefix(br#"{"format":1,"type":""#)?;
    let end = rest.iter().position(|&c| c == b'"')?;
    let name = core::str::from_utf8(&rest[..end]).ok()?;
    let plausible = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '#');
    plausible.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{FieldInfo, Primitive};

    fn sample() -> Header {
        Header {
            fingerprint: 0x1234_5678_9abc_def0,
            geometry: Geometry::for_payload(8, 4, 100).unwrap(),
        }
    }

    fn ready(mut bytes: [u8; HEADER_LEN]) -> [u8; HEADER_LEN] {
        put_u32(&mut bytes, STATE_OFFSET, STATE_READY);
        bytes
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let len = h.geometry.total_len;
        assert_eq!(Header::decode(&ready(h.encode()), len), Decoded::Ready(h));
        assert_eq!(Header::decode(&h.encode(), len), Decoded::Uninitialised);
        assert_eq!(len % PAGE as u64, 0);
    }

    #[test]
    fn every_single_byte_change_is_refused() {
        let good = ready(sample().encode());
        for at in (0..HEADER_LEN).filter(|at| !(STATE_OFFSET..STATE_OFFSET + 4).contains(at)) {
            let mut bad = good;
            bad[at] ^= 0x40;
            let decoded = Header::decode(&bad, 1 << 20);
            assert!(
                !matches!(decoded, Decoded::Ready(_)),
                "byte {at} flipped and still accepted"
            );
        }
    }

    /// The creator refuses what its own decoder would: alignment above a
    /// page, or a region past the length limit (with no arithmetic
    /// overflow on the way).
    #[test]
    fn the_creator_never_makes_a_region_the_decoder_refuses() {
        assert!(Geometry::for_payload(8, 8192, 10).is_err());
        assert!(Geometry::for_payload(8, 3, 10).is_err());
        assert!(Geometry::for_payload(1 << 41, 8, 10).is_err());
        assert!(Geometry::for_payload(usize::MAX - 10, 8, 10).is_err());
        assert!(Geometry::for_payload(8, 8, usize::MAX).is_err());
        let g = Geometry::for_payload(1 << 20, 4096, 100).unwrap();
        let header = Header {
            fingerprint: 1,
            geometry: g,
        };
        assert_eq!(
            Header::decode(&ready(header.encode()), g.total_len),
            Decoded::Ready(header)
        );
    }

    #[test]
    fn short_and_foreign_inputs() {
        assert_eq!(Header::decode(b"", 0), Decoded::Uninitialised);
        assert!(matches!(Header::decode(b"x", 1), Decoded::Foreign(_)));
        assert!(matches!(Header::decode(b"SHMSTA", 6), Decoded::Foreign(_)));
        assert_eq!(
            Header::decode(b"SHMSTATE", 8),
            Decoded::ShortHeader { found: 8 }
        );
    }

    #[test]
    fn schema_names_the_type() {
        static I32: TypeInfo = TypeInfo::Primitive(Primitive::I32);
        static ARR: TypeInfo = TypeInfo::Array {
            element: &I32,
            len: 3,
        };
        static FOO: TypeInfo = TypeInfo::Struct {
            name: "Foo",
            size: 16,
            align: 4,
            fields: &[
                FieldInfo {
                    name: "bar",
                    offset: 0,
                    ty: &I32,
                },
                FieldInfo {
                    name: "baz",
                    offset: 4,
                    ty: &ARR,
                },
            ],
        };
        let json = schema_json("Foo", 7, &FOO);
        assert_eq!(
            json,
            r#"{"format":1,"type":"Foo","fingerprint":"0x0000000000000007","size":16,"align":4,"fields":[{"name":"bar","offset":0,"type":"i32"},{"name":"baz","offset":4,"type":{"array":"i32","len":3}}]}"#
        );
        assert_eq!(schema_type_name(json.as_bytes()).as_deref(), Some("Foo"));
        assert_eq!(schema_type_name(b"garbage"), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes decode to something without panicking, and random
        /// bytes are never taken for a published region.
        #[test]
        fn arbitrary_bytes_never_validate(bytes in prop::collection::vec(any::<u8>(), 0..300), len in any::<u64>()) {
            let shown = &bytes[..bytes.len().min(HEADER_LEN)];
            prop_assert!(!matches!(Header::decode(shown, len), Decoded::Ready(_)));
        }

        /// With our magic, version and state in place, the checksum still
        /// stands between random bytes and acceptance.
        #[test]
        fn forged_prefix_still_needs_the_checksum(rest in prop::collection::vec(any::<u8>(), HEADER_LEN - 20)) {
            let mut bytes = [0u8; HEADER_LEN];
            bytes[..8].copy_from_slice(&MAGIC);
            put_u32(&mut bytes, 8, FORMAT_VERSION);
            put_u32(&mut bytes, 12, HEADER_LEN as u32);
            put_u32(&mut bytes, STATE_OFFSET, STATE_READY);
            bytes[20..].copy_from_slice(&rest);
            prop_assert!(!matches!(Header::decode(&bytes, u64::MAX), Decoded::Ready(_)));
        }

        /// A decoded geometry always lies inside the recorded length.
        #[test]
        fn accepted_geometry_is_in_bounds(size in 1usize..100_000, align_log in 0u32..13, schema in 0usize..10_000) {
            let align = 1usize << align_log;
            let g = Geometry::for_payload(size, align, schema).unwrap();
            let encoded = Header { fingerprint: 1, geometry: g }.encode();
            let mut published = encoded;
            put_u32(&mut published, STATE_OFFSET, STATE_READY);
            prop_assert_eq!(Header::decode(&published, g.total_len), Decoded::Ready(Header { fingerprint: 1, geometry: g }));
            prop_assert!(g.schema_offset + g.schema_len <= g.total_len);
            prop_assert_eq!(g.payload_offset % align as u64, 0);
        }
    }
}
