//! The schema a region embeds, as JSON: written at creation, read by every
//! tool that opens a region without its Rust type.
//!
//! The format is in the [module docs](super#the-embedded-json).
//!
//! The bytes come from a file anyone may have written, so parsing never
//! panics, refuses unknown keys, and validates the whole layout (see the
//! [module docs](super)) and the fingerprint.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{FieldDesc, LayoutError, Schema, StructDesc, TypeDesc, MAX_DEPTH, MAX_FIELDS};
use crate::Primitive;

/// The schema format this library writes and reads.
const FORMAT: u64 = 1;

/// What a region's header records about its payload: a schema read from the
/// region must agree with it (see [`Schema::from_region_json`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedLayout {
    /// The payload's size in bytes.
    pub size: u64,
    /// The payload's alignment in bytes.
    pub align: u64,
    /// The layout fingerprint.
    pub fingerprint: u64,
}

/// Why a schema's JSON was refused.
///
/// `at` is where in the document, as a path from the top object `$`, such as
/// `$.fields[2].type.len`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Not JSON at all (or not UTF-8, or nested too deeply to parse).
    #[error("the schema is not valid JSON: {message}")]
    Json { message: String },

    /// A value of the wrong kind.
    #[error("schema at `{at}`: expected {expected}, found {found}")]
    Unexpected {
        at: String,
        expected: &'static str,
        found: String,
    },

    /// A required key is absent.
    #[error("schema at `{at}`: missing key \"{key}\"")]
    MissingKey { at: String, key: &'static str },

    /// A key this format does not define.
    #[error("schema at `{at}`: unknown key {key:?}; expected only {allowed}")]
    UnknownKey {
        at: String,
        key: String,
        allowed: &'static str,
    },

    /// Another version of the format.
    #[error("schema format {found}: this library reads format {FORMAT}")]
    Format { found: String },

    /// A primitive type name that is not one of the twelve.
    #[error(
        "schema at `{at}`: unknown primitive type {found:?}; expected one of u8, u16, u32, u64, \
         usize, i8, i16, i32, i64, isize, f32, f64"
    )]
    UnknownPrimitive { at: String, found: String },

    /// The layout breaks a rule (see the [module docs](super)).
    #[error("schema at `{at}`: {source}")]
    Layout {
        at: String,
        #[source]
        source: LayoutError,
    },

    /// The recorded fingerprint is not the one the layout hashes to.
    #[error(
        "schema fingerprint {recorded:#018x} does not match its layout, which hashes to \
         {computed:#018x}: the schema is damaged"
    )]
    FingerprintMismatch { recorded: u64, computed: u64 },

    /// The schema disagrees with the region's header.
    #[error("the schema gives {what} {schema}, the region's header records {header}")]
    HeaderMismatch {
        /// `"size"`, `"alignment"` or `"fingerprint"`.
        what: &'static str,
        header: String,
        schema: String,
    },
}

