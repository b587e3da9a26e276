//! `shm codegen REGION --lang c|rust|python`.

use std::io::Write;

use crate::codegen;
use crate::error::{Error, Result};
use crate::region_arg::RegionArg;

/// Print a declaration of a region's struct, for a program to open it with.
///
/// The declaration has the region's exact layout: the same field names,
/// types, offsets and padding fields, nested structs declared first, so a
/// program built from it opens the region (same layout fingerprint).
/// A struct whose name the language reserves, or two different nested
/// structs of one name, are declared under another name (struct names are
/// not part of the layout).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm codegen such_foo --lang rust > src/foo.rs
  shm codegen /tmp/suchfoo --lang python > foo.py
  shm codegen such_foo --lang c > foo.h

Rust: `#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]`
`#[repr(C)]` structs (no `Default` where an array is longer than 32).
Python: `shm.Struct` classes, arrays as `shm.array(shm.u16, 4)`.
C: a self-contained header: the struct, `_Static_assert`s on its size and
every offset, the layout fingerprint, and the declarations of the C
functions of `shm-ffi` (link `libshm_ffi`).")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// The language to declare the struct in
    #[arg(long, value_enum)]
    lang: Lang,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Lang {
    C,
    Rust,
    Python,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_only()?;
    let root = region.schema().root();
    let declaration = match args.lang {
        Lang::C => Ok(codegen::c::declare(root)),
        Lang::Rust => codegen::rust::declare(root),
        Lang::Python => codegen::python::declare(root),
    }
    .map_err(|why| Error::Message(format!("{}: {why}", region.location())))?;
    out.write_all(declaration.as_bytes())?;
    Ok(())
}
