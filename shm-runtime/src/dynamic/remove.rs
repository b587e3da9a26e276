//! Removing a region's name: exactly the object a handle checked and
//! holds, and, when asked, only while no process uses it (`shm rm`,
//! `shm rm --stale`). `DESIGN.md`, "Removing a region", argues both.

use std::path::Path;

use super::users::{self, Users};
use super::Region;
use crate::error::{Error, Location, Result};
use crate::fault;
use crate::os;
use crate::sync::owner::ObjectId;

/// What [`Region::remove_if_unused`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removal {
    /// The name is gone. (Nobody held or mapped the region.)
    Removed,
    /// The region is kept: these use it.
    Kept(Users),
}

/// What a removal needs that a read-only handle does not have.
const NEEDS_WRITE: &str =
    "removing it only while unused locks out every open meanwhile, which needs write permission \
     on it";

impl Region {
    /// Removes the name this region was opened by (the file, or the shm
    /// object's name), if it still leads to the object this handle holds;
    /// the handle is closed. Processes that have the region open keep it,
    /// and a later open by the name creates a new one or finds none.
    ///
    /// Exactly the object that was checked (opened) is removed: the name is
    /// first moved aside to a fresh name of its own in the same directory
    /// (never replacing anything), and only removed there if it is this
    /// object; anything else that took the name in between (a file renamed
    /// over it, a new region) is put back, untouched. No instant exists at
    /// which an open by the name could create a region that is then
    /// removed. A symbolic link is refused, not followed.
    ///
    /// # Errors
    ///
    /// [`Error::NotSharedState`] if the name is a symbolic link;
    /// [`Error::NotFound`] if the name is gone, or leads to another object
    /// now (which is put back); [`Error::Io`] if the directory cannot be
    /// changed.
    pub fn remove(self) -> Result<()> {
        let location = self.location().clone();
        let id = *self.raw.object().id();
        let path = os::path_of(&location);
        refuse_link(&location, &path)?;
        fault::hold_point("remove-checked");
        remove_exactly(&location, &path, &id)
    }

    /// Removes the region's name as [`remove`](Self::remove) does, only if
    /// no other process holds it open through this library (the kernel's
    /// record: a handle of any language, read-write or read-only, a forked
    /// child's copy) and no readable memory map shows it mapped; else
    /// returns who uses it. The handle is closed either way.
    ///
    /// The whole record is locked exclusively, without waiting, before the
    /// name is removed, and let go after: an open of the region at that
    /// moment waits for the lock to register, then finds the name gone and
    /// reports `NotFound` (or creates a new region, as asked), and never
    /// keeps a handle of the removed object. A process whose memory map
    /// cannot be read and that holds no handle cannot be seen.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without write permission on the region
    /// (the exclusive lock is a write lock); the errors of
    /// [`remove`](Self::remove).
    pub fn remove_if_unused(self) -> Result<Removal> {
        let location = self.location().clone();
        let id = *self.raw.object().id();
        let path = os::path_of(&location);
        refuse_link(&location, &path)?;
        // A description of our own, without this handle's entry, which goes
        // with the handle.
        let remover = self.raw.object().reopen_read_write(NEEDS_WRITE)?;
        drop(self);
        if !os::record::lock_exclusively(&location, &remover)? {
            return Ok(Removal::Kept(users::users_of(&location, &remover, &id)?));
        }
        fault::hold_point("remove-locked");
        // Nobody holds a handle (the record is ours alone); does anybody
        // map it by other means?
        let mapped = users::users_from(&[], &id).without(std::process::id());
        if !mapped.is_empty() {
            return Ok(Removal::Kept(mapped));
        }
        remove_exactly(&location, &path, &id)?;
        // The record is let go only now, after the name is gone.
        drop(remover);
        Ok(Removal::Removed)
    }
}

/// Refuses a symbolic link at `path`: removing it would leave the region
/// it leads to, and following it would remove a name the caller did not
/// give.
fn refuse_link(location: &Location, path: &Path) -> Result<()> {
    match os::names::name_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|target| format!(" to {}", target.display()))
                .unwrap_or_default();
            Err(Error::NotSharedState {
                location: location.clone(),
                reason: format!(
                    "it is a symbolic link{target}, which is not followed for a removal: \
                     name the region itself"
                ),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound {
            location: location.clone(),
            detail: String::new(),
        }),
        // Whatever else the name is, the removal looks at it again.
        _ => Ok(()),
    }
}

/// Removes the name `path` if it leads to object `id`: moves it aside to a
/// fresh name, removes that if it is `id`, and puts anything else back.
fn remove_exactly(location: &Location, path: &Path, id: &ObjectId) -> Result<()> {
    let temp = os::names::rename_aside(location, path)?;
    let moved = os::names::name_metadata(&temp);
    if matches!(&moved, Ok(meta) if !meta.file_type().is_symlink() && ObjectId::of(meta) == *id) {
        // The fresh name is ours alone: nothing can have taken it since.
        return os::names::unlink(location, &temp);
    }
    let outcome = match os::names::rename_back(&temp, path) {
        Ok(()) => "it was put back untouched".to_owned(),
        Err(e) => format!(
            "it could not be put back ({e}) and is now at {}",
            temp.display()
        ),
    };
    Err(Error::NotFound {
        location: location.clone(),
        detail: format!(
            ": the name no longer leads to the region that was checked (something else took it \
             in between), so nothing was removed; {outcome}"
        ),
    })
}