impl Schema {
    /// Parses and validates a schema from JSON in the format of the
    /// [module docs](crate::schema#the-embedded-json).
    ///
    /// Checks the document's shape, every layout rule (see the [module
    /// docs](super)) and that the recorded fingerprint is the layout's. It
    /// does not know the region's header: for a schema read from a region,
    /// use [`Schema::from_region_json`], which also compares the two.
    ///
    /// Never panics, whatever the bytes.
    ///
    /// # Errors
    ///
    /// A [`SchemaError`] that says where in the document, and what was
    /// expected and found.
    pub fn from_json(json: &[u8]) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_slice(json).map_err(|e| SchemaError::Json {
            message: e.to_string(),
        })?;
        let top = object(&value, "$")?;
        allow_keys(top, "$", TOP_KEYS, TOP_KEYS_TEXT)?;
        let format = required(top, "$", "format")?;
        if format.as_u64() != Some(FORMAT) {
            return Err(SchemaError::Format {
                found: shorten(&format.to_string()),
            });
        }
        let name = string(required(top, "$", "type")?, "$.type")?;
        let recorded = fingerprint(required(top, "$", "fingerprint")?, "$.fingerprint")?;
        let mut fields_seen = 0;
        let root = struct_body(name, top, "$", 1, &mut fields_seen)?;
        let computed = root.fingerprint();
        if recorded != computed {
            return Err(SchemaError::FingerprintMismatch { recorded, computed });
        }
        Ok(Schema::new(root))
    }

    /// [`Schema::from_json`], then [`Schema::check_recorded`]: the way to
    /// read the schema a region embeds.
    ///
    /// # Errors
    ///
    /// As both.
    pub fn from_region_json(json: &[u8], recorded: &RecordedLayout) -> Result<Schema, SchemaError> {
        let schema = Schema::from_json(json)?;
        schema.check_recorded(recorded)?;
        Ok(schema)
    }

    /// Whether this schema describes the payload the header records: the
    /// same size, alignment and fingerprint.
    ///
    /// # Errors
    ///
    /// [`SchemaError::HeaderMismatch`], naming the first that differs.
    pub fn check_recorded(&self, recorded: &RecordedLayout) -> Result<(), SchemaError> {
        let mismatch = |what, header: String, schema: String| {
            Err(SchemaError::HeaderMismatch {
                what,
                header,
                schema,
            })
        };
        if recorded.size != self.size() as u64 {
            return mismatch("size", recorded.size.to_string(), self.size().to_string());
        }
        if recorded.align != self.align() as u64 {
            return mismatch(
                "alignment",
                recorded.align.to_string(),
                self.align().to_string(),
            );
        }
        if recorded.fingerprint != self.fingerprint() {
            return mismatch(
                "fingerprint",
                format!("{:#018x}", recorded.fingerprint),
                format!("{:#018x}", self.fingerprint()),
            );
        }
        Ok(())
    }

    /// The schema as a region embeds it: byte for byte what every region of
    /// this layout holds (see the [module docs](crate::schema#the-embedded-json)).
    pub fn to_json(&self) -> String {
        write_schema(self.name(), self.fingerprint(), self.root())
    }
}

