//! Everything the commands print: values decoded from a region's bytes by
//! its schema, as trees and tables for people and as JSON for programs.
//!
//! Values are written as they are walked, never gathered first, so a struct
//! of millions of elements costs no more memory than its bytes. JSON is
//! written here rather than through `serde_json::Value`, whose maps would
//! reorder the fields and whose numbers would widen an `f32` to `f64`
//! (printing `0.1f32` as `0.10000000149011612`).

use std::io::{self, Write};

use shm_runtime::schema::{FieldRef, StructDesc, TypeDesc};
use shm_runtime::{Location, LockState, Primitive, Schema, Value};

/// Longer arrays are shown to people with their middle elided.
const ELIDE_ABOVE: usize = 16;
/// Elements shown before the elision.
const HEAD: usize = 8;
/// Elements shown after it.
const TAIL: usize = 4;
/// Indentation per level of a tree.
const INDENT: &str = "  ";

/// The scalar of type `primitive` at `offset` in a copy of a struct's
/// bytes, read as the runtime reads it ([`Value::from_ne_bytes`]: in the
/// machine's byte order, as the region's atomics hold it). A scalar not
/// wholly inside the bytes, which a validated schema never gives, reads as
/// zero.
pub fn scalar_at(bytes: &[u8], offset: usize, primitive: Primitive) -> Value {
    bytes
        .get(offset..)
        .and_then(|field| Value::from_ne_bytes(field, primitive))
        .unwrap_or_else(|| Value::from_bits(0, primitive))
}

/// A scalar as people read it and `shm set` takes it back: integers in
/// decimal; floats in the shortest form that reads back to the same value
/// of their own width (`0.1` for an `f32` 0.1), with a `.0` or an exponent
/// that marks them as floats (`1.0`, `1e300`), and `NaN`, `inf`, `-inf`.
pub fn scalar_text(value: Value) -> String {
    match value {
        Value::Unsigned(v) => v.to_string(),
        Value::Signed(v) => v.to_string(),
        // `Debug` is the same shortest round-trip digits as `Display`, in
        // scientific notation for very large and small magnitudes instead
        // of hundreds of zeros.
        Value::F32(v) => format!("{v:?}"),
        Value::F64(v) => format!("{v:?}"),
    }
}

