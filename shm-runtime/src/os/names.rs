//! Names in directories: taking a name aside, putting it back, removing
//! it, and what a name refers to. Removing a region is built from these
//! (`dynamic/remove.rs`) so that it removes exactly the object it checked:
//! Linux has no "unlink this name if it still refers to that inode", but a
//! rename is atomic, and a name taken aside to a fresh name of our own can
//! be looked at before it is removed.

use std::ffi::OsString;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;
use nix::libc;

use super::{errno_error, io_error, parent_dir};
use crate::error::{Error, Location};

/// `renameat2`'s flag: fail with `EEXIST` rather than replace the target.
const RENAME_NOREPLACE: libc::c_uint = 1;

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE)`.
fn rename_no_replace(from: &Path, to: &Path) -> Result<(), Errno> {
    let from = std::ffi::CString::new(from.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call,
    // which only reads them. The raw system call is used because libc
    // declares `renameat2` for glibc only.
    let result = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            RENAME_NOREPLACE,
        )
    };
    Errno::result(result).map(drop)
}

/// Renames `from` to `to`, never replacing a name that exists. Where the
/// filesystem or kernel lacks `RENAME_NOREPLACE`, a plain `rename`, which
/// callers use only towards a fresh name of their own.
fn rename_fresh(from: &Path, to: &Path) -> Result<(), Errno> {
    match rename_no_replace(from, to) {
        Err(Errno::EINVAL | Errno::ENOSYS) => std::fs::rename(from, to)
            .map_err(|e| e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO)),
        other => other,
    }
}

/// Moves the name `path` aside to a fresh name in the same directory
/// (`.<name>.shm-removing-<pid>-<n>`), which nothing else uses; returns it.
/// Whatever `path` named (a file, a link, a directory) moves with it, and
/// nothing is ever replaced. Left behind only if this process dies before
/// it removes or restores it.
///
/// # Errors
///
/// `NotFound` if `path` names nothing, `Io` otherwise.
pub(crate) fn rename_aside(location: &Location, path: &Path) -> Result<PathBuf, Error> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = parent_dir(path);
    // At most 100 bytes of the name: the temporary name stays under the
    // 255-byte limit of a name.
    let name = path.file_name().unwrap_or_default().as_bytes();
    let name = &name[..name.len().min(100)];
    loop {
        let mut temp = b".".to_vec();
        temp.extend_from_slice(name);
        temp.extend_from_slice(
            format!(
                ".shm-removing-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
            .as_bytes(),
        );
        let temp = dir.join(OsString::from_vec(temp));
        match rename_fresh(path, &temp) {
            Ok(()) => return Ok(temp),
            // Left by an earlier process of this pid: take the next one.
            Err(Errno::EEXIST) => {}
            Err(Errno::ENOENT) => {
                return Err(Error::NotFound {
                    location: location.clone(),
                    detail: String::new(),
                })
            }
            Err(errno) => return Err(errno_error(location, "renameat2", errno)),
        }
    }
}

/// Gives `temp` back its name `path`, unless something took `path`
/// meanwhile (then `EEXIST`, and `temp` stays where it is).
pub(crate) fn rename_back(temp: &Path, path: &Path) -> io::Result<()> {
    rename_fresh(temp, path).map_err(io::Error::from)
}

/// Removes the name `path` (`unlink`).
pub(crate) fn unlink(location: &Location, path: &Path) -> Result<(), Error> {
    std::fs::remove_file(path).map_err(|e| io_error(location, "unlink", e))
}

/// What the name `path` itself is (`lstat`: a symbolic link is not
/// followed).
pub(crate) fn name_metadata(path: &Path) -> io::Result<Metadata> {
    std::fs::symlink_metadata(path)
}

/// What `path` leads to (`stat`, following symbolic links as `open` does).
pub(crate) fn path_metadata(path: &Path) -> io::Result<Metadata> {
    std::fs::metadata(path)
}
