//! `shm rm REGION... [--stale]`, `shm rm --stale [FOLDER...]`.

use std::io::Write;
use std::path::{Path, PathBuf};

use shm_runtime::{Error as ShmError, Region, Removal, Users};

use crate::error::{self, Error, Result};
use crate::region_arg::{RegionArg, SHM_DIR};

/// Remove regions: unlink their file, or their shm object.
///
/// Each REGION must open as a region first: a file that is not one is never
/// removed, and if any argument is not a region, nothing is removed. Exactly
/// the object that was checked is removed: a file put in its place in the
/// meantime is left where it is. A symbolic link is refused (name the
/// region itself). A region named twice (`./x` and `x`, `such_foo` and
/// `/dev/shm/such_foo`) is removed once. Processes that have a region open
/// keep it until they close it.
///
/// With --stale, only regions that no process uses are removed: none holds
/// it open through this library (a handle in any language, read-write or
/// read-only, a forked child's included: the kernel's record says so, even
/// where memory maps cannot be read) and no readable memory map shows it
/// mapped. A process opening such a region at that very moment either
/// keeps a working region or finds none, never a removed one. With no
/// REGION, --stale sweeps /dev/shm; a folder given is swept too.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm rm such_foo /tmp/suchfoo
  shm rm --stale such_foo other_foo
  shm rm --stale                 every unused region in /dev/shm
  shm rm --stale /var/lib/myapp  every unused region in that folder

With --stale, each region is reported as `removed` or `kept` (with the
processes that use it). A process whose memory map cannot be read and that
holds no handle cannot be seen. --stale needs write permission on a region
(its record of holders is locked while it is removed); in a folder, files
that are not regions are left out without a word.")]
pub struct Args {
    /// File paths (they contain a `/`) or POSIX shm names; with --stale,
    /// also folders to sweep [default with --stale: /dev/shm]
    #[arg(
        value_name = "REGION",
        required_unless_present = "stale",
        value_parser = RegionArg::parser()
    )]
    regions: Vec<RegionArg>,
    /// Only remove regions that no process uses
    #[arg(long)]
    stale: bool,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let (folders, named): (Vec<&RegionArg>, Vec<&RegionArg>) = args
        .regions
        .iter()
        .partition(|arg| args.stale && arg.is_dir());
    let mut folders: Vec<PathBuf> = folders.iter().filter_map(|f| f.backing_file()).collect();
    if args.regions.is_empty() {
        folders.push(PathBuf::from(SHM_DIR));
    }
    let checked = check(&named)?;
    let mut failed = false;
    if args.stale {
        // Every handle of the check goes first: one of them would hold an
        // entry in a region's record and keep the region.
        let checked: Vec<&RegionArg> = checked.into_iter().map(|(arg, _)| arg).collect();
        for arg in checked {
            let outcome = arg
                .open_read_only()
                .map_err(Error::from)
                .and_then(|region| remove_if_unused(region, out));
            if let Err(e) = outcome {
                error::report(&e);
                failed = true;
            }
        }
    } else {
        for (_, region) in checked {
            if let Err(e) = region.remove() {
                error::report(&e.into());
                failed = true;
            }
        }
    }
    for folder in &folders {
        if let Err(e) = sweep(folder, out) {
            error::report(&e);
            failed = true;
        }
    }
    if failed {
        return Err(Error::Reported);
    }
    Ok(())
}

/// Opens every argument as a region (nothing is removed unless all are),
/// refusing symbolic links, and keeps one argument per directory entry
/// (saying so for the others).
fn check<'a>(named: &[&'a RegionArg]) -> Result<Vec<(&'a RegionArg, Region)>> {
    let mut checked: Vec<(&RegionArg, Region)> = Vec::with_capacity(named.len());
    let mut entries: Vec<(_, &RegionArg)> = Vec::new();
    for &arg in named {
        if let Some(entry) = arg.entry() {
            if let Some((_, first)) = entries.iter().find(|(seen, _)| *seen == entry) {
                error::report(&Error::Message(format!(
                    "{} and {} are the same region: it is removed once",
                    first.location(),
                    arg.location()
                )));
                continue;
            }
            entries.push((entry, arg));
        }
        refuse_link(arg)?;
        checked.push((arg, arg.open_read_only()?));
    }
    Ok(checked)
}

/// A symbolic link is not removed: removing it would leave the region it
/// leads to, and following it would remove a name not given.
fn refuse_link(arg: &RegionArg) -> Result<()> {
    let Some(path) = arg.backing_file() else {
        return Ok(());
    };
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::read_link(&path)
                .map(|target| format!(" to {}", target.display()))
                .unwrap_or_default();
            Err(ShmError::NotSharedState {
                location: arg.location(),
                reason: format!(
                    "it is a symbolic link{target}, which `shm rm` does not follow: \
                     name the region itself"
                ),
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// Removes `region` if no process uses it, and says which it did.
fn remove_if_unused(region: Region, out: &mut dyn Write) -> Result<()> {
    let location = region.location().clone();
    match region.remove_if_unused()? {
        Removal::Removed => writeln!(out, "removed {location}")?,
        Removal::Kept(users) => writeln!(
            out,
            "kept {location}: {}",
            who_uses(&users.without(std::process::id()))
        )?,
        _ => writeln!(out, "kept {location}")?,
    }
    Ok(())
}

/// Removes every unused region directly in `folder`, in name order. Files
/// that are not regions (or not yet, or not readable) are left out; a
/// region this user may not change is reported as kept.
fn sweep(folder: &Path, out: &mut dyn Write) -> Result<()> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| Error::Message(format!("{}: cannot list it: {e}", folder.display())))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        // Regular files only: not a link (never followed), not a FIFO.
        if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file()) {
            continue;
        }
        let Ok(region) = RegionArg::for_file(&path).open_read_only_now() else {
            continue;
        };
        let location = region.location().clone();
        match remove_if_unused(region, out) {
            Err(Error::Shm(ShmError::PermissionDenied { .. })) => {
                writeln!(out, "kept {location}: this user may not change it")?
            }
            // Removed by someone else since it was listed.
            Err(Error::Shm(ShmError::NotFound { .. })) => {}
            other => other?,
        }
    }
    Ok(())
}

/// "held open by pid 12, 13; mapped by pid 14 (without a handle)".
fn who_uses(users: &Users) -> String {
    let list = |pids: &mut dyn Iterator<Item = u32>| {
        pids.map(|pid| pid.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    let holders = list(&mut users.holders());
    if !holders.is_empty() {
        parts.push(format!("held open by pid {holders}"));
    }
    let mappers = list(
        &mut users
            .processes
            .iter()
            .filter(|user| !user.handle)
            .map(|user| user.pid),
    );
    if !mappers.is_empty() {
        parts.push(format!("mapped by pid {mappers} (without a handle)"));
    }
    if !users.departed.is_empty() {
        parts.push(format!(
            "held open through a handle of exited pid {}",
            list(&mut users.departed.iter().copied())
        ));
    }
    if users.foreign_lock {
        parts.push("its record of holders is locked (a removal under way?)".to_owned());
    }
    if parts.is_empty() {
        // This process alone: it never keeps a handle while it removes.
        parts.push("in use".to_owned());
    }
    parts.join("; ")
}