/// The embedded schema of `root` under the top-level name `name`, with the
/// given fingerprint (the caller's, which for a derived type is computed at
/// compile time).
pub(crate) fn write_schema(name: &str, fingerprint: u64, root: &StructDesc) -> String {
    let mut out = String::with_capacity(128 + 64 * root.fields().len());
    out.push_str(r#"{"format":1,"type":""#);
    escape_into(&mut out, name);
    // Writing to a `String` cannot fail.
    let _ = write!(out, r#"","fingerprint":"{fingerprint:#018x}","#);
    write_struct_body(&mut out, root);
    out.push('}');
    out
}

/// `"size":…,"align":…,"fields":[…]`
fn write_struct_body(out: &mut String, s: &StructDesc) {
    let _ = write!(
        out,
        r#""size":{},"align":{},"fields":["#,
        s.size(),
        s.align()
    );
    for (i, f) in s.fields().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"name":""#);
        escape_into(out, &f.name);
        let _ = write!(out, r#"","offset":{},"type":"#, f.offset);
        write_type(out, &f.ty);
        out.push('}');
    }
    out.push(']');
}

fn write_type(out: &mut String, ty: &TypeDesc) {
    match ty {
        TypeDesc::Primitive(p) => {
            let _ = write!(out, r#""{}""#, p.name());
        }
        TypeDesc::Array { element, len } => {
            out.push_str(r#"{"array":"#);
            write_type(out, element);
            let _ = write!(out, r#","len":{len}}}"#);
        }
        TypeDesc::Struct(s) => {
            out.push_str(r#"{"struct":""#);
            escape_into(out, s.name());
            out.push_str(r#"","#);
            write_struct_body(out, s);
            out.push('}');
        }
    }
}

/// Names are identifiers and need no escaping, but nothing here may ever
/// emit invalid JSON: quotes, backslashes and control characters are
/// escaped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

const TOP_KEYS: &[&str] = &["format", "type", "fingerprint", "size", "align", "fields"];
const TOP_KEYS_TEXT: &str = "format, type, fingerprint, size, align, fields";
const FIELD_KEYS: &[&str] = &["name", "offset", "type"];
const FIELD_KEYS_TEXT: &str = "name, offset, type";
const ARRAY_KEYS: &[&str] = &["array", "len"];
const ARRAY_KEYS_TEXT: &str = "array, len";
const STRUCT_KEYS: &[&str] = &["struct", "size", "align", "fields"];
const STRUCT_KEYS_TEXT: &str = "struct, size, align, fields";

/// The size, alignment and fields of the struct in `obj` (the top object
/// or a nested `{"struct":…}`), at nesting `depth` (1 for the top).
fn struct_body(
    name: &str,
    obj: &Map<String, Value>,
    at: &str,
    depth: usize,
    fields_seen: &mut usize,
) -> Result<StructDesc, SchemaError> {
    let size = unsigned(required(obj, at, "size")?, &format!("{at}.size"))?;
    let align = unsigned(required(obj, at, "align")?, &format!("{at}.align"))?;
    let fields_at = format!("{at}.fields");
    let list = match required(obj, at, "fields")? {
        Value::Array(list) => list,
        other => return Err(unexpected(&fields_at, "an array of fields", other)),
    };
    // Counted before anything is built from them.
    *fields_seen = fields_seen.saturating_add(list.len());
    if *fields_seen > MAX_FIELDS {
        return Err(SchemaError::Layout {
            at: fields_at,
            source: LayoutError::TooManyFields { max: MAX_FIELDS },
        });
    }
    let mut fields = Vec::with_capacity(list.len());
    for (i, field) in list.iter().enumerate() {
        let field_at = format!("{fields_at}[{i}]");
        let obj = object(field, &field_at)?;
        allow_keys(obj, &field_at, FIELD_KEYS, FIELD_KEYS_TEXT)?;
        let field_name = string(
            required(obj, &field_at, "name")?,
            &format!("{field_at}.name"),
        )?;
        let offset = unsigned(
            required(obj, &field_at, "offset")?,
            &format!("{field_at}.offset"),
        )?;
        let ty = type_desc(
            required(obj, &field_at, "type")?,
            &format!("{field_at}.type"),
            depth + 1,
            fields_seen,
        )?;
        fields.push(FieldDesc::new(field_name, offset, ty));
    }
    StructDesc::from_parts(name, size, align, fields).map_err(|source| SchemaError::Layout {
        at: at.to_owned(),
        source,
    })
}

/// A field's type, which would sit at nesting `depth` if it is an array or
/// a struct.
fn type_desc(
    value: &Value,
    at: &str,
    depth: usize,
    fields_seen: &mut usize,
) -> Result<TypeDesc, SchemaError> {
    const EXPECTED: &str = r#"a primitive type name, {"array":…,"len":…} or {"struct":…,"size":…,"align":…,"fields":[…]}"#;
    let obj = match value {
        Value::String(name) => {
            return Primitive::from_name(name)
                .map(TypeDesc::Primitive)
                .ok_or_else(|| SchemaError::UnknownPrimitive {
                    at: at.to_owned(),
                    found: shorten(name),
                })
        }
        Value::Object(obj) => obj,
        other => return Err(unexpected(at, EXPECTED, other)),
    };
    // Checked before recursing, so no input can nest the parser deeper.
    if depth > MAX_DEPTH {
        return Err(SchemaError::Layout {
            at: at.to_owned(),
            source: LayoutError::TooDeep { max: MAX_DEPTH },
        });
    }
    if let Some(element) = obj.get("array") {
        allow_keys(obj, at, ARRAY_KEYS, ARRAY_KEYS_TEXT)?;
        let len = unsigned(required(obj, at, "len")?, &format!("{at}.len"))?;
        let element = type_desc(element, &format!("{at}.array"), depth + 1, fields_seen)?;
        Ok(TypeDesc::array(element, len))
    } else if let Some(name) = obj.get("struct") {
        allow_keys(obj, at, STRUCT_KEYS, STRUCT_KEYS_TEXT)?;
        let name = string(name, &format!("{at}.struct"))?;
        Ok(TypeDesc::Struct(struct_body(
            name,
            obj,
            at,
            depth,
            fields_seen,
        )?))
    } else {
        Err(unexpected(at, EXPECTED, value))
    }
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, SchemaError> {
    value
        .as_object()
        .ok_or_else(|| unexpected(at, "an object", value))
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    at: &str,
    key: &'static str,
) -> Result<&'a Value, SchemaError> {
    obj.get(key).ok_or_else(|| SchemaError::MissingKey {
        at: at.to_owned(),
        key,
    })
}

fn allow_keys(
    obj: &Map<String, Value>,
    at: &str,
    allowed: &[&str],
    allowed_text: &'static str,
) -> Result<(), SchemaError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(SchemaError::UnknownKey {
            at: at.to_owned(),
            key: shorten(key),
            allowed: allowed_text,
        }),
        None => Ok(()),
    }
}

fn string<'a>(value: &'a Value, at: &str) -> Result<&'a str, SchemaError> {
    value
        .as_str()
        .ok_or_else(|| unexpected(at, "a string", value))
}

fn unsigned(value: &Value, at: &str) -> Result<usize, SchemaError> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| unexpected(at, "an unsigned integer", value))
}

/// `"0x"` and 1 to 16 hex digits.
fn fingerprint(value: &Value, at: &str) -> Result<u64, SchemaError> {
    const EXPECTED: &str = r#"a fingerprint such as "0x0123456789abcdef""#;
    let text = string(value, at).map_err(|_| unexpected(at, EXPECTED, value))?;
    text.strip_prefix("0x")
        .filter(|hex| (1..=16).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| unexpected(at, EXPECTED, value))
}

fn unexpected(at: &str, expected: &'static str, found: &Value) -> SchemaError {
    SchemaError::Unexpected {
        at: at.to_owned(),
        expected,
        found: describe(found),
    }
}

/// A short description of a JSON value for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {:?}", shorten(s)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// At most 64 characters of untrusted text, marked when cut.
fn shorten(s: &str) -> String {
    const KEEP: usize = 64;
    match s.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::{header, SharedState};

    /// The embedded schema as the header module writes it for a derived type.
    fn embedded<T: SharedState>() -> String {
        header::schema_json(T::NAME, T::FINGERPRINT, T::TYPE)
    }

    #[test]
    fn writes_the_bytes_regions_hold() {
        // Literals taken from the writer that made existing regions.
        assert_eq!(
            Schema::of::<Board>().to_json(),
            format!(
                r#"{{"format":1,"type":"Board","fingerprint":"{:#018x}","size":32,"align":8,"fields":[{{"name":"total","offset":0,"type":"u64"}},{{"name":"id","offset":8,"type":"u32"}},{{"name":"temps","offset":12,"type":{{"array":"f32","len":2}}}},{{"name":"corners","offset":20,"type":{{"array":{{"struct":"Point","size":4,"align":2,"fields":[{{"name":"x","offset":0,"type":"i16"}},{{"name":"y","offset":2,"type":"i16"}}]}},"len":2}}}},{{"name":"_pad","offset":28,"type":{{"array":"u8","len":4}}}}]}}"#,
                Board::FINGERPRINT
            )
        );
        assert_eq!(
            Schema::of::<Nested>().to_json(),
            format!(
                r#"{{"format":1,"type":"Nested","fingerprint":"{:#018x}","size":32,"align":4,"fields":[{{"name":"id","offset":0,"type":"u32"}},{{"name":"inner","offset":4,"type":{{"struct":"Inner","size":12,"align":4,"fields":[{{"name":"x","offset":0,"type":"u32"}},{{"name":"arr","offset":4,"type":{{"array":{{"struct":"Point","size":4,"align":2,"fields":[{{"name":"x","offset":0,"type":"i16"}},{{"name":"y","offset":2,"type":"i16"}}]}},"len":2}}}}]}}}},{{"name":"samples","offset":16,"type":{{"array":"u16","len":4}}}},{{"name":"grid","offset":24,"type":{{"array":{{"array":"u8","len":3}},"len":2}}}},{{"name":"_pad","offset":30,"type":{{"array":"u8","len":2}}}}]}}"#,
                Nested::FINGERPRINT
            )
        );
    }

    #[test]
    fn escapes_what_json_needs_escaped() {
        let mut out = String::new();
        escape_into(&mut out, "a\"b\\c\n\u{85}é");
        assert_eq!(out, r#"a\"b\\c\u000a\u0085é"#);
    }

    #[test]
    fn round_trips_derived_types_byte_for_byte() {
        for (json, schema) in [
            (embedded::<Scalars>(), Schema::of::<Scalars>()),
            (embedded::<Board>(), Schema::of::<Board>()),
            (embedded::<Nested>(), Schema::of::<Nested>()),
            (embedded::<Grid>(), Schema::of::<Grid>()),
        ] {
            assert_eq!(schema.to_json(), json);
            let parsed = Schema::from_json(json.as_bytes()).unwrap();
            assert_eq!(parsed, schema);
            assert_eq!(parsed.to_json(), json);
        }
    }

    #[test]
    fn checks_the_header() {
        let schema = Schema::of::<Board>();
        let json = schema.to_json();
        let recorded = RecordedLayout {
            size: 32,
            align: 8,
            fingerprint: Board::FINGERPRINT,
        };
        assert_eq!(
            Schema::from_region_json(json.as_bytes(), &recorded),
            Ok(schema)
        );
        let err = Schema::from_region_json(
            json.as_bytes(),
            &RecordedLayout {
                size: 40,
                ..recorded
            },
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the schema gives size 32, the region's header records 40"
        );
        assert!(matches!(
            Schema::from_region_json(
                json.as_bytes(),
                &RecordedLayout {
                    fingerprint: 1,
                    ..recorded
                }
            ),
            Err(SchemaError::HeaderMismatch {
                what: "fingerprint",
                ..
            })
        ));
    }

    /// The JSON of a struct `Foo` of the given size and fields list, with
    /// the fingerprint of `Foo { bar: i32, baz: i32 }`.
    fn foo_json(fields: &str, size: usize) -> String {
        let foo = StructDesc::repr_c(
            "Foo",
            vec![
                ("bar".to_owned(), Primitive::I32.into()),
                ("baz".to_owned(), Primitive::I32.into()),
            ],
        )
        .unwrap();
        let fingerprint = foo.fingerprint();
        format!(
            r#"{{"format":1,"type":"Foo","fingerprint":"{fingerprint:#018x}","size":{size},"align":4,"fields":{fields}}}"#
        )
    }

    const FOO_FIELDS: &str =
        r#"[{"name":"bar","offset":0,"type":"i32"},{"name":"baz","offset":4,"type":"i32"}]"#;

    #[test]
    fn accepts_any_formatting_of_a_valid_schema() {
        let json = foo_json(FOO_FIELDS, 8);
        let schema = Schema::from_json(json.as_bytes()).unwrap();
        assert_eq!(schema.to_json(), json);
        let spaced = json.replace(',', " ,\n ").replace(':', " : ");
        assert_eq!(Schema::from_json(spaced.as_bytes()), Ok(schema));
    }

    #[test]
    fn errors_say_where_and_what() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "the schema is not valid JSON: EOF while parsing a value at line 1 column 0"),
            (b"[]", "schema at `$`: expected an object, found an array of 0 items"),
            (b"{}", r#"schema at `$`: missing key "format""#),
            (
                br#"{"format":2}"#,
                "schema format 2: this library reads format 1",
            ),
            (
                br#"{"format":1,"type":"Foo","fingerprint":"0x1","size":8,"align":4,"fields":[],"extra":0}"#,
                r#"schema at `$`: unknown key "extra"; expected only format, type, fingerprint, size, align, fields"#,
            ),
            (
                br#"{"format":1,"type":"Foo","fingerprint":"12","size":8,"align":4,"fields":[]}"#,
                r#"schema at `$.fingerprint`: expected a fingerprint such as "0x0123456789abcdef", found the string "12""#,
            ),
            (
                br#"{"format":1,"type":"Foo","fingerprint":"0x1","size":-8,"align":4,"fields":[]}"#,
                "schema at `$.size`: expected an unsigned integer, found the number -8",
            ),
        ];
        for (json, message) in cases {
            let err = Schema::from_json(json).unwrap_err();
            assert_eq!(err.to_string(), *message);
        }

        let bool_field = r#"[{"name":"bar","offset":0,"type":"bool"}]"#;
        assert_eq!(
            Schema::from_json(foo_json(bool_field, 8).as_bytes())
                .unwrap_err()
                .to_string(),
            "schema at `$.fields[0].type`: unknown primitive type \"bool\"; expected one of u8, \
             u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64"
        );
        let overlapping =
            r#"[{"name":"bar","offset":0,"type":"i32"},{"name":"baz","offset":2,"type":"i32"}]"#;
        assert_eq!(
            Schema::from_json(foo_json(overlapping, 8).as_bytes())
                .unwrap_err()
                .to_string(),
            "schema at `$`: `Foo`: field `baz` at offset 2 is not aligned: its type `i32` needs \
             an offset that is a multiple of 4"
        );
        let renamed =
            r#"[{"name":"bar","offset":0,"type":"i32"},{"name":"qux","offset":4,"type":"i32"}]"#;
        assert!(matches!(
            Schema::from_json(foo_json(renamed, 8).as_bytes()),
            Err(SchemaError::FingerprintMismatch { .. })
        ));
        assert!(matches!(
            Schema::from_json(foo_json(FOO_FIELDS, 12).as_bytes()),
            Err(SchemaError::Layout {
                source: LayoutError::PaddingAfter { gap: 4, .. },
                ..
            })
        ));
    }

    #[test]
    fn nested_errors_point_into_the_document() {
        let json = Schema::of::<Nested>().to_json().replace(
            r#""name":"y","offset":2,"type":"i16""#,
            r#""name":"y","offset":2,"type":{"array":"i16","len":"2"}"#,
        );
        assert_eq!(
            Schema::from_json(json.as_bytes()).unwrap_err().to_string(),
            "schema at `$.fields[1].type.fields[1].type.array.fields[1].type.len`: expected an \
             unsigned integer, found the string \"2\""
        );
    }

    #[test]
    fn nesting_is_bounded_before_recursing() {
        let mut ty = r#""u8""#.to_owned();
        for _ in 0..200 {
            ty = format!(r#"{{"array":{ty},"len":1}}"#);
        }
        let json = foo_json(&format!(r#"[{{"name":"a","offset":0,"type":{ty}}}]"#), 1);
        assert!(Schema::from_json(json.as_bytes()).is_err());
        let mut ty = r#""u8""#.to_owned();
        for _ in 0..MAX_DEPTH {
            ty = format!(r#"{{"array":{ty},"len":1}}"#);
        }
        let json = foo_json(&format!(r#"[{{"name":"a","offset":0,"type":{ty}}}]"#), 1);
        assert!(matches!(
            Schema::from_json(json.as_bytes()),
            Err(SchemaError::Layout {
                source: LayoutError::TooDeep { .. },
                ..
            })
        ));
    }

    #[test]
    fn long_untrusted_text_is_shortened_in_messages() {
        let key = "k".repeat(10_000);
        let json = format!(r#"{{"{key}":1}}"#);
        let message = Schema::from_json(json.as_bytes()).unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
    }
}

#[cfg(test)]
mod properties {
    use super::super::fixtures::arbitrary_type_info;
    use super::*;
    use crate::header;
    use proptest::prelude::*;

    /// A valid schema's JSON and the schema, from a random layout.
    fn valid_schema() -> impl Strategy<Value = (String, Schema)> {
        arbitrary_type_info().prop_map(|info| {
            let json = header::schema_json("Root", info.fingerprint(), info);
            let schema = Schema::new(StructDesc::try_from(info).expect("fixtures are valid"));
            (json, schema)
        })
    }

    /// What code that reads through raw pointers relies on, checked leaf by
    /// leaf: inside the struct, aligned, in order without overlap.
    fn assert_sound(schema: &Schema) -> Result<(), TestCaseError> {
        let mut end = 0;
        for leaf in schema.root().leaves().take(10_000) {
            let size = leaf.primitive.size();
            prop_assert!(leaf.offset >= end, "{} overlaps", leaf.path);
            prop_assert_eq!(leaf.offset % leaf.primitive.align(), 0);
            end = leaf.offset + size;
            prop_assert!(end <= schema.size());
        }
        prop_assert!(schema.align().is_power_of_two());
        prop_assert_eq!(schema.size() % schema.align(), 0);
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Schema::from_json(&bytes);
        }

        /// Random JSON-ish text gets further into the parser than random
        /// bytes do.
        #[test]
        fn arbitrary_json_text_never_panics(text in r#"[{}\[\]":,0-9a-z_ .-]{0,200}"#) {
            let _ = Schema::from_json(text.as_bytes());
        }

        /// The header's writer, the owned writer and the parser agree byte
        /// for byte on every layout.
        #[test]
        fn round_trip_is_byte_identical((json, schema) in valid_schema()) {
            prop_assert_eq!(schema.to_json(), json.clone());
            let parsed = Schema::from_json(json.as_bytes());
            prop_assert_eq!(parsed.as_ref(), Ok(&schema));
            assert_sound(&schema)?;
        }

        /// Changing, cutting or inserting bytes of a valid schema gives an
        /// error or a schema that is still sound: never a panic, never a
        /// layout that would send a raw pointer astray.
        #[test]
        fn byte_mutations_parse_to_sound_schemas_or_fail(
            (json, _) in valid_schema(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
        ) {
            let mut bytes = json.into_bytes();
            for (at, kind, byte) in edits {
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = byte,
                    1 => { bytes.remove(i); }
                    _ => bytes.insert(i, byte),
                }
            }
            if let Ok(schema) = Schema::from_json(&bytes) {
                assert_sound(&schema)?;
            }
        }

        /// Replacing any number in a valid schema with another, and fixing
        /// the fingerprint up so the layout checks are what decides, gives
        /// an error or a sound schema.
        #[test]
        fn number_mutations_parse_to_sound_schemas_or_fail(
            (json, _) in valid_schema(),
            which in any::<prop::sample::Index>(),
            value in prop_oneof![0u64..64, any::<u64>(), Just(u64::MAX), Just(1 << 63)],
        ) {
            let mut doc: Value = serde_json::from_str(&json).unwrap();
            let mut numbers = Vec::new();
            collect_number_paths(&doc, &mut Vec::new(), &mut numbers);
            prop_assume!(!numbers.is_empty());
            let path = &numbers[which.index(numbers.len())];
            *pointer_mut(&mut doc, path) = Value::from(value);
            let mutated = serde_json::to_vec(&doc).unwrap();
            match Schema::from_json(&mutated) {
                Ok(schema) => assert_sound(&schema)?,
                Err(SchemaError::FingerprintMismatch { computed, .. }) => {
                    doc["fingerprint"] = Value::from(format!("{computed:#018x}"));
                    if let Ok(schema) = Schema::from_json(&serde_json::to_vec(&doc).unwrap()) {
                        assert_sound(&schema)?;
                    }
                }
                Err(_) => {}
            }
        }
    }

    fn collect_number_paths(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Value::Number(_) => out.push(path.clone()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    collect_number_paths(item, path, out);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    path.push(key.clone());
                    collect_number_paths(item, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn pointer_mut<'a>(value: &'a mut Value, path: &[String]) -> &'a mut Value {
        let pointer: String = path.iter().map(|p| format!("/{p}")).collect();
        value.pointer_mut(&pointer).unwrap()
    }
}
