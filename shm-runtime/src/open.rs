//! Opening a region: create-or-open, validation, mapping.
//!
//! # The create-or-open protocol
//!
//! 1. Open the object if it exists. Read its first bytes with `pread`,
//!    never through a mapping, and decode them ([`Header::decode`]). A
//!    published region is checked against the type and the object's
//!    length, its storage is reserved, and it is mapped: the fast path,
//!    with no lock.
//! 2. If it does not exist, build it complete and published in a nameless
//!    file in the same directory (`O_TMPFILE`; `/dev/shm` for shm objects),
//!    then link it into place (`linkat`, which never replaces anything).
//!    Nobody ever sees a region of ours half-made under its name, a creator
//!    killed at any step leaves nothing behind, and the call that linked it
//!    is the one whose initial value it holds. Losing the link race means
//!    opening the winner's region (step 1), or `AlreadyExists` for
//!    `create_new`.
//! 3. An existing object that is empty (say, made by `touch`), or ours but
//!    unpublished (a creator of an empty object killed half-way), is
//!    initialised in place under its exclusive `flock` (bounded wait): a
//!    live initialiser holds the lock until it publishes, and the kernel
//!    releases a dead one's. Under the lock, decode again: now either the
//!    region is published, or nobody is initialising it and this call does,
//!    at full length (an object is never shrunk: another process may map
//!    it).
//! 4. Publication is a `Release` store of `READY`, which every opener pairs
//!    with its `pread` of the header and an `Acquire` fence (see
//!    `map_published`).
//!
//! Nothing is written to an object before its first bytes have been read and
//! found to be ours or empty, so a foreign file is never changed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::deadline::Deadline;
use crate::error::{Error, LayoutMismatchDetail, Location, Result};
use crate::fault;
use crate::header::{self, Decoded, Geometry, Header, HEADER_LEN, STATE_OFFSET, STATE_READY};
use crate::mapping::Mapping;
use crate::os::{self, Access};
use crate::schema::{self, RecordedLayout, Schema, StructDesc};
use crate::sync::object::{self, Object};
use crate::TypeInfo;

/// The longest schema read back to name the other type in a layout mismatch.
const MAX_SCHEMA_PEEK: u64 = 1 << 20;

/// The longest embedded schema this library parses (a struct of 65,536
/// fields, the schema module's limit, takes a few MiB).
const MAX_SCHEMA_LEN: u64 = 16 << 20;

/// What the type being opened needs of a region; not generic, so the open
/// protocol is compiled once.
pub(crate) struct TypeSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) fingerprint: u64,
    pub(crate) size: usize,
    pub(crate) align: usize,
    pub(crate) layout: LayoutSource<'a>,
    pub(crate) initial: Option<&'a [u8]>,
}

/// Where a type's layout comes from: the derive, or a schema built at run
/// time (another language's struct, or a tool's).
pub(crate) enum LayoutSource<'a> {
    Derived(&'static TypeInfo),
    Schema(&'a Schema),
}

impl TypeSpec<'_> {
    /// The schema a region of this type embeds.
    fn schema_json(&self) -> String {
        match self.layout {
            LayoutSource::Derived(ty) => header::schema_json(self.name, self.fingerprint, ty),
            LayoutSource::Schema(schema) => schema.to_json(),
        }
    }

    /// The layout, to compare with another region's.
    fn describe(&self) -> Option<StructDesc> {
        match self.layout {
            LayoutSource::Derived(ty) => StructDesc::try_from(ty).ok(),
            LayoutSource::Schema(schema) => Some(schema.root().clone()),
        }
    }
}

/// What an open accepts.
pub(crate) enum Expect<'a> {
    /// A region of exactly this layout.
    Type(&'a TypeSpec<'a>),
    /// Any published region (it is typed by the schema it embeds).
    Any,
}

/// The open options with the type left out.
pub(crate) struct Request {
    pub(crate) create: bool,
    pub(crate) create_new: bool,
    pub(crate) mode: u32,
    pub(crate) timeout: Duration,
}

pub(crate) fn open_region(
    location: &Location,
    request: &Request,
    spec: &TypeSpec<'_>,
) -> Result<Mapping> {
    let deadline = Deadline::after(request.timeout);
    loop {
        if !request.create_new {
            match os::open_existing(location, Access::ReadWrite) {
                Ok(file) => match open_existing(location, file, request, spec, &deadline) {
                    // Removed before this open registered: start again
                    // (to create it anew, or to find it gone).
                    Err(e) if object::was_removed_while_opening(&e) => {
                        if deadline.remaining().is_none() {
                            return Err(e);
                        }
                        continue;
                    }
                    opened => return opened,
                },
                Err(Error::NotFound { .. }) if request.create => {}
                Err(e) => return Err(e),
            }
        }
        os::check_not_dangling(location)?;
        match create(location, request.mode, spec, &deadline) {
            Ok(mapping) => return Ok(mapping),
            // Another process linked its region first: open that one,
            // unless it keeps vanishing (someone removes it in a loop).
            Err(Error::AlreadyExists { .. })
                if !request.create_new && deadline.remaining().is_some() => {}
            Err(e) => return Err(e),
        }
    }
}

