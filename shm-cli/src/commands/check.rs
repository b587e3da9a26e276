//! `shm check REGION [--repair]`.

use std::io::Write;

use shm_runtime::{LockState, Region};

use crate::error::{Error, Result};
use crate::region_arg::RegionArg;
use crate::render;

/// Validate a region, and with --repair recover what a dead writer left.
///
/// Opening validates the header (its checksum, format and lengths) and the
/// embedded schema; then the writer lock and the publish state are looked
/// at. A lock held by a dead process, or a publish left half done, is a
/// problem: the next writer would recover it, and --repair does so now.
/// Exit status 1 if a problem remains.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm check such_foo
  shm check /tmp/suchfoo --repair

Without --repair the region is opened read-only and nothing is written.
--repair needs write permission; it waits for a live lock holder, never
takes its lock.")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// Complete or discard what a dead writer left (its lock, a half-done publish)
    #[arg(long)]
    repair: bool,
}

/// What the lock and publish state say.
#[derive(Debug, PartialEq, Eq)]
struct Findings {
    lock: LockState,
    publishing: bool,
}

impl Findings {
    fn of(region: &Region) -> Findings {
        Findings {
            lock: region.lock_state(),
            publishing: region.publish_in_progress(),
        }
    }

    /// What needs repair, if anything.
    fn problem(&self) -> Option<String> {
        match (self.lock, self.publishing) {
            (
                LockState::Held {
                    pid,
                    alive: Some(false),
                },
                true,
            ) => Some(format!(
                "pid {pid} died holding the writer lock, half-way through publishing an update"
            )),
            (
                LockState::Held {
                    pid,
                    alive: Some(false),
                },
                false,
            ) => Some(format!("pid {pid} died holding the writer lock")),
            (LockState::Free, true) => {
                Some("a publish was left half done, and nobody holds the writer lock".to_owned())
            }
            _ => None,
        }
    }

    fn publish_text(&self) -> &'static str {
        match (self.publishing, self.lock) {
            (false, _) => "none in progress",
            (
                true,
                LockState::Held {
                    alive: Some(true), ..
                },
            ) => "in progress (its writer is alive)",
            (true, LockState::Held { alive: None, .. }) => {
                "in progress (whether its writer lives cannot be told)"
            }
            (true, _) => "half done",
        }
    }
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = if args.repair {
        args.region.open_read_write()?
    } else {
        args.region.open_read_only()?
    };
    let findings = Findings::of(&region);
    // The verdict stands even if the report cannot be written (`| head`):
    // a problem that remains is status 1 all the same.
    let printed = describe(out, &region).and_then(|()| report(out, &findings));
    let Some(problem) = findings.problem() else {
        printed?;
        writeln!(out, "ok")?;
        return Ok(());
    };
    if !args.repair {
        return Err(Error::Message(format!(
            "{}: {problem}; `shm check --repair` recovers it",
            region.location()
        )));
    }
    let recovered = region.recover()?;
    let after = Findings::of(&region);
    if let Some(left) = after.problem() {
        return Err(Error::Message(format!(
            "{}: {left}, still after recovery",
            region.location()
        )));
    }
    let how = if recovered {
        "recovered"
    } else {
        "another writer recovered it first"
    };
    printed?;
    writeln!(out, "repaired: {problem}; {how}")?;
    report(out, &after)?;
    writeln!(out, "ok")?;
    Ok(())
}

/// What the region is: opening it validated its header and schema.
fn describe(out: &mut dyn Write, region: &Region) -> std::io::Result<()> {
    let schema = region.schema();
    writeln!(out, "{}: a region of {}", region.location(), schema.name())?;
    writeln!(
        out,
        "  header: valid; schema: valid ({} bytes, align {}, fingerprint {}, {} fields)",
        schema.size(),
        schema.align(),
        render::fingerprint_text(schema.fingerprint()),
        schema.root().fields().len()
    )?;
    writeln!(out, "  version: {}", region.version())
}

fn report(out: &mut dyn Write, findings: &Findings) -> std::io::Result<()> {
    writeln!(out, "  lock: {}", findings.lock)?;
    writeln!(out, "  publish: {}", findings.publish_text())
}