/// A scalar in JSON: a number, or for NaN and the infinities (which JSON
/// has no numbers for) the strings `"NaN"`, `"inf"`, `"-inf"`.
pub fn scalar_json(value: Value) -> String {
    let finite = match value {
        Value::F32(v) => v.is_finite(),
        Value::F64(v) => v.is_finite(),
        Value::Unsigned(_) | Value::Signed(_) => true,
    };
    if finite {
        // Rust's float `Debug` is valid JSON for finite values: `1.0`,
        // `-0.0`, `1e-7`, `1.5e300`.
        scalar_text(value)
    } else {
        format!("\"{}\"", scalar_text(value))
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    // Serialising a `str` cannot fail.
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The location as `ls --json` and `show --json` give it: the file's path,
/// or the shm name with its leading `/`.
pub fn location_text(location: &Location) -> String {
    match location {
        Location::File(path) => path.to_string_lossy().into_owned(),
        Location::Shm(name) => name.clone(),
    }
}

/// `"file"` or `"shm"`.
pub fn location_kind(location: &Location) -> &'static str {
    match location {
        Location::Shm(_) => "shm",
        Location::File(_) => "file",
    }
}

/// `0x` and 16 hex digits, as the embedded schema writes fingerprints.
pub fn fingerprint_text(fingerprint: u64) -> String {
    format!("{fingerprint:#018x}")
}

fn lock_json(lock: LockState) -> String {
    match lock {
        LockState::Free => r#"{"held":false}"#.to_owned(),
        LockState::Held { pid, alive } => {
            let alive = match alive {
                Some(true) => "true",
                Some(false) => "false",
                None => "null",
            };
            format!(r#"{{"held":true,"pid":{pid},"alive":{alive}}}"#)
        }
    }
}

/// A region's state at one moment: what `show` prints and `watch` prints
/// per change.
#[derive(Debug)]
pub struct RegionState<'a> {
    pub location: &'a Location,
    pub schema: &'a Schema,
    pub version: u64,
    pub lock: LockState,
    /// A consistent snapshot of the struct's bytes.
    pub bytes: &'a [u8],
}

/// The fields of `show --json` and `ls --json` that describe a region,
/// without the value: `"location":…,"kind":…,"type":…,…,"lock":{…}`.
fn write_summary_json(
    out: &mut dyn Write,
    location: &Location,
    schema: &Schema,
    version: u64,
    lock: LockState,
) -> io::Result<()> {
    write!(
        out,
        r#""location":{},"kind":"{}","type":{},"size":{},"align":{},"fingerprint":"{}","version":{},"lock":{}"#,
        json_string(&location_text(location)),
        location_kind(location),
        json_string(schema.name()),
        schema.size(),
        schema.align(),
        fingerprint_text(schema.fingerprint()),
        version,
        lock_json(lock),
    )
}

/// `show --json`: one line, one object; `changed` (for `watch --json`)
/// lists the paths of the scalars that changed.
pub fn write_state_json(
    out: &mut dyn Write,
    state: &RegionState<'_>,
    changed: Option<&[String]>,
) -> io::Result<()> {
    out.write_all(b"{")?;
    write_summary_json(out, state.location, state.schema, state.version, state.lock)?;
    if let Some(changed) = changed {
        out.write_all(br#","changed":["#)?;
        for (i, path) in changed.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(json_string(path).as_bytes())?;
        }
        out.write_all(b"]")?;
    }
    out.write_all(br#","value":"#)?;
    write_struct_json(out, state.schema.root(), state.bytes, 0)?;
    out.write_all(b"}\n")
}

/// A value in JSON: structs as objects (fields in order), arrays as arrays.
pub fn write_json(
    out: &mut dyn Write,
    ty: &TypeDesc,
    bytes: &[u8],
    offset: usize,
) -> io::Result<()> {
    match ty {
        TypeDesc::Primitive(p) => {
            out.write_all(scalar_json(scalar_at(bytes, offset, *p)).as_bytes())
        }
        TypeDesc::Array { element, len } => {
            out.write_all(b"[")?;
            for i in 0..*len {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_json(out, element, bytes, offset + i * element.size())?;
            }
            out.write_all(b"]")
        }
        TypeDesc::Struct(s) => write_struct_json(out, s, bytes, offset),
    }
}

fn write_struct_json(
    out: &mut dyn Write,
    s: &StructDesc,
    bytes: &[u8],
    offset: usize,
) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, field) in s.fields().iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "{}:", json_string(&field.name))?;
        write_json(out, &field.ty, bytes, offset + field.offset)?;
    }
    out.write_all(b"}")
}

/// `show` for people: a line that says what the region is, then every
/// field as an indented tree.
pub fn write_state_human(out: &mut dyn Write, state: &RegionState<'_>) -> io::Result<()> {
    writeln!(
        out,
        "{}: {}, {} bytes, version {}, lock {}",
        state.location,
        state.schema.name(),
        state.schema.size(),
        state.version,
        state.lock
    )?;
    write_fields(out, state.schema.root(), state.bytes, 0, 1)
}

/// The field a path named, for people: a scalar alone on its line, a
/// scalar array on one line, anything else as a tree.
pub fn write_field_human(
    out: &mut dyn Write,
    field: &FieldRef<'_>,
    bytes: &[u8],
) -> io::Result<()> {
    match field.ty {
        TypeDesc::Struct(s) => write_fields(out, s, bytes, field.offset, 0),
        TypeDesc::Array { element, len } if !is_compact(field.ty) => {
            write_elements(out, element, *len, bytes, field.offset, 0)
        }
        ty => {
            write_compact(out, ty, bytes, field.offset)?;
            out.write_all(b"\n")
        }
    }
}

fn write_fields(
    out: &mut dyn Write,
    s: &StructDesc,
    bytes: &[u8],
    offset: usize,
    depth: usize,
) -> io::Result<()> {
    for field in s.fields() {
        write_named(
            out,
            &field.name,
            &field.ty,
            bytes,
            offset + field.offset,
            depth,
        )?;
    }
    Ok(())
}

