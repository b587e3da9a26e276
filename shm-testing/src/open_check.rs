//! What opening must do with bytes that may not be a region, as one check
//! that the fuzz targets (`fuzz/`) and their regression tests
//! (`tests/fuzz_regressions.rs`) share.
//!
//! [`check_as`] writes the bytes to a file and opens it as a struct, first
//! read-only, then read-write, and panics (with the bytes' length and the
//! step) if any promise of the API contract breaks:
//!
//! - no panic, no crash, no hang, whatever the bytes;
//! - a read-only handle never changes the file, whether it opens or not,
//!   and neither does its `snapshot`;
//! - a failed open leaves the file's bytes and length as they were, and an
//!   open that succeeds changes the file only if it was empty or held a
//!   region of ours its creator never published (which opening
//!   initialises);
//! - an open fails only with `NotSharedState`, `LayoutMismatch`,
//!   `Truncated` or (read-only, for an empty or unpublished file, which it
//!   waits for) `Timeout`;
//! - a handle that opened has a header whose geometry lies inside the file,
//!   and its `snapshot`, one `update` and one `store` work: the next
//!   `snapshot` returns exactly what the `update` published, then what the
//!   `store` stored.
//!
//! [`forge`] builds files that get past the header checksum: a real region
//! with its header fields and later bytes edited as the input says, the
//! checksum recomputed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shm_runtime::{as_bytes, from_bytes, Error, OpenOptions, SharedState};

use crate::{Board, Counter, Foo, Invariant, Renamed, Tally, Wide};

/// The region format, as docs/design.md documents it: offsets of the header
/// words a forger edits.
mod format {
    pub const MAGIC: &[u8; 8] = b"SHMSTATE";
    pub const HEADER_LEN: usize = 128;
    pub const FORMAT_OFFSET: usize = 8;
    /// The region format this library writes (2: a journal of changed
    /// ranges).
    pub const FORMAT: u32 = 2;
    pub const STATE_OFFSET: usize = 16;
    pub const STATE_INITIALISING: u32 = 1;
    pub const CHECKSUM_OFFSET: usize = 120;
    /// The writer lock word in the sync area.
    pub const LOCK_OFFSET: usize = 256;
}

/// How many struct types [`check_as`] can open bytes as.
pub const KINDS: u8 = 7;

/// The name of the struct `kind` selects (taken modulo [`KINDS`]).
pub fn kind_name(kind: u8) -> &'static str {
    match kind % KINDS {
        0 => "Foo",
        1 => "Renamed",
        2 => "Wide",
        3 => "Board",
        4 => "Invariant",
        5 => "Counter",
        _ => "Tally",
    }
}

/// Which paths a [`check_as`] took, for tests that want a particular one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The read-only open succeeded.
    pub read_only: bool,
    /// The read-write open succeeded.
    pub read_write: bool,
}

/// Writes `bytes` to `path` and opens it as the struct `kind` selects (see
/// [`kind_name`]); panics if any promise in the module docs breaks.
pub fn check_as(kind: u8, path: &Path, bytes: &[u8]) -> Outcome {
    match kind % KINDS {
        0 => check::<Foo>(path, bytes),
        1 => check::<Renamed>(path, bytes),
        2 => check::<Wide>(path, bytes),
        3 => check::<Board>(path, bytes),
        4 => check::<Invariant>(path, bytes),
        5 => check::<Counter>(path, bytes),
        _ => check::<Tally>(path, bytes),
    }
}

/// The bytes of a real, published region of the struct `kind` selects,
/// holding a non-zero value; made at `path`, which is replaced.
pub fn valid_region(kind: u8, path: &Path) -> Vec<u8> {
    match kind % KINDS {
        0 => make_region::<Foo>(path),
        1 => make_region::<Renamed>(path),
        2 => make_region::<Wide>(path),
        3 => make_region::<Board>(path),
        4 => make_region::<Invariant>(path),
        5 => make_region::<Counter>(path),
        _ => make_region::<Tally>(path),
    }
}

/// A file made for one fuzz process to write its inputs to: in the temp
/// directory, named after the process. (Left behind when the process ends:
/// libFuzzer exits without running destructors.)
pub fn scratch_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shm-open-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the scratch directory");
    dir.join("region")
}

fn make_region<T: SharedState>(path: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(path);
    let pattern: Vec<u8> = (0..size_of::<T>())
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect();
    let value: T = from_bytes(&pattern).expect("the pattern has the struct's size");
    let shared = OpenOptions::<T>::new()
        .create_new(true)
        .initial_from(&value)
        .open_file(path)
        .expect("creating a region to forge from");
    drop(shared);
    let bytes = std::fs::read(path).expect("reading the region back");
    let _ = std::fs::remove_file(path);
    bytes
}

/// Whether opening may legitimately write to a file that holds `bytes`:
/// it is empty, or a region of ours (magic, this format) in the
/// `INITIALISING` state, which a creator killed half-way leaves and the
/// next opener initialises again.
fn may_be_initialised(bytes: &[u8]) -> bool {
    bytes.is_empty()
        || (bytes.len() >= format::HEADER_LEN
            && bytes.starts_with(format::MAGIC)
            && read_u32(bytes, format::FORMAT_OFFSET) == format::FORMAT
            && read_u32(bytes, format::STATE_OFFSET) == format::STATE_INITIALISING)
}

