//! `shm set REGION FIELD=VALUE...`.

use std::io::Write;

use shm_runtime::{Error as ShmError, Region, Value};

use crate::error::{Error, Result};
use crate::region_arg::RegionArg;

/// Set fields, all in one update: every process sees all of them or none.
///
/// Every path and value is checked before anything is written: a field
/// that does not exist, or a value that does not fit its type, changes
/// nothing. The update moves the version, so `watch` and every
/// `wait_for_change` see it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm set such_foo bar=31337
  shm set /tmp/suchfoo inner.x=-5 samples.3=9 ratio=0.25
  shm set such_foo level=inf       floats also take -inf and NaN; integers 0x1f

VALUE must fit the field's type: 256 for a u8, or 1.5 for an integer
field, is an error.")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    /// FIELD=VALUE, FIELD a path such as `bar`, `inner.x`, `samples[3]`
    #[arg(required = true, value_name = "FIELD=VALUE", value_parser = parse_assignment)]
    assignments: Vec<Assignment>,
}

/// One `FIELD=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    field: String,
    value: String,
}

fn parse_assignment(arg: &str) -> std::result::Result<Assignment, String> {
    match arg.split_once('=') {
        Some((field, value)) if !field.is_empty() => Ok(Assignment {
            field: field.to_owned(),
            value: value.to_owned(),
        }),
        _ => Err("expected FIELD=VALUE, such as `bar=5` or `inner.x=-1`".to_owned()),
    }
}

/// A checked assignment: the bytes to store at an offset.
#[derive(Debug)]
struct PendingStore {
    offset: usize,
    bytes: Vec<u8>,
}

pub fn run(args: &Args, _out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_write()?;
    let stores = check_all(&region, &args.assignments)?;
    region.update(|bytes| {
        for store in &stores {
            let end = store.offset + store.bytes.len();
            // In bounds: the offsets come from the region's validated
            // schema, and `bytes` is the whole struct.
            if let Some(field) = bytes.get_mut(store.offset..end) {
                field.copy_from_slice(&store.bytes);
            }
        }
    })?;
    Ok(())
}

/// Resolves every path and parses every value, before anything is written.
fn check_all(region: &Region, assignments: &[Assignment]) -> Result<Vec<PendingStore>> {
    let mut stores = Vec::with_capacity(assignments.len());
    let mut seen: Vec<String> = Vec::with_capacity(assignments.len());
    for assignment in assignments {
        let (offset, primitive) = region.scalar(&assignment.field)?;
        let canonical = region.field(&assignment.field)?.path;
        if seen.contains(&canonical) {
            return Err(Error::Message(format!(
                "{}: field `{canonical}` is assigned twice; give each field one value",
                region.location()
            )));
        }
        let invalid = |expected: String, found: String| {
            Error::Shm(ShmError::InvalidValue {
                location: region.location().clone(),
                path: canonical.clone(),
                expected,
                found,
            })
        };
        let value =
            Value::parse(&assignment.value, primitive).map_err(|e| invalid(e.expected, e.found))?;
        let bits = value
            .to_bits(primitive)
            .map_err(|e| invalid(e.expected, e.found))?;
        stores.push(PendingStore {
            offset,
            bytes: bits.to_le_bytes()[..primitive.size()].to_vec(),
        });
        seen.push(canonical);
    }
    Ok(stores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_splits_at_the_first_equals_sign() {
        assert_eq!(
            parse_assignment("inner.x=-5"),
            Ok(Assignment {
                field: "inner.x".to_owned(),
                value: "-5".to_owned()
            })
        );
        assert_eq!(parse_assignment("a==1").unwrap().value, "=1");
        assert_eq!(parse_assignment("a=").unwrap().value, "");
        assert!(parse_assignment("bar").is_err());
        assert!(parse_assignment("=5").is_err());
    }
}
