//! C declarations for a region's struct, generated from its schema: what
//! `shm codegen REGION --lang c` prints.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use shm_runtime::{Primitive, Schema, StructDesc, TypeDesc};

/// The C interface, `include/shm.h`, as this library was built with it.
/// [`c_declaration`] embeds it, so a generated header and the library it is
/// linked against never disagree.
pub const HEADER: &str = include_str!("../include/shm.h");

/// A self-contained C header for the struct `schema` describes.
///
/// It holds, in this order: an include guard (which names the struct and
/// its fingerprint); `<stddef.h>` and `<stdint.h>`; the C interface of
/// [`HEADER`] (with its own guard, so including `shm.h` too is harmless);
/// a typedef for each struct, nested ones first, with every field of the
/// schema (explicit padding fields included: a schema has no implicit
/// padding) and `_Static_assert`s on the struct's size and alignment and on
/// each field's offset and size; then `<NAME>_FINGERPRINT` and
/// `<NAME>_CHECK_LAYOUT(region)`, which checks an open region against the
/// struct with [`shm_check_layout`](crate::shm_check_layout).
///
/// `NAME` is the struct's name in upper snake case (`SensorBoard`:
/// `SENSOR_BOARD`). Names that C cannot take as they are (a keyword such as
/// `int`, a macro of the standard headers such as `errno`, a type name
/// such as `size_t`, non-ASCII letters) get a C spelling of their own,
/// shown in a comment beside them; a field's path for `shm_get_i64` and the
/// like is always its name in the schema. A zero-sized field (`[u8; 0]`)
/// has no C counterpart and is left out, with a comment; it takes no bytes,
/// so every other offset is unchanged.
///
/// The header compiles alone with `cc -std=c11 -Wall -Werror`.
pub fn c_declaration(schema: &Schema) -> String {
    let root = schema.root();
    let types = Typedefs::of(root);
    let root_name = &types.names[root];
    let macro_prefix = upper_snake(root_name);
    let fingerprint = schema.fingerprint();

    let mut out = String::new();
    let _ = write!(
        out,
        "/*\n * `{}`, the struct of a shm region, for C: {} bytes, aligned to {},\n \
         * layout fingerprint {fingerprint:#018x}.\n *\n \
         * Generated from the region's schema by shm-ffi; do not edit. Regenerate it\n \
         * with `shm codegen REGION --lang c`. {macro_prefix}_CHECK_LAYOUT(region)\n \
         * refuses a region of another layout, and a C compiler that lays the struct\n \
         * out differently stops at the _Static_asserts below.\n */\n",
        root.name(),
        root.size(),
        root.align()
    );
    let guard = format!("SHM_{macro_prefix}_{fingerprint:016X}_H");
    let _ = writeln!(out, "#ifndef {guard}\n#define {guard}\n");
    out.push_str("#include <stddef.h>\n#include <stdint.h>\n\n");
    out.push_str("/* The C interface: shm-ffi's include/shm.h. */\n");
    out.push_str(HEADER);
    out.push('\n');
    for s in &types.order {
        write_typedef(&mut out, s, &types);
    }
    let _ = write!(
        out,
        "/* The layout fingerprint of `{name}`: shm_fingerprint() reports it for a\n \
         * region that holds this struct. {macro_prefix}_CHECK_LAYOUT(region) checks it, and the\n \
         * size, in one call: SHM_OK, or SHM_E_LAYOUT with a message naming both\n \
         * layouts (shm_last_error()). Check it once after opening. */\n\
         #define {macro_prefix}_FINGERPRINT {fingerprint:#018x}ULL\n\
         #define {macro_prefix}_CHECK_LAYOUT(region) \\\n    \
         shm_check_layout((region), {macro_prefix}_FINGERPRINT, sizeof({name}))\n\n\
         #endif /* {guard} */\n",
        name = root_name,
    );
    out
}

/// The structs of a layout as C typedefs: their C names, and the order to
/// declare them in (each after the structs it contains).
struct Typedefs<'a> {
    order: Vec<&'a StructDesc>,
    names: HashMap<&'a StructDesc, String>,
}