/// Opens an existing object read-write: the published fast path, or the
/// in-place initialisation of an empty or abandoned one under its `flock`.
fn open_existing(
    location: &Location,
    file: std::fs::File,
    request: &Request,
    spec: &TypeSpec<'_>,
    deadline: &Deadline,
) -> Result<Mapping> {
    if let Some((header, meta)) = inspect(location, &file, &Expect::Type(spec))? {
        return map_published(location, file, (header, meta), Access::ReadWrite, deadline);
    }
    let lock = os::lock_exclusive(location, file, deadline)?;
    match inspect(location, &lock, &Expect::Type(spec))? {
        // A descriptor of its own: the one holding the init lock goes
        // (and the lock with it) when this returns.
        Some(found) => map_published(
            location,
            os::keep_open(location, &lock)?,
            found,
            Access::ReadWrite,
            deadline,
        ),
        None if !request.create => Err(Error::NotFound {
            location: location.clone(),
            detail: ": the object exists but holds no initialised region, and create(false) forbids initialising it".to_owned(),
        }),
        None => initialise_in_place(location, &lock, spec, deadline),
    }
}

/// Opens an existing, published region without ever writing to it: waits
/// (bounded) while it is empty or unpublished, polling, since only a writer
/// may initialise it and a reader cannot take the init lock without
/// delaying that writer. For `Expect::Any`, also returns the schema the
/// region embeds.
pub(crate) fn open_published(
    location: &Location,
    access: Access,
    timeout: Duration,
    expect: &Expect<'_>,
) -> Result<(Mapping, Option<Schema>)> {
    let deadline = Deadline::after(timeout);
    let mut file = os::open_existing(location, access)?;
    let mut pause = Duration::from_micros(20);
    loop {
        if let Some((header, meta)) = inspect(location, &file, expect)? {
            let schema = match expect {
                Expect::Any => Some(read_schema(location, &file, &header)?),
                Expect::Type(_) => None,
            };
            match map_published(location, file, (header, meta), access, &deadline) {
                // Removed before this open registered: whatever has the
                // name now (most likely nothing: `NotFound`).
                Err(e)
                    if object::was_removed_while_opening(&e) && deadline.remaining().is_some() =>
                {
                    file = os::open_existing(location, access)?;
                    continue;
                }
                mapped => return Ok((mapped?, schema)),
            }
        }
        let Some(left) = deadline.remaining() else {
            return Err(Error::Timeout {
                location: location.clone(),
                waited: deadline.waited(),
                waiting_for: "a writer to create and publish the region",
            });
        };
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

/// Reads and checks the header. `Some` for a published region of the right
/// type and length; `None` for an empty or unpublished one.
fn inspect(
    location: &Location,
    file: &std::fs::File,
    expect: &Expect<'_>,
) -> Result<Option<(Header, std::fs::Metadata)>> {
    let meta = os::regular_file_metadata(location, file)?;
    let len = meta.len();
    let mut first = [0u8; HEADER_LEN];
    let want = len.min(HEADER_LEN as u64) as usize;
    let got = os::read_at(location, file, &mut first[..want], 0)?;
    let header = match Header::decode(&first[..got], len) {
        Decoded::Ready(header) => header,
        Decoded::Uninitialised => return Ok(None),
        Decoded::Foreign(reason) => {
            return Err(Error::NotSharedState {
                location: location.clone(),
                reason,
            })
        }
        Decoded::ShortHeader { found } => {
            return Err(Error::Truncated {
                location: location.clone(),
                expected: HEADER_LEN as u64,
                found,
            })
        }
    };
    let g = &header.geometry;
    if let Expect::Type(spec) = expect {
        if header.fingerprint != spec.fingerprint
            || g.payload_size != spec.size as u64
            || g.payload_align != spec.align as u64
        {
            return Err(layout_mismatch(location, file, &header, len, spec));
        }
    }
    if len < g.total_len {
        return Err(Error::Truncated {
            location: location.clone(),
            expected: g.total_len,
            found: len,
        });
    }
    Ok(Some((header, meta)))
}

/// The error for a region of another layout than `spec`'s, naming what
/// differs when the region's schema can be read.
fn layout_mismatch(
    location: &Location,
    file: &std::fs::File,
    header: &Header,
    len: u64,
    spec: &TypeSpec<'_>,
) -> Error {
    let g = &header.geometry;
    let found = if len >= g.total_len {
        read_schema(location, file, header).ok()
    } else {
        None
    };
    let differences = found
        .as_ref()
        .zip(spec.describe())
        .map(|(found, expected)| {
            // From the region's layout to this program's: "field `baz` renamed to `bazz`".
            let differences = schema::diff(found.root(), &expected);
            if differences.is_empty() {
                "the fields are the same, only the fingerprint differs".to_owned()
            } else {
                schema::summarize(&differences)
            }
        });
    Error::LayoutMismatch {
        location: location.clone(),
        expected: spec.name.to_owned(),
        found: match &found {
            Some(schema) => Some(schema.name().to_owned()),
            None => recorded_type_name(location, file, g, len),
        },
        expected_size: spec.size as u64,
        found_size: g.payload_size,
        detail: Box::new(LayoutMismatchDetail {
            expected_align: spec.align as u64,
            found_align: g.payload_align,
            expected_fingerprint: spec.fingerprint,
            found_fingerprint: header.fingerprint,
            differences,
        }),
    }
}

/// The schema a published region embeds, read with `pread` (not through a
/// mapping: its bytes are untrusted, and parsing them must race with
/// nothing) and checked against the header.
fn read_schema(location: &Location, file: &std::fs::File, header: &Header) -> Result<Schema> {
    let g = &header.geometry;
    let unreadable = |reason: String| Error::NotSharedState {
        location: location.clone(),
        reason,
    };
    if g.schema_len > MAX_SCHEMA_LEN {
        return Err(unreadable(format!(
            "its embedded schema is {} bytes, over the {MAX_SCHEMA_LEN}-byte limit",
            g.schema_len
        )));
    }
    let mut json = vec![0u8; g.schema_len as usize];
    let got = os::read_at(location, file, &mut json, g.schema_offset)?;
    let recorded = RecordedLayout {
        size: g.payload_size,
        align: g.payload_align,
        fingerprint: header.fingerprint,
    };
    Schema::from_region_json(&json[..got], &recorded)
        .map_err(|e| unreadable(format!("its embedded schema is unusable: {e}")))
}

/// The type name in a region's schema, if it can be read without going past
/// the object's end.
fn recorded_type_name(
    location: &Location,
    file: &std::fs::File,
    g: &Geometry,
    len: u64,
) -> Option<String> {
    let peek = g.schema_len.min(MAX_SCHEMA_PEEK);
    if g.schema_offset.checked_add(peek)? > len {
        return None;
    }
    let mut schema = vec![0u8; peek as usize];
    let got = os::read_at(location, file, &mut schema, g.schema_offset).ok()?;
    header::schema_type_name(&schema[..got])
}

/// Maps a published region found by its name, registers this process as
/// holding it, and checks that the name still leads to it: one removed
/// meanwhile is `NotFound` ([`object::removed_while_opening`]), never a
/// handle.
fn map_published(
    location: &Location,
    file: std::fs::File,
    (header, meta): (Header, std::fs::Metadata),
    access: Access,
    deadline: &Deadline,
) -> Result<Mapping> {
    // Found by its name, neither mapped nor registered yet: what a removal
    // that looks at the record and the memory maps sees as unused.
    fault::hold_point("before-register");
    let meta = if access == Access::ReadWrite {
        // A sparse copy of a region has holes: fill them now, so a full disk
        // is an error here and not a SIGBUS at the first store. (`meta` is
        // `inspect`'s `fstat`, just made: no second one.)
        os::reserve_from(location, &file, meta, header.geometry.total_len)?
    } else {
        meta
    };
    let map = os::map(location, &file, header.geometry.total_len, access)?;
    // The handle keeps this very descriptor: no second one to make.
    let object = Object::keep(location, file, &meta, deadline)?;
    object.check_still_named(location)?;
    let mapping = Mapping {
        map,
        geometry: header.geometry,
        location: location.clone(),
        object,
        access,
        created: false,
    };
    // The creator wrote everything it publishes with pwrite before its
    // `Release` store of READY (or before linking the object into place),
    // and `inspect` read READY with pread. This fence orders that read
    // before every later access through the mapping (x86_64 never reorders
    // loads with older loads; on arm64 it is a `dmb ishld`, which orders
    // all earlier loads, the kernel's copy included). Loading the state
    // word through the mapping instead would say the same in Rust's model
    // but fault the header page in on every open, a cost a process that
    // only uses fields would never pay.
    std::sync::atomic::fence(Ordering::Acquire);
    Ok(mapping)
}

/// The header of a new region for `spec`, and its schema.
fn new_header(location: &Location, spec: &TypeSpec<'_>) -> Result<(Header, String)> {
    let schema = spec.schema_json();
    let geometry =
        Geometry::for_payload(spec.size, spec.align, schema.len()).map_err(|reason| {
            Error::Unsupported {
                location: location.clone(),
                reason,
            }
        })?;
    let header = Header {
        fingerprint: spec.fingerprint,
        geometry,
    };
    Ok((header, schema))
}

/// Creates the region complete and published in a nameless object, then
/// links it into place. `AlreadyExists` if the name was taken first.
///
/// This process registers as holding the object before it writes it, and
/// so before it has a name: no removal that needs an empty record (`shm rm
/// --stale`) can take it from under its creator (nor a temporary name,
/// where `O_TMPFILE` is missing).
fn create(
    location: &Location,
    mode: u32,
    spec: &TypeSpec<'_>,
    deadline: &Deadline,
) -> Result<Mapping> {
    let (header, schema) = new_header(location, spec)?;
    let g = header.geometry;
    let unnamed = os::create_unnamed(location, mode)?;
    let file = &unnamed.file;
    let object = Object::open(location, file, &os::metadata(location, file)?, deadline)?;
    fault::pause_point("created");
    let mut bytes = header.encode();
    bytes[STATE_OFFSET..STATE_OFFSET + 4].copy_from_slice(&STATE_READY.to_le_bytes());
    os::write_at(location, file, &bytes, 0)?;
    fault::pause_point("header-written");
    os::reserve(location, file, g.total_len)?;
    fault::pause_point("allocated");
    if let Some(initial) = spec.initial {
        os::write_at(location, file, initial, g.payload_offset)?;
    }
    os::write_at(location, file, schema.as_bytes(), g.schema_offset)?;
    fault::pause_point("before-publish");
    os::link_into_place(location, &unnamed)?;
    let map = os::map(location, file, g.total_len, Access::ReadWrite)?;
    Ok(Mapping {
        map,
        geometry: g,
        location: location.clone(),
        object,
        access: Access::ReadWrite,
        created: true,
    })
}

/// Initialises an existing empty or abandoned object in place. The caller
/// holds the init lock and has seen the object empty or unpublished.
///
/// The object is never shrunk (a process may still map it, and would fault
/// on lost pages); everything the new region reads is written explicitly.
fn initialise_in_place(
    location: &Location,
    file: &std::fs::File,
    spec: &TypeSpec<'_>,
    deadline: &Deadline,
) -> Result<Mapping> {
    fault::pause_point("initialising");
    let (header, schema) = new_header(location, spec)?;
    let g = header.geometry;
    let was_empty = os::object_len(location, file)? == 0;
    let written = (|| {
        // The magic goes in before the length grows, so the object is never
        // a run of foreign-looking zeros.
        os::write_at(location, file, &header.encode(), 0)?;
        fault::pause_point("header-written");
        os::reserve(location, file, g.total_len)?;
        fault::pause_point("allocated");
        let zeros = vec![0u8; (g.payload_offset as usize - HEADER_LEN).max(spec.size)];
        os::write_at(
            location,
            file,
            &zeros[..g.payload_offset as usize - HEADER_LEN],
            HEADER_LEN as u64,
        )?;
        let payload = spec.initial.unwrap_or(&zeros[..spec.size]);
        os::write_at(location, file, payload, g.payload_offset)?;
        os::write_at(location, file, schema.as_bytes(), g.schema_offset)?;
        os::map(location, file, g.total_len, Access::ReadWrite)
    })();
    let map = match written {
        Ok(map) => map,
        Err(e) => {
            if was_empty {
                // Nobody maps an unpublished object: leave it as we found it.
                let _ = os::set_len(location, file, 0);
            }
            return Err(e);
        }
    };
    let object = Object::open(location, file, &os::metadata(location, file)?, deadline)?;
    // Published only if its name still leads to it (see `map_published`).
    object.check_still_named(location)?;
    let mapping = Mapping {
        map,
        geometry: g,
        location: location.clone(),
        object,
        access: Access::ReadWrite,
        created: true,
    };
    fault::pause_point("before-publish");
    // Publishes the header, initial value and schema written above.
    mapping.state().store(STATE_READY, Ordering::Release);
    Ok(mapping)
}
