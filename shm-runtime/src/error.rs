//! The one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Where a region lives: a file, or a POSIX shared memory object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file-backed region.
    File(PathBuf),
    /// A POSIX shm object, by its full name (with the leading `/`).
    Shm(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "file {}", path.display()),
            Location::Shm(name) => write!(f, "shm object {name}"),
        }
    }
}

/// Everything that can go wrong in this crate.
///
/// Each message names the file or shm object and, where it applies, what
/// was expected and what was found. `{:?}` prints that message first, then
/// the variant and its fields (so `fn main() -> shm_runtime::Result<()>`
/// prints something a person can read); `{:#?}` is the structured form
/// alone.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The region does not exist and the options did not allow creating it.
    #[error("{location}: not found{detail}")]
    NotFound {
        location: Location,
        /// Extra context, empty or starting with a separator.
        detail: String,
    },

    /// `create_new(true)` found the region already there.
    #[error("{location}: already exists (create_new was requested)")]
    AlreadyExists { location: Location },

    /// A shm name that POSIX does not allow.
    #[error("invalid shm name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    /// The file or object exists but is not a region of this library. It was
    /// not modified.
    #[error("{location}: not a shared-state region ({reason}); it was left untouched")]
    NotSharedState { location: Location, reason: String },

    /// The region was made for another struct layout.
    #[error(
        "{location}: layout mismatch: expected a region of `{expected}` ({expected_size} bytes, align {}, fingerprint {:#018x}), found {} ({found_size} bytes, align {}, fingerprint {:#018x}){}",
        detail.expected_align,
        detail.expected_fingerprint,
        found_name(found),
        detail.found_align,
        detail.found_fingerprint,
        differences_text(&detail.differences)
    )]
    LayoutMismatch {
        location: Location,
        /// The type the caller asked for.
        expected: String,
        /// The type recorded in the region, when its schema names one.
        found: Option<String>,
        expected_size: u64,
        found_size: u64,
        /// Alignments, fingerprints and what differs.
        detail: Box<LayoutMismatchDetail>,
    },

    /// The caller may not open the object as asked.
    #[error("{location}: permission denied: {needed}{hint}")]
    PermissionDenied {
        location: Location,
        /// The access that was needed, e.g. "opening it read-write needs read and write permission".
        needed: &'static str,
        /// What to do instead, empty or starting with a separator.
        hint: &'static str,
    },

    /// The file or object is shorter than its header records.
    #[error("{location}: truncated: the region needs {expected} bytes, the object has {found}")]
    Truncated {
        location: Location,
        expected: u64,
        found: u64,
    },

    /// A bounded wait ran out.
    #[error("{location}: timed out after {waited:?} waiting for {waiting_for}")]
    Timeout {
        location: Location,
        waited: Duration,
        waiting_for: &'static str,
    },

    /// A system call failed.
    #[error("{location}: {operation} failed: {source}")]
    Io {
        location: Location,
        operation: &'static str,
        #[source]
        source: io::Error,
    },

    /// A field path that does not name a field (or not a single value).
    #[error("{location}: no field {path:?}: {reason}")]
    NoSuchField {
        location: Location,
        path: String,
        reason: String,
    },

    /// A value that does not fit the field: out of range, or of the wrong
    /// kind (a float for an integer field).
    #[error("{location}: field `{path}` holds {expected}; {found} does not fit")]
    InvalidValue {
        location: Location,
        path: String,
        expected: String,
        found: String,
    },

    /// The region cannot be created as asked (say, its struct is too large
    /// for the format). Nothing was created.
    #[error("{location}: cannot create this region: {reason}")]
    Unsupported { location: Location, reason: String },

    /// An update was finished in a process forked while it was under way:
    /// the child's copy of it publishes nothing and releases nothing (the
    /// writer lock is its parent's, whose update goes on).
    #[error(
        "{location}: this update was begun before a fork, in process {began_in}, and this is \
         process {this_process}, a child of that fork: a child never publishes or releases an \
         update of the process it was forked from, so nothing was published (that process's \
         update goes on); begin a new update in the child"
    )]
    ForkedUpdate {
        location: Location,
        /// The process that began the update (and holds the lock).
        began_in: u32,
        /// The forked child that tried to finish it.
        this_process: u32,
    },

    /// `from_bytes` got a slice of the wrong length.
    #[error("cannot read a `{type_name}` from {found} bytes: expected exactly {expected}")]
    WrongSize {
        type_name: String,
        expected: usize,
        found: usize,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            // The message, then the fields in brackets.
            write!(f, "{self} [")?;
            self.fields(f)?;
            return f.write_str("]");
        }
        self.fields(f)
    }
}

