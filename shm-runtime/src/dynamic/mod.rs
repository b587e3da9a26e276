//! Regions opened without their Rust type: typed at run time by the schema
//! every region embeds, or by a [`Schema`] built at run time (a struct
//! declared in Python or C). The base of the `shm` command line, the Python
//! package and the Zenoh bridge.
//!
//! ```no_run
//! use shm_runtime::{Region, Value};
//!
//! # fn main() -> shm_runtime::Result<()> {
//! let region = Region::open_file("/tmp/suchfoo")?;   // any region, read-write
//! println!("a region of {}", region.schema().name());
//! region.set("bar", Value::Signed(31337))?;         // one atomic store
//! let bytes = region.snapshot();                     // consistent, never torn
//! region.update(|b| b[4..8].copy_from_slice(&7i32.to_le_bytes()))?;
//! # Ok(())
//! # }
//! ```
//!
//! [`Region`] and [`Shared<T>`](crate::Shared) are two faces of one
//! implementation (`RawRegion`): the same lock, seqlock, journal and
//! change notification, so a Rust process, a tool and another language see
//! each other's updates whole.

mod options;
mod remove;
mod schema_runs;
mod transaction;
mod users;
mod value;

use std::fmt;
use std::path::Path;
use std::time::Duration;

pub use options::RegionOptions;
pub use remove::Removal;
pub use transaction::Transaction;
pub use users::{Mapped, User, Users};
pub use value::{FieldOp, Value};

use crate::error::{Error, Location, Result};
use crate::mapping::Mapping;
use crate::raw::RawRegion;
use crate::schema::{FieldRef, Leaf, Schema};
use crate::sync::lock::{self, LockHolder};
use crate::sync::owner::{self, Liveness};
use crate::Primitive;

/// An open region of any layout, typed by its [`Schema`].
///
/// Whole-struct operations move bytes (`snapshot`, `update`, `store`);
/// single fields are reached by path (`bar`, `inner.x`, `samples[3]`) or by
/// the byte offset where they start, and read or written with one atomic
/// instruction of the field's own width.
pub struct Region {
    raw: RawRegion,
    schema: Schema,
}

/// Who holds a region's writer lock, for tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockState {
    /// Nobody.
    Free,
    /// Process `pid`; `alive` is `None` when that cannot be told (another
    /// user's process).
    Held { pid: u32, alive: Option<bool> },
}

impl fmt::Display for LockState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockState::Free => f.write_str("free"),
            LockState::Held {
                pid,
                alive: Some(true),
            } => write!(f, "held by pid {pid} (alive)"),
            LockState::Held {
                pid,
                alive: Some(false),
            } => write!(f, "held by pid {pid} (dead: the next writer recovers it)"),
            LockState::Held { pid, alive: None } => {
                write!(f, "held by pid {pid} (liveness unknown)")
            }
        }
    }
}

impl Region {
    fn new(mapping: Mapping, schema: Schema) -> Result<Region> {
        let runs = schema_runs::runs_of(&schema);
        let raw = RawRegion::new(mapping, schema.size(), schema.align(), runs)?;
        Ok(Region { raw, schema })
    }

    /// The builder: which layout to expect, whether to create, read-only.
    pub fn options() -> RegionOptions {
        RegionOptions::new()
    }

    /// Opens the existing region in the file at `path`, whatever its
    /// layout, read-write.
    ///
    /// # Errors
    ///
    /// As [`RegionOptions::open_file`].
    pub fn open_file<P: AsRef<Path>>(path: P) -> Result<Region> {
        RegionOptions::new().open_file(path)
    }

    /// Opens the existing POSIX shm region `name`, whatever its layout,
    /// read-write.
    ///
    /// # Errors
    ///
    /// As [`RegionOptions::open_shm`].
    pub fn open_shm(name: &str) -> Result<Region> {
        RegionOptions::new().open_shm(name)
    }

    /// Like [`open_file`](Self::open_file), to read only.
    ///
    /// # Errors
    ///
    /// As [`RegionOptions::open_file`].
    pub fn open_file_read_only<P: AsRef<Path>>(path: P) -> Result<Region> {
        RegionOptions::new().read_only(true).open_file(path)
    }

    /// Like [`open_shm`](Self::open_shm), to read only.
    ///
    /// # Errors
    ///
    /// As [`RegionOptions::open_shm`].
    pub fn open_shm_read_only(name: &str) -> Result<Region> {
        RegionOptions::new().read_only(true).open_shm(name)
    }

