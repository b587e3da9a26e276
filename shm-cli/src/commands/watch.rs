//! `shm watch REGION [--json] [--interval MS]`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use shm_runtime::schema::{StructDesc, TypeDesc};
use shm_runtime::Error as ShmError;

use crate::error::{Error, Result};
use crate::region_arg::RegionArg;
use crate::render::{self, Change, RegionState};
use crate::signals;

/// How often a wait looks at whether SIGINT or SIGTERM arrived.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Print a line for every change of a region, until interrupted.
///
/// Updates move the region's version and are seen at once. Field-level
/// writes (`set`, `fetch_add` on one field) do not move it; they are found
/// by comparing snapshots every --interval milliseconds. Each line names
/// the fields that changed, with their old and new values. SIGINT (Ctrl-C)
/// or SIGTERM stops it with exit status 0.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm watch such_foo
  shm watch /tmp/suchfoo --json --interval 10

Output: `version 7: bar 1 → 2, samples[3] 0 → 9` per change; \"(field writes)\"
after the version when only field-level writes changed values, and
`version 8: no field changed` for a notify. With --json, one `show --json`
object per line per change, with \"changed\": the paths of the scalars that
changed.")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// Print one JSON object per change, one per line
    #[arg(long)]
    json: bool,
    /// How often to compare snapshots for field-level writes, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    interval: u64,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    // First, before any other thread exists (see `signals`).
    let stop = signals::stop_on_interrupt()
        .map_err(|e| Error::Message(format!("cannot set up SIGINT and SIGTERM handling: {e}")))?;
    let region = args.region.open_read_only()?;
    let interval = Duration::from_millis(args.interval);
    let (mut bytes, mut version) = region.snapshot_with_version();
    // On standard error, so standard output holds changes only; once it is
    // out, every later change is reported.
    let _ = writeln!(
        io::stderr(),
        "watching {} ({}, version {version}); Ctrl-C stops",
        region.location(),
        region.schema().name()
    );
    loop {
        let compare_at = Instant::now() + interval;
        // Until the version moves or it is time to compare.
        loop {
            if stop.raised() {
                return Ok(());
            }
            let Some(left) = compare_at.checked_duration_since(Instant::now()) else {
                break;
            };
            match region.wait_for_change(version, left.min(STOP_CHECK)) {
                Ok(_) => break,
                Err(ShmError::Timeout { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (now, now_version) = region.snapshot_with_version();
        let changes = changes(region.schema().root(), &bytes, &now);
        if now_version != version || !changes.is_empty() {
            if args.json {
                let paths: Vec<String> = changes.into_iter().map(|c| c.path).collect();
                let state = RegionState {
                    location: region.location(),
                    schema: region.schema(),
                    version: now_version,
                    lock: region.lock_state(),
                    bytes: &now,
                };
                render::write_state_json(out, &state, Some(&paths))?;
            } else {
                render::write_change_human(out, now_version, now_version != version, &changes)?;
            }
            out.flush()?;
        }
        bytes = now;
        version = now_version;
    }
}

/// The scalars whose bytes differ between two snapshots, in offset order.
/// Equal spans are skipped whole, so a large struct with a few changes
/// costs a comparison of its bytes, not a visit of every scalar.
pub fn changes(root: &StructDesc, old: &[u8], new: &[u8]) -> Vec<Change> {
    let mut found = Vec::new();
    if old != new {
        let mut path = String::new();
        diff_struct(root, old, new, 0, &mut path, &mut found);
    }
    found
}

fn same(old: &[u8], new: &[u8], offset: usize, size: usize) -> bool {
    let range = offset..offset.saturating_add(size);
    old.get(range.clone()) == new.get(range)
}

fn diff_struct(
    s: &StructDesc,
    old: &[u8],
    new: &[u8],
    base: usize,
    path: &mut String,
    found: &mut Vec<Change>,
) {
    let prefix = path.len();
    for field in s.fields() {
        let offset = base + field.offset;
        if same(old, new, offset, field.ty.size()) {
            continue;
        }
        if prefix > 0 {
            path.push('.');
        }
        path.push_str(&field.name);
        diff_type(&field.ty, old, new, offset, path, found);
        path.truncate(prefix);
    }
}

fn diff_type(
    ty: &TypeDesc,
    old: &[u8],
    new: &[u8],
    offset: usize,
    path: &mut String,
    found: &mut Vec<Change>,
) {
    match ty {
        TypeDesc::Primitive(p) => found.push(Change {
            path: path.clone(),
            old: render::scalar_at(old, offset, *p),
            new: render::scalar_at(new, offset, *p),
        }),
        TypeDesc::Array { element, len } => {
            let prefix = path.len();
            let size = element.size();
            for i in 0..*len {
                let at = offset + i * size;
                if same(old, new, at, size) {
                    continue;
                }
                path.push_str(&format!("[{i}]"));
                diff_type(element, old, new, at, path, found);
                path.truncate(prefix);
            }
        }
        TypeDesc::Struct(s) => diff_struct(s, old, new, offset, path, found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm_runtime::{Primitive, Value};

    #[test]
    fn only_changed_scalars_are_listed_with_their_paths() {
        let point = crate::fixtures::point("Point", Primitive::I16);
        let root = StructDesc::repr_c(
            "S",
            vec![
                ("a".to_owned(), Primitive::U32.into()),
                ("ps".to_owned(), TypeDesc::array(point.into(), 3)),
            ],
        )
        .unwrap();
        let old = vec![0u8; root.size()];
        assert!(changes(&root, &old, &old).is_empty());
        let mut new = old.clone();
        new[0] = 1;
        new[4 + 4 * 2 + 2..4 + 4 * 2 + 4].copy_from_slice(&(-3i16).to_le_bytes());
        assert_eq!(
            changes(&root, &old, &new),
            [
                Change {
                    path: "a".to_owned(),
                    old: Value::Unsigned(0),
                    new: Value::Unsigned(1)
                },
                Change {
                    path: "ps[2].y".to_owned(),
                    old: Value::Signed(0),
                    new: Value::Signed(-3)
                },
            ]
        );
    }
}