impl Error {
    /// `Variant { field: .., .. }`, as `#[derive(Debug)]` prints it.
    fn fields(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        macro_rules! variant {
            ($name:literal $(, $field:ident)*) => {
                f.debug_struct($name)$(.field(stringify!($field), $field))*.finish()
            };
        }
        match self {
            Error::NotFound { location, detail } => variant!("NotFound", location, detail),
            Error::AlreadyExists { location } => variant!("AlreadyExists", location),
            Error::InvalidName { name, reason } => variant!("InvalidName", name, reason),
            Error::NotSharedState { location, reason } => {
                variant!("NotSharedState", location, reason)
            }
            Error::LayoutMismatch {
                location,
                expected,
                found,
                expected_size,
                found_size,
                detail,
            } => variant!(
                "LayoutMismatch",
                location,
                expected,
                found,
                expected_size,
                found_size,
                detail
            ),
            Error::PermissionDenied {
                location,
                needed,
                hint,
            } => variant!("PermissionDenied", location, needed, hint),
            Error::Truncated {
                location,
                expected,
                found,
            } => variant!("Truncated", location, expected, found),
            Error::Timeout {
                location,
                waited,
                waiting_for,
            } => variant!("Timeout", location, waited, waiting_for),
            Error::Io {
                location,
                operation,
                source,
            } => variant!("Io", location, operation, source),
            Error::NoSuchField {
                location,
                path,
                reason,
            } => variant!("NoSuchField", location, path, reason),
            Error::InvalidValue {
                location,
                path,
                expected,
                found,
            } => variant!("InvalidValue", location, path, expected, found),
            Error::Unsupported { location, reason } => {
                variant!("Unsupported", location, reason)
            }
            Error::ForkedUpdate {
                location,
                began_in,
                this_process,
            } => variant!("ForkedUpdate", location, began_in, this_process),
            Error::WrongSize {
                type_name,
                expected,
                found,
            } => variant!("WrongSize", type_name, expected, found),
        }
    }
}

/// The rest of a [`Error::LayoutMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LayoutMismatchDetail {
    pub expected_align: u64,
    pub found_align: u64,
    pub expected_fingerprint: u64,
    pub found_fingerprint: u64,
    /// What differs, from the schema the region embeds (fields added,
    /// removed, renamed, retyped, moved), when it could be read.
    pub differences: Option<String>,
}

fn found_name(found: &Option<String>) -> String {
    match found {
        Some(name) => format!("a region of `{name}`"),
        None => "a region of another type".to_owned(),
    }
}

fn differences_text(differences: &Option<String>) -> String {
    match differences {
        Some(text) => format!(": {text}"),
        None => String::new(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// What `fn main() -> shm_runtime::Result<()>` prints: the message a
    /// person reads first, then the fields; `{:#?}` is the fields alone.
    #[test]
    fn debug_prints_the_message_first() {
        let error = Error::NotFound {
            location: Location::File("/tmp/board".into()),
            detail: String::new(),
        };
        assert_eq!(
            format!("{error:?}"),
            "file /tmp/board: not found [NotFound { location: File(\"/tmp/board\"), detail: \"\" }]"
        );
        assert!(format!("{error:#?}").starts_with("NotFound {\n"));
        let io = Error::Io {
            location: Location::Shm("/x".into()),
            operation: "open",
            source: io::Error::from_raw_os_error(13),
        };
        assert!(format!("{io:?}").starts_with("shm object /x: open failed: "));
    }
}