    /// Where the region lives.
    pub fn location(&self) -> &Location {
        self.raw.location()
    }

    /// The layout of the struct the region holds.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The struct's size in bytes.
    pub fn size(&self) -> usize {
        self.schema.size()
    }

    /// Whether the call that opened this handle created the region.
    pub fn created(&self) -> bool {
        self.raw.created()
    }

    /// Whether this handle may only read.
    pub fn is_read_only(&self) -> bool {
        !self.raw.is_writable()
    }

    /// A consistent copy of the struct's bytes, as
    /// [`Shared::snapshot`](crate::Shared::snapshot).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.size()];
        // SAFETY: `bytes` holds the payload's size.
        unsafe { self.raw.read_into(bytes.as_mut_ptr(), self.size()) };
        bytes
    }

    /// A consistent copy of the `len` bytes at `offset` (a nested struct,
    /// an array, a field): the bytes there of a state some complete update
    /// left, as in [`snapshot`](Self::snapshot), but reading only those
    /// bytes (to the 8-byte words around them), not the whole struct.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`] if the range does not lie inside the struct.
    pub fn snapshot_range(&self, offset: usize, len: usize) -> Result<Vec<u8>> {
        if offset.checked_add(len).is_none_or(|end| end > self.size()) {
            return Err(Error::NoSuchField {
                location: self.location().clone(),
                path: format!("bytes {offset}..{}", offset.saturating_add(len)),
                reason: format!("`{}` has {} bytes", self.schema.name(), self.size()),
            });
        }
        let mut bytes = vec![0u8; len];
        self.raw.read_range(offset, &mut bytes);
        Ok(bytes)
    }

    /// A consistent copy of the struct's bytes and the version it is the
    /// state of: no update or notify moved the version between the two.
    ///
    /// For a tool that prints a value with its version, or that waits for
    /// the next change after a copy: [`wait_for_change`](Self::wait_for_change)
    /// with the returned version wakes for the first update the copy does
    /// not contain, and never for one it does. Field-level writes do not
    /// move the version; the copy holds those made before it.
    ///
    /// Like [`snapshot`](Self::snapshot), it takes no lock and copies again
    /// while updates land during the copy.
    pub fn snapshot_with_version(&self) -> (Vec<u8>, u64) {
        let mut bytes = vec![0u8; self.size()];
        // SAFETY: `bytes` holds the payload's size.
        let seq = unsafe { self.raw.read_into(bytes.as_mut_ptr(), self.size()) };
        // The sequence of the state copied: that state's version, also when
        // it came from a stuck publish's journal entry (whose version the
        // region shows only once the publish ends). `notify` moves the
        // version without changing a byte, so a later count still names
        // this state.
        (bytes, self.raw.version_at(seq))
    }

    /// Like [`snapshot`](Self::snapshot), into `out`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongSize`] if `out` is not the struct's size.
    pub fn snapshot_into(&self, out: &mut [u8]) -> Result<()> {
        self.check_size(out.len())?;
        // SAFETY: `out` holds the payload's size (checked).
        unsafe { self.raw.read_into(out.as_mut_ptr(), self.size()) };
        Ok(())
    }

    /// Runs `f` on a private copy of the struct's bytes and publishes the
    /// result all or nothing, through the same lock and journal as
    /// [`Shared::update`](crate::Shared::update): only the scalars `f`
    /// changed are written back, each with one atomic store of its width.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] on a read-only handle;
    /// [`Error::ForkedUpdate`] in a child forked inside `f`, when `f`
    /// returns there (nothing is published: the update and the lock are the
    /// parent's, which goes on).
    ///
    /// # Panics
    ///
    /// If called from inside an `update` closure on the same region.
    #[track_caller]
    pub fn update<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> Result<R> {
        self.check_writable()?;
        let size = self.size();
        let mut old = vec![0u8; size];
        let guard = self.raw.lock();
        // SAFETY: `old` holds the payload's size.
        unsafe { self.raw.read_locked(&guard, old.as_mut_ptr(), size) };
        let mut new = old.clone();
        let result = f(&mut new);
        self.raw.publish_and_unlock(guard, &old, &new)?;
        Ok(result)
    }

    /// Starts an update that the caller finishes later: takes the writer
    /// lock (waiting as `update` does) and returns a private copy of the
    /// bytes to change. [`Transaction::commit`] publishes it all or nothing;
    /// dropping the transaction publishes nothing. For callers that cannot
    /// hand over a closure (a Python `with` block, a C caller).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] on a read-only handle.
    ///
    /// # Panics
    ///
    /// If this thread already holds the region's lock (an open
    /// transaction or `update` on the same region).
    #[track_caller]
    pub fn begin(&self) -> Result<Transaction<'_>> {
        self.check_writable()?;
        let guard = self.raw.lock();
        Ok(self.transaction(guard))
    }

    /// [`begin`](Self::begin), waiting at most `timeout` for the writer
    /// lock (`Duration::MAX`: no deadline). A holder that died is taken
    /// over as by `begin`; only a live one makes it time out. For callers
    /// that wait in slices, to check for signals between them (Python) or
    /// to give up.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if a live process held the lock all along,
    /// [`Error::PermissionDenied`] on a read-only handle.
    ///
    /// # Panics
    ///
    /// As [`begin`](Self::begin).
    #[track_caller]
    pub fn begin_within(&self, timeout: Duration) -> Result<Transaction<'_>> {
        self.check_writable()?;
        let started = crate::sync::time::Instant::now();
        let guard = match started.checked_add(timeout) {
            None => self.raw.lock(),
            Some(deadline) => self
                .raw
                .lock_until(deadline)
                .ok_or_else(|| Error::Timeout {
                    location: self.location().clone(),
                    waited: started.elapsed(),
                    waiting_for: "the writer lock, which a live process holds",
                })?,
        };
        Ok(self.transaction(guard))
    }

    /// A transaction on the lock just taken: the bytes as they are, twice.
    fn transaction<'a>(&'a self, guard: lock::LockGuard<'a>) -> Transaction<'a> {
        let size = self.size();
        let mut old = vec![0u8; size];
        // SAFETY: `old` holds the payload's size.
        unsafe { self.raw.read_locked(&guard, old.as_mut_ptr(), size) };
        let new = old.clone();
        Transaction {
            region: self,
            guard,
            old,
            new,
        }
    }

    /// Replaces the whole struct with `bytes`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongSize`], [`Error::PermissionDenied`] on a read-only
    /// handle.
    #[track_caller]
    pub fn store(&self, bytes: &[u8]) -> Result<()> {
        self.check_size(bytes.len())?;
        self.check_writable()?;
        // Compared with the payload in place; with a copy of it when that
        // does not do (see `RawRegion::store_and_unlock`).
        let guard = self.raw.lock();
        if let Err(guard) = self.raw.store_and_unlock(guard, bytes) {
            let mut old = vec![0u8; bytes.len()];
            // SAFETY: `old` holds the payload's size (checked above).
            unsafe { self.raw.read_locked(&guard, old.as_mut_ptr(), old.len()) };
            self.raw.publish_and_unlock(guard, &old, bytes)?;
        }
        Ok(())
    }

    /// The field at `path` (`bar`, `inner.x`, `samples[3]`, `samples.3`),
    /// which must be a scalar.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`], saying where the path went wrong and what
    /// is there.
    pub fn scalar(&self, path: &str) -> Result<(usize, Primitive)> {
        let field = self.field(path)?;
        match field.primitive() {
            Some(primitive) => Ok((field.offset, primitive)),
            None => Err(Error::NoSuchField {
                location: self.location().clone(),
                path: path.to_owned(),
                reason: not_a_scalar(&field),
            }),
        }
    }

    /// The field (scalar, array or struct) at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`].
    pub fn field(&self, path: &str) -> Result<FieldRef<'_>> {
        self.schema.field(path).map_err(|e| Error::NoSuchField {
            location: self.location().clone(),
            path: path.to_owned(),
            reason: e.kind.to_string(),
        })
    }

    /// The scalar that starts at byte `offset` (where C's `offsetof` puts
    /// a field): its canonical path and type, to read and write with
    /// [`get_at`](Self::get_at), [`set_at`](Self::set_at) and
    /// [`fetch_at`](Self::fetch_at) without parsing a path.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`] when no scalar starts there, naming the scalar
    /// the offset falls inside, or the struct's size when it is past the
    /// end.
    pub fn scalar_at(&self, offset: usize) -> Result<Leaf> {
        self.schema
            .scalar_at(offset)
            .map_err(|e| Error::NoSuchField {
                location: self.location().clone(),
                path: format!("@{offset}"),
                reason: e.to_string(),
            })
    }

    /// Atomically loads the scalar at `path` (`Acquire`, at its width).
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`].
    pub fn get(&self, path: &str) -> Result<Value> {
        let (offset, primitive) = self.scalar(path)?;
        Ok(Value::from_bits(
            self.load_bits(offset, primitive),
            primitive,
        ))
    }

    /// Atomically stores `value` into the scalar at `path` (`Release`). Like
    /// a field `set`, it does not move the version.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`], [`Error::InvalidValue`] for a value out of
    /// the field's range or of the wrong kind, [`Error::PermissionDenied`]
    /// on a read-only handle.
    pub fn set(&self, path: &str, value: Value) -> Result<()> {
        self.check_writable()?;
        let (offset, primitive) = self.scalar(path)?;
        let bits = self.bits_for(FieldName::Path(path), value, primitive)?;
        // SAFETY: `offset` is a scalar of `primitive` inside the payload,
        // aligned to it (the schema is validated); the mapping is writable;
        // shared memory is only accessed atomically.
        unsafe { value::store(self.at(offset), primitive, bits) };
        Ok(())
    }

    /// Atomically loads the scalar of type `primitive` at byte `offset`
    /// (`Acquire`), as [`get`](Self::get) does by path: for callers that
    /// resolve a field once (with [`scalar`](Self::scalar),
    /// [`scalar_at`](Self::scalar_at) or the schema) and read it often,
    /// without parsing its path each time.
    ///
    /// The schema must have a scalar of `primitive`'s width at `offset`, so
    /// the access is in bounds, aligned, and of the width every other
    /// process uses there; `primitive` only decides how the bits read.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchField`] when there is no scalar of that width at
    /// `offset`.
    pub fn get_at(&self, offset: usize, primitive: Primitive) -> Result<Value> {
        self.check_scalar_at(offset, primitive)?;
        Ok(Value::from_bits(
            self.load_bits(offset, primitive),
            primitive,
        ))
    }

    /// Atomically stores `value` into the scalar of type `primitive` at
    /// byte `offset` (`Release`), as [`set`](Self::set) does by path.
    ///
    /// # Errors
    ///
    /// As [`get_at`](Self::get_at); [`Error::InvalidValue`] for a value out
    /// of the field's range or of the wrong kind; [`Error::PermissionDenied`]
    /// on a read-only handle.
    pub fn set_at(&self, offset: usize, primitive: Primitive, value: Value) -> Result<()> {
        self.check_writable()?;
        self.check_scalar_at(offset, primitive)?;
        let bits = self.bits_for(FieldName::Offset(offset), value, primitive)?;
        // SAFETY: the schema has a scalar of `primitive`'s width at `offset`
        // (checked above): inside the payload, aligned to that width; the
        // mapping is writable; shared memory is only accessed atomically.
        unsafe { value::store(self.at(offset), primitive, bits) };
        Ok(())
    }

    /// Whether the calling thread holds this region's writer lock: it is
    /// inside an `update` closure, or has an open [`Transaction`], on this
    /// region (through this handle or another of the same object). Then
    /// [`update`](Self::update), [`store`](Self::store) and
    /// [`begin`](Self::begin) would panic, since waiting would never end;
    /// callers that must not panic (a binding to another language) ask
    /// first. Only this thread can take or give up its own hold, so the
    /// answer stays true until it does.
    pub fn locked_by_current_thread(&self) -> bool {
        lock::held_by_this_thread(self.raw.sync(), self.raw.object().id(), owner::current())
    }

    /// Atomically applies `op` with `operand` to the scalar at `path` and
    /// returns its old value: one instruction for `Swap` and the integer
    /// operations the hardware has, a compare-exchange loop for `Max`,
    /// `Min` and floats.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set); bitwise operations on a float are
    /// [`Error::InvalidValue`].
    pub fn fetch(&self, path: &str, op: FieldOp, operand: Value) -> Result<Value> {
        self.check_writable()?;
        let (offset, primitive) = self.scalar(path)?;
        // SAFETY: `scalar` found a scalar of `primitive` at `offset`, and the
        // handle is writable (both checked above).
        unsafe { self.fetch_unchecked(offset, primitive, FieldName::Path(path), op, operand) }
    }

    /// Atomically applies `op` with `operand` to the scalar of type
    /// `primitive` at byte `offset` and returns its old value, as
    /// [`fetch`](Self::fetch) does by path.
    ///
    /// # Errors
    ///
    /// As [`set_at`](Self::set_at); bitwise operations on a float are
    /// [`Error::InvalidValue`].
    pub fn fetch_at(
        &self,
        offset: usize,
        primitive: Primitive,
        op: FieldOp,
        operand: Value,
    ) -> Result<Value> {
        self.check_writable()?;
        self.check_scalar_at(offset, primitive)?;
        // SAFETY: a scalar of `primitive`'s width starts at `offset`, and the
        // handle is writable (both checked above).
        unsafe { self.fetch_unchecked(offset, primitive, FieldName::Offset(offset), op, operand) }
    }

    /// Atomically replaces the scalar at `path` with `new` if it holds
    /// `current`: `Ok(Ok(old))` if it did, `Ok(Err(actual))` if not.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    pub fn compare_exchange(
        &self,
        path: &str,
        current: Value,
        new: Value,
    ) -> Result<std::result::Result<Value, Value>> {
        self.check_writable()?;
        let (offset, primitive) = self.scalar(path)?;
        let current = self.bits_for(FieldName::Path(path), current, primitive)?;
        let new = self.bits_for(FieldName::Path(path), new, primitive)?;
        // SAFETY: as in `set`.
        let outcome = unsafe { value::compare_exchange(self.at(offset), primitive, current, new) };
        Ok(outcome
            .map(|old| Value::from_bits(old, primitive))
            .map_err(|actual| Value::from_bits(actual, primitive)))
    }

    /// The region's version, as [`Shared::version`](crate::Shared::version).
    pub fn version(&self) -> u64 {
        self.raw.version()
    }

    /// Moves the version and wakes every waiter; returns the new version.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] on a read-only handle.
    pub fn notify(&self) -> Result<u64> {
        self.check_writable()?;
        Ok(self.raw.notify())
    }

    /// Waits until the version differs from `seen` and returns it.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`].
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> Result<u64> {
        self.raw.wait_for_change(seen, timeout)
    }

    /// Who holds the writer lock, and whether it lives.
    pub fn lock_state(&self) -> LockState {
        match lock::holder(self.raw.sync(), self.raw.object()) {
            LockHolder::Free => LockState::Free,
            LockHolder::Held { pid, liveness } => LockState::Held {
                pid,
                alive: match liveness {
                    Liveness::Alive => Some(true),
                    Liveness::Dead => Some(false),
                    Liveness::Unknown => None,
                },
            },
        }
    }

    /// The processes that use this region (this process included): every
    /// process that holds it open through this library, from the kernel's
    /// record, whatever its memory map says; and every process whose
    /// readable memory map shows it mapped by other means. See [`Users`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the kernel does not answer about the record.
    pub fn users(&self) -> Result<Users> {
        let object = self.raw.object();
        Ok(users::users_from(&object.record()?, object.id()))
    }

    /// Whether a publish is half done (its writer died, or is stopped).
    pub fn publish_in_progress(&self) -> bool {
        self.raw.publish_in_progress()
    }

    /// Completes or discards what a dead writer left (its lock, a half-done
    /// publish): takes the lock, which runs recovery, and releases it.
    /// Returns whether there was anything to recover.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] on a read-only handle.
    pub fn recover(&self) -> Result<bool> {
        self.check_writable()?;
        Ok(self.raw.recover())
    }

    /// `msync` for a file-backed region.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn flush(&self) -> Result<()> {
        self.raw.flush()
    }

    fn at(&self, offset: usize) -> *const u8 {
        // SAFETY: `offset` comes from the validated schema: inside the
        // payload, which lies inside the mapping.
        unsafe { self.raw.payload().as_ptr().add(offset).cast_const() }
    }

    fn load_bits(&self, offset: usize, primitive: Primitive) -> u64 {
        // SAFETY: `offset` is a scalar of `primitive` inside the payload,
        // aligned to it (the schema is validated); shared memory is only
        // accessed atomically; a load is allowed on a read-only mapping.
        unsafe { value::load(self.at(offset), primitive) }
    }

    /// The body of [`fetch`](Self::fetch) and [`fetch_at`](Self::fetch_at)
    /// once the field is known.
    ///
    /// # Safety
    ///
    /// A scalar of `primitive`'s width starts at `offset` in the schema, and
    /// the handle is writable.
    unsafe fn fetch_unchecked(
        &self,
        offset: usize,
        primitive: Primitive,
        name: FieldName<'_>,
        op: FieldOp,
        operand: Value,
    ) -> Result<Value> {
        let bits = self.bits_for(name, operand, primitive)?;
        let float = matches!(primitive, Primitive::F32 | Primitive::F64);
        if float && matches!(op, FieldOp::And | FieldOp::Or | FieldOp::Xor) {
            return Err(Error::InvalidValue {
                location: self.location().clone(),
                path: self.name_of(name),
                expected: "an integer field for a bitwise operation".to_owned(),
                found: format!("a field of type {}", primitive.name()),
            });
        }
        // SAFETY: the schema is validated, so the scalar at `offset` lies
        // inside the payload, aligned to its width; the mapping is writable
        // (both the caller's promise); shared memory is only accessed
        // atomically.
        let old = unsafe { value::fetch_op(self.at(offset), primitive, op, bits) };
        Ok(Value::from_bits(old, primitive))
    }

    fn bits_for(&self, name: FieldName<'_>, value: Value, primitive: Primitive) -> Result<u64> {
        value.to_bits(primitive).map_err(|e| Error::InvalidValue {
            location: self.location().clone(),
            path: self.name_of(name),
            expected: e.expected,
            found: e.found,
        })
    }

    /// The field's name in an error message: the path as the caller wrote
    /// it, or the path of the scalar at an offset. Made only for an error,
    /// so the by-offset calls stay free of paths.
    fn name_of(&self, name: FieldName<'_>) -> String {
        match name {
            FieldName::Path(path) => path.to_owned(),
            FieldName::Offset(offset) => self
                .schema
                .scalar_at(offset)
                .map_or_else(|_| format!("@{offset}"), |scalar| scalar.path),
        }
    }

    /// Checks that a scalar of `primitive`'s width starts at `offset`.
    fn check_scalar_at(&self, offset: usize, primitive: Primitive) -> Result<()> {
        let width = primitive.size();
        // The runs are in increasing offset order and do not overlap.
        let scalars = self.raw.runs();
        let after = scalars.partition_point(|r| r.offset <= offset);
        let found = after.checked_sub(1).map(|i| scalars[i]).is_some_and(|r| {
            let into = offset - r.offset;
            r.width == width && into % width == 0 && into / width < r.count
        });
        if found {
            return Ok(());
        }
        Err(Error::NoSuchField {
            location: self.location().clone(),
            path: format!("@{offset}"),
            reason: format!(
                "`{}` has no {}-byte scalar (such as a {}) at byte offset {offset}",
                self.schema.name(),
                width,
                primitive.name()
            ),
        })
    }

    fn check_writable(&self) -> Result<()> {
        if self.is_read_only() {
            return Err(Error::PermissionDenied {
                location: self.location().clone(),
                needed: "writing needs a read-write handle, and this one is read-only",
                hint: "; open the region without read_only",
            });
        }
        Ok(())
    }

    fn check_size(&self, len: usize) -> Result<()> {
        if len != self.size() {
            return Err(Error::WrongSize {
                type_name: self.schema.name().to_owned(),
                expected: self.size(),
                found: len,
            });
        }
        Ok(())
    }
}

/// How a caller named a field, kept for error messages.
#[derive(Clone, Copy, Debug)]
enum FieldName<'a> {
    /// By path, as written.
    Path(&'a str),
    /// By the byte offset where the scalar starts.
    Offset(usize),
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("type", &self.schema.name())
            .field("location", self.location())
            .field("read_only", &self.is_read_only())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

/// Why a path that resolved does not name a scalar.
fn not_a_scalar(field: &FieldRef<'_>) -> String {
    use crate::schema::TypeDesc;
    match field.ty {
        TypeDesc::Struct(s) => {
            let names: Vec<&str> = s.fields().iter().map(|f| f.name.as_str()).collect();
            format!(
                "`{}` is a struct ({}), not a single value; name one of its fields: {}",
                field.path,
                s.name(),
                names.join(", ")
            )
        }
        TypeDesc::Array { len, .. } => format!(
            "`{}` is an array ({}), not a single value; index it: `{}[0]` .. `{}[{}]`",
            field.path,
            field.ty,
            field.path,
            field.path,
            len.saturating_sub(1)
        ),
        TypeDesc::Primitive(_) => format!("`{}` is a scalar", field.path),
    }
}