impl<'a> Typedefs<'a> {
    fn of(root: &'a StructDesc) -> Typedefs<'a> {
        let mut types = Typedefs {
            order: Vec::new(),
            names: HashMap::new(),
        };
        // Names first, from the root down, so the root keeps its own name
        // when a nested struct of another layout has the same one.
        let mut taken = HashSet::new();
        types.name_structs(root, &mut taken);
        types.order_structs(root, &mut HashSet::new());
        types
    }

    fn name_structs(&mut self, s: &'a StructDesc, taken: &mut HashSet<String>) {
        if self.names.contains_key(s) {
            return;
        }
        let name = unique(type_identifier(s.name()), taken);
        self.names.insert(s, name);
        for field in s.fields() {
            if let Some(inner) = innermost(&field.ty).as_struct() {
                self.name_structs(inner, taken);
            }
        }
    }

    fn order_structs(&mut self, s: &'a StructDesc, done: &mut HashSet<&'a StructDesc>) {
        if !done.insert(s) {
            return;
        }
        for field in s.fields() {
            if let Some(inner) = innermost(&field.ty).as_struct() {
                self.order_structs(inner, done);
            }
        }
        self.order.push(s);
    }
}

/// A struct's typedef and the assertions that pin its layout.
fn write_typedef(out: &mut String, s: &StructDesc, types: &Typedefs<'_>) {
    let name = &types.names[s];
    let _ = writeln!(out, "typedef struct {name} {{");
    // C aligns a struct to its most aligned member; a schema may ask for
    // more (`#[repr(C, align(N))]`), which `_Alignas` on the first member
    // gives.
    let natural = s
        .fields()
        .iter()
        .filter(|f| f.ty.size() > 0)
        .map(|f| f.ty.align())
        .max()
        .unwrap_or(1);
    let mut align_first = s.align() > natural;
    let mut members = HashSet::new();
    let mut asserts = String::new();
    for field in s.fields() {
        if field.ty.size() == 0 {
            let _ = writeln!(
                out,
                "    /* `{}`: {}, zero-sized, has no C counterpart */",
                field.name, field.ty
            );
            continue;
        }
        let member = unique(member_identifier(&field.name), &mut members);
        let alignas = if align_first {
            align_first = false;
            format!("_Alignas({}) ", s.align())
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "    {alignas}{};",
            declarator(&field.ty, &member, types)
        );
        if member != field.name {
            let _ = write!(out, " /* `{}` in the schema */", field.name);
        }
        out.push('\n');
        let _ = writeln!(
            asserts,
            "_Static_assert(offsetof({name}, {member}) == {}, \"{name}.{member}: offset\");",
            field.offset
        );
        let _ = writeln!(
            asserts,
            "_Static_assert(sizeof((({name} *)0)->{member}) == {}, \"{name}.{member}: size\");",
            field.ty.size()
        );
    }
    let _ = writeln!(out, "}} {name};");
    let _ = writeln!(
        out,
        "_Static_assert(sizeof({name}) == {}, \"{name}: size\");",
        s.size()
    );
    let _ = writeln!(
        out,
        "_Static_assert(_Alignof({name}) == {}, \"{name}: alignment\");",
        s.align()
    );
    out.push_str(&asserts);
    out.push('\n');
}

/// `uint8_t name[2][3]`, `Point corners[2]`, `double ratio`.
fn declarator(ty: &TypeDesc, name: &str, types: &Typedefs<'_>) -> String {
    let mut dimensions = String::new();
    let mut element = ty;
    while let TypeDesc::Array {
        element: inner,
        len,
    } = element
    {
        let _ = write!(dimensions, "[{len}]");
        element = inner;
    }
    let base = match element {
        TypeDesc::Primitive(p) => c_type(*p),
        TypeDesc::Struct(s) => &types.names[s],
        // The loop above leaves no array.
        TypeDesc::Array { .. } => "void",
    };
    format!("{base} {name}{dimensions}")
}

/// The type an array holds at its innermost level, or the type itself.
fn innermost(ty: &TypeDesc) -> &TypeDesc {
    let mut ty = ty;
    while let TypeDesc::Array { element, .. } = ty {
        ty = element;
    }
    ty
}

/// The C type of a scalar: the fixed-width types of `<stdint.h>`.
/// `usize` and `isize` are pointer-sized, which `uintptr_t` and `intptr_t`
/// are by definition.
fn c_type(primitive: Primitive) -> &'static str {
    match primitive {
        Primitive::U8 => "uint8_t",
        Primitive::U16 => "uint16_t",
        Primitive::U32 => "uint32_t",
        Primitive::U64 => "uint64_t",
        Primitive::Usize => "uintptr_t",
        Primitive::I8 => "int8_t",
        Primitive::I16 => "int16_t",
        Primitive::I32 => "int32_t",
        Primitive::I64 => "int64_t",
        Primitive::Isize => "intptr_t",
        Primitive::F32 => "float",
        Primitive::F64 => "double",
        // `Primitive` is non-exhaustive; a new scalar type gets its C type
        // here, and until then a name that fails to compile, loudly.
        _ => "shm_unknown_scalar_type",
    }
}

