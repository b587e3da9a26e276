//! `shm get REGION FIELD`.

use std::io::Write;

use crate::error::Result;
use crate::region_arg::RegionArg;
use crate::render;

/// Print one field's value.
///
/// A scalar prints alone on its line (one atomic load), ready for a script;
/// an array or a nested struct prints as `show` prints it, from one
/// consistent snapshot.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm get such_foo bar
  shm get /tmp/suchfoo inner.x
  shm get such_foo samples.3       the same as samples[3], which a shell may glob")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// A field path: `bar`, `inner.x`, `samples[3]` or `samples.3`
    field: String,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_only()?;
    let field = region.field(&args.field)?;
    if field.primitive().is_some() {
        let value = region.get(&args.field)?;
        writeln!(out, "{}", render::scalar_text(value))?;
    } else {
        render::write_field_human(out, &field, &region.snapshot())?;
    }
    Ok(())
}
