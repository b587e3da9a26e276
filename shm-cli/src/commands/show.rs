//! `shm show REGION [--json]`.

use std::io::Write;

use crate::error::Result;
use crate::region_arg::RegionArg;
use crate::render::{self, RegionState};

/// Show a region: its type, size, version, lock state and every field.
///
/// The values come from one consistent snapshot, decoded with the schema
/// the region embeds. Long arrays are shown with their middle elided;
/// `--json` gives every element.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm show such_foo
  shm show /tmp/suchfoo --json | jq .value.inner

JSON: one object, one line: \"location\", \"kind\" (\"file\" or \"shm\"),
\"type\", \"size\", \"align\", \"fingerprint\", \"version\", \"lock\", and
\"value\": the fields as an object (nested structs as objects, arrays as
arrays, NaN and infinities as the strings \"NaN\", \"inf\", \"-inf\").")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// Print one JSON object instead of a tree
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_only()?;
    let (bytes, version) = region.snapshot_with_version();
    let state = RegionState {
        location: region.location(),
        schema: region.schema(),
        version,
        lock: region.lock_state(),
        bytes: &bytes,
    };
    if args.json {
        render::write_state_json(out, &state, None)?;
    } else {
        render::write_state_human(out, &state)?;
    }
    Ok(())
}
