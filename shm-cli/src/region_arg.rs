//! REGION on the command line: a file path when it contains a `/`, a POSIX
//! shm name otherwise; and opening it.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shm_runtime::{Error, Location, Region, RegionOptions};

/// Where POSIX shm objects live on Linux: `shm_open("/x")` is the file
/// `/dev/shm/x`.
pub const SHM_DIR: &str = "/dev/shm";

/// How long an open waits for a region that another process is creating
/// in place (an empty file being initialised): far more than that takes,
/// and not long to wait for an empty file that nobody initialises.
const OPEN_TIMEOUT: Duration = Duration::from_millis(250);

/// A region named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionArg {
    File(PathBuf),
    /// The name as given (a leading `/` is optional).
    Shm(String),
}

impl RegionArg {
    /// For clap: a path when the argument contains a `/`, else a shm name,
    /// which must be text.
    pub fn parse(arg: &OsStr) -> Result<RegionArg, String> {
        if arg.as_bytes().contains(&b'/') {
            return Ok(RegionArg::File(PathBuf::from(arg)));
        }
        match arg.to_str() {
            Some(name) => Ok(RegionArg::Shm(name.to_owned())),
            None => Err(format!(
                "{} is not valid UTF-8, which a shm name must be; \
                 to name a file, give a path with a `/` (such as ./{})",
                arg.to_string_lossy(),
                arg.to_string_lossy()
            )),
        }
    }

    /// The region in file `path`: a file directly in /dev/shm is the shm
    /// object of its name; any other file is a file.
    pub fn for_file(path: &Path) -> RegionArg {
        let parent = match path.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new(".").canonicalize().ok(),
            Some(p) => p.canonicalize().ok(),
            None => None,
        };
        if parent.as_deref() == Some(Path::new(SHM_DIR)) {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                return RegionArg::Shm(name.to_owned());
            }
        }
        RegionArg::File(path.to_path_buf())
    }

    /// The directory entry this argument names, however it is spelt: its
    /// folder with every link and `..` resolved, and its name. Two
    /// arguments with the same entry name the same thing (`./x` and `x`,
    /// `such_foo` and `/dev/shm/such_foo`); `None` when the folder cannot
    /// be resolved.
    pub fn entry(&self) -> Option<(PathBuf, OsString)> {
        let path = self.backing_file()?;
        let name = path.file_name()?.to_owned();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Some((dir.canonicalize().ok()?, name))
    }

    /// Whether the argument is a folder (to sweep), following links.
    pub fn is_dir(&self) -> bool {
        matches!(self, RegionArg::File(path) if path.is_dir())
    }

    /// The clap value parser of [`RegionArg::parse`].
    pub fn parser() -> impl clap::builder::TypedValueParser<Value = RegionArg> {
        use clap::builder::TypedValueParser;
        clap::builder::OsStringValueParser::new().try_map(|arg: OsString| RegionArg::parse(&arg))
    }

    /// Opens the region to read only (read permission suffices).
    pub fn open_read_only(&self) -> shm_runtime::Result<Region> {
        self.open(RegionOptions::new().read_only(true).timeout(OPEN_TIMEOUT))
    }

    /// Opens the region to read only, without waiting for a region still
    /// being created (that is not a region yet).
    pub fn open_read_only_now(&self) -> shm_runtime::Result<Region> {
        self.open(RegionOptions::new().read_only(true).timeout(Duration::ZERO))
    }

    /// Opens the region to read and write.
    pub fn open_read_write(&self) -> shm_runtime::Result<Region> {
        self.open(RegionOptions::new().create(false).timeout(OPEN_TIMEOUT))
    }

    fn open(&self, options: &RegionOptions) -> shm_runtime::Result<Region> {
        self.refuse_special_file()?;
        let opened = match self {
            RegionArg::File(path) => options.open_file(path),
            RegionArg::Shm(name) => options.open_shm(name),
        };
        match opened {
            // Waiting for a creator ran out on an object that is still
            // empty: nobody is making a region of it.
            Err(Error::Timeout { .. }) if self.is_empty() => Err(Error::NotSharedState {
                location: self.location(),
                reason: "it is empty: no region was ever created in it".to_owned(),
            }),
            other => other,
        }
    }

    fn is_empty(&self) -> bool {
        self.backing_file()
            .and_then(|path| std::fs::metadata(path).ok())
            .is_some_and(|meta| meta.len() == 0)
    }

    /// The location as the library names it in messages.
    pub fn location(&self) -> Location {
        match self {
            RegionArg::File(path) => Location::File(path.clone()),
            RegionArg::Shm(name) => Location::Shm(format!("/{}", bare_name(name))),
        }
    }

    /// The file that holds the region: the path, or the shm object's file
    /// in `/dev/shm`; `None` for a name that is no valid shm name (the
    /// library says why when it is opened).
    pub fn backing_file(&self) -> Option<PathBuf> {
        match self {
            RegionArg::File(path) => Some(path.clone()),
            RegionArg::Shm(name) => {
                let bare = bare_name(name);
                let valid = !bare.is_empty() && bare != "." && bare != ".." && !bare.contains('\0');
                valid.then(|| Path::new(SHM_DIR).join(bare))
            }
        }
    }

    /// Refuses a FIFO, a device or a socket before the library opens it:
    /// opening a FIFO to read would wait for a writer forever, and none of
    /// them can hold a region. A directory is left to the library, which
    /// refuses it as it refuses any other non-region.
    fn refuse_special_file(&self) -> shm_runtime::Result<()> {
        let Some(path) = self.backing_file() else {
            return Ok(());
        };
        match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(Error::NotSharedState {
                location: self.location(),
                reason: format!("it is {}, not a file", file_kind(&meta)),
            }),
            _ => Ok(()),
        }
    }
}

/// A shm name without its optional leading `/`.
fn bare_name(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

/// What kind of special file `meta` describes, for messages.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_makes_a_path() {
        for arg in ["/tmp/x", "./x", "/dev/shm/x", "dir/x"] {
            assert_eq!(
                RegionArg::parse(OsStr::new(arg)),
                Ok(RegionArg::File(PathBuf::from(arg)))
            );
        }
        assert_eq!(
            RegionArg::parse(OsStr::new("such_foo")),
            Ok(RegionArg::Shm("such_foo".to_owned()))
        );
        let not_text = OsStr::from_bytes(b"caf\xe9");
        assert!(RegionArg::parse(not_text).unwrap_err().contains("UTF-8"));
        assert_eq!(
            RegionArg::parse(OsStr::from_bytes(b"./caf\xe9")),
            Ok(RegionArg::File(PathBuf::from(OsStr::from_bytes(
                b"./caf\xe9"
            ))))
        );
    }

    #[test]
    fn shm_names_have_a_backing_file_when_valid() {
        let shm = |name: &str| RegionArg::Shm(name.to_owned()).backing_file();
        assert_eq!(shm("x"), Some(PathBuf::from("/dev/shm/x")));
        assert_eq!(shm(".."), None);
        assert_eq!(shm(""), None);
        assert_eq!(
            RegionArg::Shm("x".to_owned()).location(),
            Location::Shm("/x".to_owned())
        );
    }
}