/// `label: value` at `depth`, or `label:` and the value's tree below it.
fn write_named(
    out: &mut dyn Write,
    label: &str,
    ty: &TypeDesc,
    bytes: &[u8],
    offset: usize,
    depth: usize,
) -> io::Result<()> {
    write!(out, "{}{label}:", INDENT.repeat(depth))?;
    match ty {
        TypeDesc::Struct(s) => {
            out.write_all(b"\n")?;
            write_fields(out, s, bytes, offset, depth + 1)
        }
        TypeDesc::Array { element, len } if !is_compact(ty) => {
            out.write_all(b"\n")?;
            write_elements(out, element, *len, bytes, offset, depth + 1)
        }
        _ => {
            out.write_all(b" ")?;
            write_compact(out, ty, bytes, offset)?;
            out.write_all(b"\n")
        }
    }
}

/// The elements of an array of structs, `[i]:` each, the middle elided
/// when there are many.
fn write_elements(
    out: &mut dyn Write,
    element: &TypeDesc,
    len: usize,
    bytes: &[u8],
    offset: usize,
    depth: usize,
) -> io::Result<()> {
    for shown in shown_indices(len) {
        match shown {
            Shown::Index(i) => write_named(
                out,
                &format!("[{i}]"),
                element,
                bytes,
                offset + i * element.size(),
                depth,
            )?,
            Shown::Elided(n) => writeln!(out, "{}… {n} more …", INDENT.repeat(depth))?,
        }
    }
    Ok(())
}

/// Whether a type prints on one line: a scalar, or an array of scalars (or
/// of such arrays); an empty array too.
fn is_compact(ty: &TypeDesc) -> bool {
    match ty {
        TypeDesc::Primitive(_) => true,
        TypeDesc::Array { element, len } => *len == 0 || is_compact(element),
        _ => false,
    }
}

/// A scalar, or `[1, 2, 3]` (`[[1, 2], [3, 4]]` nested), the middle of
/// a long array elided.
fn write_compact(
    out: &mut dyn Write,
    ty: &TypeDesc,
    bytes: &[u8],
    offset: usize,
) -> io::Result<()> {
    match ty {
        TypeDesc::Primitive(p) => {
            out.write_all(scalar_text(scalar_at(bytes, offset, *p)).as_bytes())
        }
        TypeDesc::Array { element, len } => {
            out.write_all(b"[")?;
            for (n, shown) in shown_indices(*len).enumerate() {
                if n > 0 {
                    out.write_all(b", ")?;
                }
                match shown {
                    Shown::Index(i) => {
                        write_compact(out, element, bytes, offset + i * element.size())?
                    }
                    Shown::Elided(count) => write!(out, "… {count} more …")?,
                }
            }
            out.write_all(b"]")
        }
        // Not compact: `is_compact` keeps structs out of here.
        _ => out.write_all("…".as_bytes()),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    Index(usize),
    /// This many elements left out.
    Elided(usize),
}

/// Which elements of an array of `len` people see.
fn shown_indices(len: usize) -> impl Iterator<Item = Shown> {
    let elide = len > ELIDE_ABOVE;
    let head = if elide { HEAD } else { len };
    let tail_start = if elide { len - TAIL } else { len };
    (0..head)
        .map(Shown::Index)
        .chain(elide.then_some(Shown::Elided(tail_start - head)))
        .chain((tail_start..len).map(Shown::Index))
}

/// One scalar that `watch` saw change.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub path: String,
    pub old: Value,
    pub new: Value,
}

/// At most this many changes are listed on one `watch` line.
const CHANGES_SHOWN: usize = 16;

