//! `shm ls [PATH...] [--json]`.

use std::io::Write;
use std::path::{Path, PathBuf};

use shm_runtime::Error as ShmError;

use crate::error::{self, Error, Result};
use crate::region_arg::{RegionArg, SHM_DIR};
use crate::render::{self, Listed};

/// List regions: the POSIX shm objects in /dev/shm, or the regions in the
/// given folders and files.
///
/// Files that are not regions (or not yet: still being created) are left
/// out without a word; a PATH that does not exist is an error. Folders are
/// not searched recursively. Regions are opened read-only and never waited
/// for.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm ls
  shm ls /var/lib/myapp /tmp/suchfoo
  shm ls --json | jq '.[].location'

Files in /dev/shm are listed as shm objects (kind \"shm\", location
\"/name\"); any other file as kind \"file\" by its path. JSON: one array of
objects with \"location\", \"kind\", \"type\", \"size\" (the struct's size in
bytes), \"align\", \"fingerprint\", \"version\" and \"lock\".")]
pub struct Args {
    /// Folders or files to look in [default: /dev/shm]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print a JSON array instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let mut rows = Vec::new();
    let mut failed = false;
    let defaults = [PathBuf::from(SHM_DIR)];
    let paths = if args.paths.is_empty() {
        &defaults[..]
    } else {
        &args.paths[..]
    };
    for path in paths {
        if let Err(e) = list_path(path, &mut rows) {
            error::report(&e);
            failed = true;
        }
    }
    rows.sort_by_key(|row: &Listed| render::location_text(&row.location));
    rows.dedup_by_key(|row| row.location.clone());
    let printed = if args.json {
        render::write_list_json(out, &rows)
    } else {
        render::write_list_human(out, &rows)
    };
    // A path that failed is status 1 even if the listing could not be
    // written.
    if failed {
        return Err(Error::Reported);
    }
    Ok(printed?)
}

/// Adds the regions at `path` (a folder's files, or a file) to `rows`.
fn list_path(path: &Path, rows: &mut Vec<Listed>) -> Result<()> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Message(format!("{}: {e}", path.display())))?;
    if !meta.is_dir() {
        if let Some(row) = probe(path, true)? {
            rows.push(row);
        }
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| Error::Message(format!("{}: cannot list it: {e}", path.display())))?;
    for entry in entries.flatten() {
        // Whatever cannot be opened in a folder is not listed: it is not a
        // region, or not one this user may read.
        if let Ok(Some(row)) = probe(&entry.path(), false) {
            rows.push(row);
        }
    }
    Ok(())
}

/// The row for `path` if it holds a region; `None` if it is not one (or
/// not yet). Any other failure to open it is an error (`named`: the user
/// named this file).
fn probe(path: &Path, named: bool) -> Result<Option<Listed>> {
    // Only regular files: opening a FIFO would wait for a writer.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if named => return Err(Error::Message(format!("{}: {e}", path.display()))),
        Err(_) => return Ok(None),
    }
    let region = match RegionArg::for_file(path).open_read_only_now() {
        Ok(region) => region,
        Err(
            ShmError::NotSharedState { .. } | ShmError::Timeout { .. } | ShmError::Truncated { .. },
        ) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(Listed {
        location: region.location().clone(),
        schema: region.schema().clone(),
        version: region.version(),
        lock: region.lock_state(),
    }))
}
