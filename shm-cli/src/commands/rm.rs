//! `shm rm REGION... [--stale]`.

use std::io::Write;

use shm_runtime::{Region, Users};

use crate::error::{Error, Result};
use crate::region_arg::RegionArg;

/// Remove regions: unlink their file, or their shm object.
///
/// Each REGION must open as a region first: a file that is not one is never
/// removed, and if any argument is not a region, nothing is removed.
/// Processes that have a region mapped keep it until they unmap it; with
/// --stale, regions that any process has mapped are kept.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm rm such_foo /tmp/suchfoo
  shm rm --stale such_foo other_foo

With --stale, a process whose memory map cannot be read (another user's)
counts as having the region mapped, so such a region is kept. Each region
is reported as `removed` or `kept` (with the processes that map it).")]
pub struct Args {
    /// File paths (they contain a `/`) or POSIX shm names
    #[arg(required = true, value_parser = RegionArg::parser())]
    regions: Vec<RegionArg>,
    /// Only remove regions that no process has mapped
    #[arg(long)]
    stale: bool,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let mut regions: Vec<(&RegionArg, Region)> = Vec::with_capacity(args.regions.len());
    for arg in &args.regions {
        if regions.iter().any(|(seen, _)| *seen == arg) {
            continue;
        }
        regions.push((arg, arg.open_read_only()?));
    }
    for (arg, region) in &regions {
        if args.stale {
            let users = others(region.users());
            if !users.pids.is_empty() || !users.unknown.is_empty() {
                writeln!(out, "kept {}: {}", region.location(), who_maps(&users))?;
                continue;
            }
        }
        remove(arg)?;
        if args.stale {
            writeln!(out, "removed {}", region.location())?;
        }
    }
    Ok(())
}

/// The users other than this process (which maps the region to check it).
fn others(mut users: Users) -> Users {
    let me = std::process::id();
    users.pids.retain(|&pid| pid != me);
    users.unknown.retain(|&pid| pid != me);
    users
}

/// "mapped by pid 12, 13; maybe by pid 14 (its memory map cannot be read)".
fn who_maps(users: &Users) -> String {
    let list = |pids: &[u32]| {
        pids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !users.pids.is_empty() {
        parts.push(format!("mapped by pid {}", list(&users.pids)));
    }
    if !users.unknown.is_empty() {
        parts.push(format!(
            "maybe mapped by pid {} (memory map unreadable)",
            list(&users.unknown)
        ));
    }
    parts.join("; ")
}

fn remove(arg: &RegionArg) -> Result<()> {
    match arg {
        RegionArg::File(path) => std::fs::remove_file(path)
            .map_err(|e| Error::Message(format!("{}: cannot remove it: {e}", arg.location()))),
        RegionArg::Shm(name) => Ok(shm_runtime::remove_shm(name)?),
    }
}