/// One `watch` line for people: the version, and each changed scalar as
/// `path old → new`.
pub fn write_change_human(
    out: &mut dyn Write,
    version: u64,
    version_moved: bool,
    changes: &[Change],
) -> io::Result<()> {
    write!(out, "version {version}")?;
    if changes.is_empty() {
        // A notify, or an update that changed nothing.
        return writeln!(out, ": no field changed");
    }
    if !version_moved {
        out.write_all(b" (field writes)")?;
    }
    out.write_all(b":")?;
    for (i, change) in changes.iter().take(CHANGES_SHOWN).enumerate() {
        let sep = if i == 0 { " " } else { ", " };
        write!(
            out,
            "{sep}{} {} → {}",
            change.path,
            scalar_text(change.old),
            scalar_text(change.new)
        )?;
    }
    if changes.len() > CHANGES_SHOWN {
        write!(out, ", and {} more", changes.len() - CHANGES_SHOWN)?;
    }
    out.write_all(b"\n")
}

/// One row of `ls`.
#[derive(Clone, Debug)]
pub struct Listed {
    pub location: Location,
    pub schema: Schema,
    pub version: u64,
    pub lock: LockState,
}

/// `ls --json`: an array of objects, one line.
pub fn write_list_json(out: &mut dyn Write, rows: &[Listed]) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"{")?;
        write_summary_json(out, &row.location, &row.schema, row.version, row.lock)?;
        out.write_all(b"}")?;
    }
    out.write_all(b"]\n")
}

/// `ls` for people: a table, or nothing when there is no region.
pub fn write_list_human(out: &mut dyn Write, rows: &[Listed]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                location_text(&row.location),
                location_kind(&row.location).to_owned(),
                row.schema.name().to_owned(),
                row.schema.size().to_string(),
                row.version.to_string(),
                row.lock.to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        &["LOCATION", "KIND", "TYPE", "SIZE", "VERSION", "LOCK"],
        &[false, false, false, true, true, false],
        &cells,
    )
}

