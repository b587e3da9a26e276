//! [`RegionOptions`]: how to open a [`Region`].

use std::path::Path;
use std::time::Duration;

use super::Region;
use crate::error::{Error, Location, Result};
use crate::open::{self, Expect, LayoutSource, Request, TypeSpec};
use crate::os::Access;
use crate::region::{shm_name, DEFAULT_TIMEOUT};
use crate::schema::Schema;

/// How to open a [`Region`]: which layout to expect, whether to create it,
/// to read only.
#[derive(Clone, Debug)]
pub struct RegionOptions {
    schema: Option<Schema>,
    create: bool,
    create_new: bool,
    mode: u32,
    timeout: Duration,
    initial: Option<Vec<u8>>,
    read_only: bool,
}

impl Default for RegionOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl RegionOptions {
    /// Open an existing region of any layout, read-write.
    pub fn new() -> Self {
        RegionOptions {
            schema: None,
            create: true,
            create_new: false,
            mode: 0o600,
            timeout: DEFAULT_TIMEOUT,
            initial: None,
            read_only: false,
        }
    }

    /// Expect exactly this layout: a region of another is
    /// [`Error::LayoutMismatch`], naming what differs. With a schema, a
    /// missing region is created (unless [`create`](Self::create) is
    /// `false`), with the same fingerprint the derive gives the same struct.
    pub fn schema(&mut self, schema: Schema) -> &mut Self {
        self.schema = Some(schema);
        self
    }

    /// Create the region when it is missing (default `true`; it needs a
    /// [`schema`](Self::schema): without one, a missing region is
    /// [`Error::NotFound`]).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Require that this call creates the region: [`Error::AlreadyExists`]
    /// if it exists. Needs a schema.
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// Permission bits of a region this call creates (default `0o600`).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// How long to wait for a concurrent creator (default 5 s;
    /// `Duration::MAX`: no deadline).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// The bytes the call that creates the region writes (default: zeros);
    /// exactly the schema's size.
    pub fn initial(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.initial = Some(bytes.into());
        self
    }

    /// Open to read only: read permission suffices, nothing is created or
    /// written, and writing through the handle is
    /// [`Error::PermissionDenied`].
    pub fn read_only(&mut self, read_only: bool) -> &mut Self {
        self.read_only = read_only;
        self
    }

    /// Opens the region in the file at `path`.
    ///
    /// # Errors
    ///
    /// As [`OpenOptions::open_file`](crate::OpenOptions::open_file), and
    /// [`Error::NotSharedState`] for a region whose embedded schema is
    /// unusable; [`Error::WrongSize`] for an initial value of another size
    /// than the schema's.
    pub fn open_file<P: AsRef<Path>>(&self, path: P) -> Result<Region> {
        self.open_at(Location::File(path.as_ref().to_path_buf()))
    }

    /// Opens the POSIX shm region `name` (leading `/` optional).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], and otherwise as
    /// [`open_file`](Self::open_file).
    pub fn open_shm(&self, name: &str) -> Result<Region> {
        self.open_at(Location::Shm(shm_name(name)?))
    }

    fn open_at(&self, location: Location) -> Result<Region> {
        let access = if self.read_only {
            Access::ReadOnly
        } else {
            Access::ReadWrite
        };
        let Some(schema) = &self.schema else {
            if self.create_new {
                return Err(Error::Unsupported {
                    location,
                    reason: "creating a region needs its schema".to_owned(),
                });
            }
            let (mapping, schema) =
                open::open_published(&location, access, self.timeout, &Expect::Any)?;
            let schema = schema.ok_or_else(|| Error::NotSharedState {
                location: location.clone(),
                reason: "its embedded schema could not be read".to_owned(),
            })?;
            return Region::new(mapping, schema);
        };
        if let Some(initial) = &self.initial {
            if initial.len() != schema.size() {
                return Err(Error::WrongSize {
                    type_name: schema.name().to_owned(),
                    expected: schema.size(),
                    found: initial.len(),
                });
            }
        }
        let spec = TypeSpec {
            name: schema.name(),
            fingerprint: schema.fingerprint(),
            size: schema.size(),
            align: schema.align(),
            layout: LayoutSource::Schema(schema),
            initial: self.initial.as_deref(),
        };
        let mapping = if self.read_only {
            open::open_published(&location, access, self.timeout, &Expect::Type(&spec))?.0
        } else {
            let request = Request {
                create: self.create || self.create_new,
                create_new: self.create_new,
                mode: self.mode,
                timeout: self.timeout,
            };
            open::open_region(&location, &request, &spec)?
        };
        Region::new(mapping, schema.clone())
    }
}