/// Words C reserves, and macros that C programs commonly have in scope
/// which would rewrite a member of that name.
const RESERVED: &[&str] = &[
    // C11 keywords.
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "_Alignas",
    "_Alignof",
    "_Atomic",
    "_Bool",
    "_Complex",
    "_Generic",
    "_Imaginary",
    "_Noreturn",
    "_Static_assert",
    "_Thread_local",
    // C23 keywords, which C11 headers define as macros.
    "alignas",
    "alignof",
    "bool",
    "constexpr",
    "false",
    "nullptr",
    "static_assert",
    "thread_local",
    "true",
    "typeof",
    "typeof_unqual",
    // Macros of the standard headers and of GNU C's predefined ones.
    "NULL",
    "offsetof",
    "errno",
    "EOF",
    "complex",
    "imaginary",
    "noreturn",
    "linux",
    "unix",
    "i386",
];

/// A field name as a C member: ASCII, and neither reserved nor a macro
/// this header or `<stdint.h>` defines.
fn member_identifier(name: &str) -> String {
    let mut id = ascii_identifier(name);
    if RESERVED.contains(&id.as_str()) || is_macro_like(&id) {
        id.push('_');
    }
    id
}

/// A struct name as a C typedef name: as a member, and also none of the
/// interface's names (`shm_*`) or the standard headers' types.
fn type_identifier(name: &str) -> String {
    let mut id = member_identifier(name);
    let standard_type = id.ends_with("_t")
        && (id.starts_with("int")
            || id.starts_with("uint")
            || ["size_t", "ptrdiff_t", "max_align_t", "wchar_t"].contains(&id.as_str()));
    if standard_type || id.starts_with("shm_") {
        id.push('_');
    }
    id
}

/// Names of the macros this header, `shm.h` and `<stdint.h>` define.
fn is_macro_like(id: &str) -> bool {
    let upper = id
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    upper
        && (id.starts_with("SHM_")
            || id.ends_with("_FINGERPRINT")
            || id.ends_with("_CHECK_LAYOUT")
            || [
                "INT",
                "UINT",
                "SIZE_",
                "PTRDIFF_",
                "WCHAR_",
                "WINT_",
                "SIG_ATOMIC_",
            ]
            .iter()
            .any(|prefix| id.starts_with(prefix)))
}

/// `name` with each character outside ASCII written as `u` and its code
/// point in hex (`größe`: `gru00f6_u00df_e`), which any C compiler takes.
fn ascii_identifier(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
        } else {
            let _ = write!(id, "u{:04x}_", u32::from(c));
        }
    }
    id
}