/// A table with a header row, columns padded to their widest cell
/// (`right`: aligned right, for numbers), the last one not padded.
pub fn write_table<const N: usize>(
    out: &mut dyn Write,
    header: &[&str; N],
    right: &[bool; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
                break;
            }
            let pad = widths[i] - cell.chars().count();
            if right[i] {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_read_back_at_their_own_width() {
        assert_eq!(scalar_text(Value::F32(0.1)), "0.1");
        assert_eq!(scalar_text(Value::F64(0.1)), "0.1");
        assert_eq!(scalar_text(Value::F64(1.0)), "1.0");
        assert_eq!(scalar_text(Value::F64(1e300)), "1e300");
        assert_eq!(scalar_json(Value::F32(f32::NAN)), r#""NaN""#);
        assert_eq!(scalar_json(Value::F64(f64::INFINITY)), r#""inf""#);
        assert_eq!(scalar_json(Value::F64(f64::NEG_INFINITY)), r#""-inf""#);
        assert_eq!(scalar_json(Value::F64(-0.0)), "-0.0");
        assert_eq!(scalar_json(Value::Signed(-5)), "-5");
        for v in [0.1f32, 1.0 / 3.0, f32::MAX, f32::MIN_POSITIVE, 1e-45] {
            let back: f32 = scalar_text(Value::F32(v)).parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits());
            let json: f64 = serde_json::from_str(&scalar_json(Value::F32(v))).unwrap();
            assert_eq!((json as f32).to_bits(), v.to_bits());
        }
    }

    #[test]
    fn scalars_are_in_the_machine_order_and_never_read_out_of_bounds() {
        let bytes = [0x0201u16.to_ne_bytes(), (-1i16).to_ne_bytes()].concat();
        assert_eq!(
            scalar_at(&bytes, 0, Primitive::U16),
            Value::Unsigned(0x0201)
        );
        assert_eq!(scalar_at(&bytes, 2, Primitive::I16), Value::Signed(-1));
        assert_eq!(scalar_at(&bytes, 2, Primitive::U32), Value::Unsigned(0));
        assert_eq!(
            scalar_at(&bytes, usize::MAX, Primitive::U8),
            Value::Unsigned(0)
        );
    }

    #[test]
    fn long_arrays_are_elided_in_the_middle() {
        let shown: Vec<Shown> = shown_indices(20).collect();
        assert_eq!(shown.len(), HEAD + 1 + TAIL);
        assert_eq!(shown[HEAD], Shown::Elided(20 - HEAD - TAIL));
        assert_eq!(shown[HEAD + 1], Shown::Index(16));
        assert_eq!(shown_indices(16).count(), 16);
        assert_eq!(shown_indices(0).count(), 0);
    }

    #[test]
    fn a_struct_prints_as_a_tree_and_as_json() {
        let point = crate::fixtures::point("Point", Primitive::I16);
        let root = StructDesc::repr_c(
            "Board",
            vec![
                ("id".to_owned(), Primitive::U32.into()),
                (
                    "temps".to_owned(),
                    TypeDesc::array(Primitive::F32.into(), 2),
                ),
                ("corners".to_owned(), TypeDesc::array(point.into(), 2)),
                ("none".to_owned(), TypeDesc::array(Primitive::U8.into(), 0)),
            ],
        )
        .unwrap();
        let schema = Schema::new(root);
        let mut bytes = Vec::new();
        bytes.extend(7u32.to_le_bytes());
        bytes.extend(1.5f32.to_le_bytes());
        bytes.extend(f32::NAN.to_le_bytes());
        for v in [-1i16, 2, 300, -400] {
            bytes.extend(v.to_le_bytes());
        }
        assert_eq!(bytes.len(), schema.size());
        let location = Location::Shm("/b".to_owned());
        let state = RegionState {
            location: &location,
            schema: &schema,
            version: 3,
            lock: LockState::Free,
            bytes: &bytes,
        };
        assert_eq!(
            text(|out| write_state_human(out, &state)),
            "shm object /b: Board, 20 bytes, version 3, lock free\n\
             \x20 id: 7\n\
             \x20 temps: [1.5, NaN]\n\
             \x20 corners:\n\
             \x20   [0]:\n\
             \x20     x: -1\n\
             \x20     y: 2\n\
             \x20   [1]:\n\
             \x20     x: 300\n\
             \x20     y: -400\n\
             \x20 none: []\n"
        );
        let json = text(|out| write_state_json(out, &state, None));
        assert!(
            json.ends_with(
                r#","version":3,"lock":{"held":false},"value":{"id":7,"temps":[1.5,"NaN"],"corners":[{"x":-1,"y":2},{"x":300,"y":-400}],"none":[]}}
"#
            ),
            "{json}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["location"], "/b");
        assert_eq!(parsed["kind"], "shm");
        assert_eq!(parsed["size"], 20);

        let corner = schema.field("corners.1").unwrap();
        assert_eq!(
            text(|out| write_field_human(out, &corner, &bytes)),
            "x: 300\ny: -400\n"
        );
        let temps = schema.field("temps").unwrap();
        assert_eq!(
            text(|out| write_field_human(out, &temps, &bytes)),
            "[1.5, NaN]\n"
        );
    }

    #[test]
    fn tables_pad_their_columns() {
        let rows = [
            ["/a".to_owned(), "1".to_owned(), "x".to_owned()],
            ["/longer".to_owned(), "100".to_owned(), "y".to_owned()],
        ];
        assert_eq!(
            text(|out| write_table(
                out,
                &["LOCATION", "SIZE", "LOCK"],
                &[false, true, false],
                &rows
            )),
            "LOCATION  SIZE  LOCK\n/a           1  x\n/longer    100  y\n"
        );
    }

    #[test]
    fn a_change_line_names_each_field() {
        let changes = vec![
            Change {
                path: "bar".to_owned(),
                old: Value::Signed(1),
                new: Value::Signed(2),
            },
            Change {
                path: "temps[1]".to_owned(),
                old: Value::F32(0.5),
                new: Value::F32(f32::INFINITY),
            },
        ];
        assert_eq!(
            text(|out| write_change_human(out, 4, true, &changes)),
            "version 4: bar 1 → 2, temps[1] 0.5 → inf\n"
        );
        assert_eq!(
            text(|out| write_change_human(out, 4, false, &changes[..1])),
            "version 4 (field writes): bar 1 → 2\n"
        );
        assert_eq!(
            text(|out| write_change_human(out, 5, true, &[])),
            "version 5: no field changed\n"
        );
    }
}
