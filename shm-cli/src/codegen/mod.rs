//! Declarations of a region's struct in source code, from its schema: the
//! structs to declare, nested ones first, each under a name the language
//! accepts; `c.rs`, `rust.rs` and `python.rs` write the syntax.
//!
//! The layout fingerprint covers field names, types, offsets, sizes and
//! alignments, not struct names; so a struct whose name the language
//! reserves, or that two different nested structs share, can be declared
//! under another name and still open the region.

pub mod c;
pub mod python;
pub mod rust;

use std::collections::HashSet;

use shm_runtime::schema::{StructDesc, TypeDesc};

/// A struct to declare.
#[derive(Debug)]
pub struct Declared<'s> {
    /// The name to declare it under.
    pub name: String,
    pub desc: &'s StructDesc,
}

impl Declared<'_> {
    /// Whether it is declared under another name than the schema's.
    pub fn renamed(&self) -> bool {
        self.name != self.desc.name()
    }
}

/// How a language spells names, and what it reserves.
pub trait Naming {
    /// The language's spelling of a schema name, before clashes are
    /// resolved (as it is, unless the language cannot take some of its
    /// characters).
    fn spell(&self, name: &str) -> String {
        name.to_owned()
    }

    /// Whether `name` cannot be a struct's name (a keyword, a built-in type
    /// that the declarations use). Numbering must lead out of it: only
    /// finitely many of `name2`, `name3`... may be reserved.
    fn reserved(&self, name: &str) -> bool;

    /// Other names that declaring a struct `name` takes (a derive's
    /// generated types).
    fn implied(&self, _name: &str) -> Vec<String> {
        Vec::new()
    }
}

/// Every distinct struct of the layout, each after the structs its fields
/// use, the root last; equal nested structs are declared once.
pub fn structs<'s>(root: &'s StructDesc, naming: &dyn Naming) -> Vec<Declared<'s>> {
    let mut order: Vec<&'s StructDesc> = Vec::new();
    collect(root, &mut order);
    // The root keeps its own name if it can: it is the one users know.
    let mut names: Vec<Option<String>> = vec![None; order.len()];
    let mut taken = Taken::default();
    let root_at = order.len() - 1;
    names[root_at] = Some(taken.claim(order[root_at].name(), naming));
    for (i, desc) in order.iter().enumerate().take(root_at) {
        names[i] = Some(taken.claim(desc.name(), naming));
    }
    order
        .into_iter()
        .zip(names)
        .map(|(desc, name)| Declared {
            name: name.unwrap_or_else(|| desc.name().to_owned()),
            desc,
        })
        .collect()
}

/// Post-order: the structs `s` uses, then `s`, each once.
fn collect<'s>(s: &'s StructDesc, order: &mut Vec<&'s StructDesc>) {
    for field in s.fields() {
        collect_type(&field.ty, order);
    }
    if !order.contains(&s) {
        order.push(s);
    }
}

fn collect_type<'s>(ty: &'s TypeDesc, order: &mut Vec<&'s StructDesc>) {
    match ty {
        TypeDesc::Primitive(_) => {}
        TypeDesc::Array { element, .. } => collect_type(element, order),
        TypeDesc::Struct(s) => collect(s, order),
    }
}

/// The names a scope has given out: the structs of a declaration, or the
/// members of one struct.
#[derive(Debug, Default)]
pub struct Taken(HashSet<String>);

impl Taken {
    /// `name` as the language spells it, or that with `2`, `3`... (`_2`
    /// after a digit) appended, the first that is free, with the names it
    /// implies; marks them taken.
    pub fn claim(&mut self, name: &str, naming: &dyn Naming) -> String {
        let taken = &self.0;
        let free = |candidate: &str| {
            !naming.reserved(candidate)
                && !taken.contains(candidate)
                && naming.implied(candidate).iter().all(|n| !taken.contains(n))
        };
        let spelled = naming.spell(name);
        let mut candidate = spelled.clone();
        let mut n = 2u64;
        while !free(&candidate) {
            candidate = if spelled.ends_with(|c: char| c.is_ascii_digit()) {
                format!("{spelled}_{n}")
            } else {
                format!("{spelled}{n}")
            };
            n += 1;
        }
        self.0.extend(naming.implied(&candidate));
        self.0.insert(candidate.clone());
        candidate
    }
}

/// The name a struct is declared under.
pub fn name_of<'a>(declared: &'a [Declared<'_>], desc: &'a StructDesc) -> &'a str {
    declared
        .iter()
        .find(|d| d.desc == desc)
        .map_or(desc.name(), |d| d.name.as_str())
}

/// The alignment the fields alone give a struct; a struct aligned more
/// than that was declared with `align(N)`.
pub fn natural_align(desc: &StructDesc) -> usize {
    desc.fields()
        .iter()
        .map(|f| f.ty.align())
        .max()
        .unwrap_or(1)
}

/// The first line of a declaration's comment: what it declares.
pub fn summary(root: &StructDesc) -> String {
    format!(
        "`{}`: {} bytes, align {}, layout fingerprint {}",
        root.name(),
        root.size(),
        root.align(),
        crate::render::fingerprint_text(root.fingerprint())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::point;
    use shm_runtime::Primitive;

    struct Strict;
    impl Naming for Strict {
        fn reserved(&self, name: &str) -> bool {
            name == "u8"
        }
        fn implied(&self, name: &str) -> Vec<String> {
            vec![format!("{name}View")]
        }
    }

    #[test]
    fn nested_structs_come_first_once_each_under_free_names() {
        let small = point("Point", Primitive::I16);
        let wide = point("Point", Primitive::I32);
        let reserved = point("u8", Primitive::U8);
        let view = point("PointView", Primitive::U8);
        let root = StructDesc::repr_c(
            "Point",
            vec![
                ("a".to_owned(), small.clone().into()),
                ("b".to_owned(), TypeDesc::array(small.into(), 2)),
                ("c".to_owned(), wide.into()),
                ("d".to_owned(), reserved.into()),
                ("e".to_owned(), view.into()),
            ],
        )
        .unwrap();
        let declared = structs(&root, &Strict);
        let names: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["Point2", "Point3", "u8_2", "PointView2", "Point"]);
        assert!(declared[0].renamed());
        assert!(!declared[4].renamed());
        assert_eq!(name_of(&declared, declared[1].desc), "Point3");
    }
}