/// `candidate`, or `candidate_2`, `_3`, ... if taken; then taken.
fn unique(candidate: String, taken: &mut HashSet<String>) -> String {
    let mut name = candidate.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{candidate}_{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// `SensorBoard`: `SENSOR_BOARD`; `sensor_board`: `SENSOR_BOARD`.
fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut after_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && after_lower {
            out.push('_');
        }
        after_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm_runtime::{FieldDesc, SharedState};

    #[derive(SharedState, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct Point {
        x: i16,
        y: i16,
    }

    #[derive(SharedState, Clone, Copy, Debug, Default)]
    #[repr(C)]
    struct SensorBoard {
        total: u64,
        corners: [Point; 2],
        grid: [[u8; 3]; 2],
        _pad: [u8; 2],
        ratio: f32,
        level: i32,
        size: usize,
    }

    #[test]
    fn typedefs_come_nested_first_with_every_field_pinned() {
        let text = c_declaration(&Schema::of::<SensorBoard>());
        let point = text.find("typedef struct Point {").unwrap();
        let board = text.find("typedef struct SensorBoard {").unwrap();
        assert!(point < board);
        for line in [
            "    int16_t x;",
            "    Point corners[2];",
            "    uint8_t grid[2][3];",
            "    uint8_t _pad[2];",
            "    uintptr_t size;",
            "_Static_assert(offsetof(SensorBoard, ratio) == 24, \"SensorBoard.ratio: offset\");",
            "_Static_assert(offsetof(Point, y) == 2, \"Point.y: offset\");",
            "_Static_assert(sizeof(((SensorBoard *)0)->grid) == 6, \"SensorBoard.grid: size\");",
            "_Static_assert(sizeof(SensorBoard) == 40, \"SensorBoard: size\");",
            "_Static_assert(_Alignof(SensorBoard) == 8, \"SensorBoard: alignment\");",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        let fingerprint = format!(
            "#define SENSOR_BOARD_FINGERPRINT {:#018x}ULL",
            SensorBoard::FINGERPRINT
        );
        assert!(text.contains(&fingerprint), "{text}");
        assert!(text.contains("#define SENSOR_BOARD_CHECK_LAYOUT(region)"));
        assert!(text.contains(HEADER), "the interface is embedded verbatim");
        assert_eq!(text.matches("typedef struct Point {").count(), 1);
    }

    #[test]
    fn names_c_cannot_take_get_a_spelling_of_their_own() {
        let fields = vec![
            ("int".to_owned(), Primitive::U32.into()),
            ("int_".to_owned(), Primitive::U32.into()),
            ("größe".to_owned(), Primitive::U32.into()),
            ("SHM_OK".to_owned(), Primitive::U32.into()),
            ("errno".to_owned(), Primitive::U32.into()),
            ("X".to_owned(), Primitive::U32.into()),
        ];
        let desc = StructDesc::repr_c("size_t", fields).unwrap();
        let text = c_declaration(&Schema::new(desc));
        for line in [
            "typedef struct size_t_ {",
            "    uint32_t int_; /* `int` in the schema */",
            "    uint32_t int__2; /* `int_` in the schema */",
            "    uint32_t gru00f6_u00df_e; /* `größe` in the schema */",
            "    uint32_t SHM_OK_; /* `SHM_OK` in the schema */",
            "    uint32_t errno_; /* `errno` in the schema */",
            "    uint32_t X;\n",
            "#define SIZE_T__FINGERPRINT",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn nested_structs_of_one_name_and_two_layouts_get_two_names() {
        let a = StructDesc::repr_c("Inner", vec![("a".to_owned(), Primitive::U8.into())]).unwrap();
        let b = StructDesc::repr_c("Inner", vec![("b".to_owned(), Primitive::U8.into())]).unwrap();
        let outer = StructDesc::from_parts(
            "Inner",
            3,
            1,
            vec![
                FieldDesc::new("first", 0, a.clone().into()),
                FieldDesc::new("second", 1, b.into()),
                FieldDesc::new("third", 2, a.into()),
            ],
        )
        .unwrap();
        let text = c_declaration(&Schema::new(outer));
        assert!(
            text.contains("typedef struct Inner {\n    Inner_2 first;"),
            "{text}"
        );
        assert!(text.contains("    Inner_3 second;"), "{text}");
        assert!(text.contains("    Inner_2 third;"), "{text}");
        assert_eq!(text.matches("typedef struct Inner_2 {").count(), 1);
    }

    #[test]
    fn upper_snake_splits_words() {
        assert_eq!(upper_snake("SensorBoard"), "SENSOR_BOARD");
        assert_eq!(upper_snake("sensor_board2D"), "SENSOR_BOARD2_D");
        assert_eq!(upper_snake("HTTP"), "HTTP");
    }
}