fn check<T: SharedState>(path: &Path, bytes: &[u8]) -> Outcome {
    let mut bytes = bytes.to_vec();
    settle_lock_word(&mut bytes);
    let _ = std::fs::remove_file(path);
    std::fs::write(path, &bytes).expect("writing the input file");
    let what = |step: &str| format!("{} bytes opened as {}: {step}", bytes.len(), T::NAME);
    let unchanged = |step: &str| {
        let now = std::fs::read(path).unwrap_or_else(|e| panic!("{}: read back: {e}", what(step)));
        assert!(
            now == bytes,
            "{}: the file changed ({} bytes before, {} after)",
            what(step),
            bytes.len(),
            now.len()
        );
    };
    let mut outcome = Outcome::default();

    // Read-only: never a write, whatever happens. An empty or unpublished
    // file is waited for; a zero timeout makes that wait end at once.
    match OpenOptions::<T>::new()
        .timeout(Duration::ZERO)
        .open_file_read_only(path)
    {
        Ok(handle) => {
            outcome.read_only = true;
            let value = handle.snapshot();
            let _ = handle.version();
            let _ = as_bytes(&value);
            drop(handle);
            unchanged("read-only open and snapshot");
        }
        Err(e) => {
            let expected = matches!(
                e,
                Error::NotSharedState { .. }
                    | Error::LayoutMismatch { .. }
                    | Error::Truncated { .. }
                    | Error::Timeout { .. }
            );
            assert!(
                expected,
                "{}: unexpected error {e:?}",
                what("read-only open")
            );
            unchanged("failed read-only open");
        }
    }

    // Read-write: a short timeout bounds the wait for the init lock, which
    // nobody else holds here.
    match OpenOptions::<T>::new()
        .timeout(Duration::from_secs(1))
        .open_file(path)
    {
        Ok(handle) => {
            outcome.read_write = true;
            if !may_be_initialised(&bytes) {
                unchanged("read-write open of a published region");
            }
            geometry_fits(path, &what("read-write open"));
            let _ = handle.snapshot();
            let published = handle.update(|value| {
                let mut changed = as_bytes(value).to_vec();
                changed[0] ^= 0x5a;
                *value = from_bytes(&changed).expect("same size");
                *value
            });
            let seen = handle.snapshot();
            assert!(
                as_bytes(&seen) == as_bytes(&published),
                "{}: the snapshot after an update is not what it published",
                what("update")
            );
            let mut changed = as_bytes(&published).to_vec();
            if let Some(last) = changed.last_mut() {
                *last ^= 0xa5;
            }
            let stored: T = from_bytes(&changed).expect("same size");
            handle.store(stored);
            assert!(
                as_bytes(&handle.snapshot()) == as_bytes(&stored),
                "{}: the snapshot after a store is not what it stored",
                what("store")
            );
            let published = stored;
            drop(handle);
            // What the read-write handle left is a region any reader opens.
            let reader = OpenOptions::<T>::new()
                .timeout(Duration::ZERO)
                .open_file_read_only(path)
                .unwrap_or_else(|e| panic!("{}: {e}", what("reopening read-only")));
            assert!(
                as_bytes(&reader.snapshot()) == as_bytes(&published),
                "{}: a reader sees another value",
                what("reopening read-only")
            );
        }
        Err(e) => {
            let expected = matches!(
                e,
                Error::NotSharedState { .. }
                    | Error::LayoutMismatch { .. }
                    | Error::Truncated { .. }
            );
            assert!(
                expected,
                "{}: unexpected error {e:?}",
                what("read-write open")
            );
            unchanged("failed read-write open");
        }
    }
    outcome
}

/// The header of the (now opened) file at `path` records sections inside
/// the file.
fn geometry_fits(path: &Path, what: &str) {
    let now = std::fs::read(path).unwrap_or_else(|e| panic!("{what}: read back: {e}"));
    assert!(now.len() >= format::HEADER_LEN, "{what}: header missing");
    let word = |at| read_u64(&now, at);
    let (payload_offset, payload_size, total_len) = (word(32), word(40), word(88));
    let (journal_offset, journal_len) = (word(56), word(64));
    let (schema_offset, schema_len) = (word(72), word(80));
    let inside = |offset: u64, len: u64| offset.checked_add(len).is_some_and(|e| e <= total_len);
    assert!(
        total_len <= now.len() as u64
            && inside(payload_offset, payload_size)
            && inside(journal_offset, journal_len)
            && inside(schema_offset, schema_len),
        "{what}: the header's sections do not fit the {}-byte file: {:?}",
        now.len(),
        (
            payload_offset,
            payload_size,
            journal_offset,
            journal_len,
            schema_offset,
            schema_len,
            total_len
        )
    );
}

/// A forged lock word whose owner is a live process would make `update`
/// wait for that process forever, which is the documented behaviour for a
/// live lock holder, not a bug. Such a word is moved to a pid that no
/// process can have (pid_max is at most 2^22); every other lock word, a
/// dead or impossible owner's included, is left as it is.
fn settle_lock_word(bytes: &mut [u8]) {
    let at = format::LOCK_OFFSET;
    if !bytes.starts_with(format::MAGIC) || bytes.len() < at + 8 {
        return;
    }
    let word = read_u64(bytes, at);
    let pid = (word >> 32) & 0x7fff_ffff;
    if pid != 0 && Path::new(&format!("/proc/{pid}")).exists() {
        let moved = (word & !(0x7fff_ffff << 32)) | (0x7fff_fff0 << 32);
        bytes[at..at + 8].copy_from_slice(&moved.to_le_bytes());
    }
}

/// Builds a file from `valid` (a real region's bytes) and `input`, a list
/// of edits that a fuzzer can grow one byte at a time:
///
/// - one flags byte: bit 0 leaves the checksum as it was (stale), bit 1
///   forces the state word to READY;
/// - one tag byte per header word (fingerprint, the eight geometry words,
///   then the format, header-length, state and flags words): `tag % 4` is
///   0 keep, 1 add the next byte as a signed delta, 2 add the next two
///   bytes (little-endian, signed) times 64, 3 replace with the next eight
///   bytes;
/// - one tag byte for the file's length, with the same meaning (a replaced
///   length is taken modulo 64 KiB);
/// - then edits of the rest of the file, three bytes each: a little-endian
///   `u16` offset past the header, and a byte to XOR there.
///
/// Missing input bytes read as zero.
pub fn forge(valid: &[u8], input: &[u8]) -> Vec<u8> {
    let mut input = Cursor(input);
    let mut bytes = valid.to_vec();
    let flags = input.byte();
    // (offset, width) of each header word, in the order the tags come.
    const WORDS: [(usize, usize); 13] = [
        (24, 8),
        (32, 8),
        (40, 8),
        (48, 8),
        (56, 8),
        (64, 8),
        (72, 8),
        (80, 8),
        (88, 8),
        (8, 4),
        (12, 4),
        (16, 4),
        (20, 4),
    ];
    for (at, width) in WORDS {
        let old = if width == 8 {
            read_u64(&bytes, at)
        } else {
            u64::from(read_u32(&bytes, at))
        };
        let new = input.edit(old);
        bytes[at..at + width].copy_from_slice(&new.to_le_bytes()[..width]);
    }
    let len = input.edit(bytes.len() as u64) as usize % (64 << 10);
    bytes.resize(len, 0);
    if flags & 2 != 0 && bytes.len() >= format::STATE_OFFSET + 4 {
        bytes[format::STATE_OFFSET..format::STATE_OFFSET + 4].copy_from_slice(&2u32.to_le_bytes());
    }
    while !input.is_empty() {
        let at = format::HEADER_LEN + usize::from(u16::from_le_bytes([input.byte(), input.byte()]));
        let xor = input.byte();
        if let Some(byte) = bytes.get_mut(at) {
            *byte ^= xor;
        }
    }
    if flags & 1 == 0 && bytes.len() >= format::HEADER_LEN {
        let sum = checksum(&bytes[..format::HEADER_LEN]);
        bytes[format::CHECKSUM_OFFSET..format::HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
    }
    bytes
}

/// The header checksum: 64-bit FNV-1a over the header with the state and
/// checksum words taken as zero (docs/design.md, "Region layout").
fn checksum(header: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (at, &byte) in header.iter().enumerate() {
        let counted = !(format::STATE_OFFSET..format::STATE_OFFSET + 4).contains(&at)
            && at < format::CHECKSUM_OFFSET;
        let byte = if counted { byte } else { 0 };
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Reads a fuzz input front to back; past its end, every byte is zero.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A header word edited as the next tag says (see [`forge`]).
    fn edit(&mut self, old: u64) -> u64 {
        match self.byte() % 4 {
            0 => old,
            1 => old.wrapping_add(self.byte() as i8 as u64),
            2 => {
                let delta = i16::from_le_bytes([self.byte(), self.byte()]);
                old.wrapping_add((i64::from(delta) * 64) as u64)
            }
            _ => u64::from_le_bytes(std::array::from_fn(|_| self.byte())),
        }
    }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(w)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forging_nothing_keeps_a_valid_region_valid() {
        let dir = std::env::temp_dir().join(format!("shm-open-check-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("region");
        for kind in 0..KINDS {
            let valid = valid_region(kind, &path);
            assert_eq!(forge(&valid, &[]), valid, "{}", kind_name(kind));
            let outcome = check_as(kind, &path, &valid);
            assert_eq!(
                outcome,
                Outcome {
                    read_only: true,
                    read_write: true
                }
            );
            // The same bytes with the checksum recomputed over an edited
            // fingerprint: a layout mismatch, not damage.
            let other = forge(&valid, &[0, 1, 1]);
            assert_eq!(check_as(kind, &path, &other), Outcome::default());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
