//! Generated layouts and values: the structs users bring, not the ones we
//! chose. Every size from 1 byte to a bound, fields of every width at
//! every offset their alignment allows (gaps filled as a user would, with
//! smaller scalars or an explicit `[u8; N]`), nested structs, arrays of
//! scalars and of structs, and struct alignments up to a page.

use shm_runtime::{FieldDesc, Primitive, Schema, StructDesc, TypeDesc};

use crate::Rng;

/// `count` scalars of `width` bytes each, back to back from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scalars {
    pub offset: usize,
    pub width: usize,
    pub count: usize,
}

/// A generated layout and where its scalars are.
#[derive(Clone, Debug)]
pub struct Layout {
    pub schema: Schema,
    /// Every scalar, in offset order, covering the struct without gaps.
    pub scalars: Vec<Scalars>,
}

impl Layout {
    /// A random layout of about `1..=max_size` bytes (sizes spread evenly
    /// over powers of two, so small structs come as often as large ones).
    pub fn random(rng: &mut Rng, max_size: usize) -> Layout {
        // A third at most 256 bytes (journaled as whole copies), the rest
        // above (journaled as changed ranges, or copies when many change).
        let target = if rng.percent(33) {
            rng.log_range(1, 256.min(max_size))
        } else {
            rng.log_range(257.min(max_size), max_size)
        };
        let mut names = 0;
        let root = random_struct(rng, &mut names, 0, target, true);
        let schema = Schema::new(root);
        let mut scalars = Vec::new();
        push_scalars(&TypeDesc::Struct(schema.root().clone()), 0, &mut scalars);
        Layout { schema, scalars }
    }

    pub fn size(&self) -> usize {
        self.schema.size()
    }

    /// How many scalars the struct holds.
    pub fn scalar_count(&self) -> usize {
        self.scalars.iter().map(|s| s.count).sum()
    }

    /// The offset and width of scalar number `index`.
    pub fn scalar(&self, mut index: usize) -> (usize, usize) {
        for run in &self.scalars {
            if index < run.count {
                return (run.offset + index * run.width, run.width);
            }
            index -= run.count;
        }
        panic!("scalar {index} past the end")
    }

    /// Random bytes for the whole struct: every bit pattern is a valid
    /// value of every scalar type.
    pub fn random_value(&self, rng: &mut Rng) -> Vec<u8> {
        let mut bytes = vec![0; self.size()];
        rng.fill(&mut bytes);
        bytes
    }

    /// `value` with every scalar of `spans` random spans of consecutive
    /// scalars changed (each to a value that differs from the old one).
    /// A span is one scalar, a few, or (now and then) a long stretch.
    pub fn change(&self, rng: &mut Rng, value: &[u8], spans: usize) -> Vec<u8> {
        let mut out = value.to_vec();
        let total = self.scalar_count();
        for _ in 0..spans {
            let first = rng.range(0..=total - 1);
            let room = total - first;
            let len = match rng.range(0..=9) {
                0..=5 => 1,
                6..=8 => rng.range(1..=room.min(8)),
                _ => rng.log_range(1, room),
            };
            for index in first..first + len {
                let (at, width) = self.scalar(index);
                let mut fresh = [0u8; 8];
                rng.fill(&mut fresh[..width]);
                // A non-zero XOR in the first byte: the scalar changes.
                fresh[0] |= 1;
                for (b, x) in out[at..at + width].iter_mut().zip(fresh) {
                    *b ^= x;
                }
            }
        }
        out
    }

    /// The separate byte ranges in which `a` and `b` differ, scalar by
    /// scalar, adjacent changed scalars merged: what a publish journals.
    pub fn changed_ranges(&self, a: &[u8], b: &[u8]) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for run in &self.scalars {
            for i in 0..run.count {
                let at = run.offset + i * run.width;
                let end = at + run.width;
                if a[at..end] != b[at..end] {
                    match ranges.last_mut() {
                        Some(last) if last.1 == at => last.1 = end,
                        _ => ranges.push((at, end)),
                    }
                }
            }
        }
        ranges
    }

    /// How many scalars differ between `a` and `b`.
    pub fn changed_scalars(&self, a: &[u8], b: &[u8]) -> usize {
        let mut changed = 0;
        for run in &self.scalars {
            for i in 0..run.count {
                let at = run.offset + i * run.width;
                changed += usize::from(a[at..at + run.width] != b[at..at + run.width]);
            }
        }
        changed
    }

    /// One line about the layout, for failure messages.
    pub fn summary(&self) -> String {
        let root = self.schema.root();
        format!(
            "{} bytes, align {}, {} fields at top, {} scalars",
            root.size(),
            root.align(),
            root.fields().len(),
            self.scalar_count()
        )
    }
}

/// A struct of about `target` bytes (at least one scalar).
fn random_struct(
    rng: &mut Rng,
    names: &mut usize,
    depth: usize,
    target: usize,
    root: bool,
) -> StructDesc {
    *names += 1;
    let name = format!("S{}", *names);
    let mut fields: Vec<FieldDesc> = Vec::new();
    let mut end = 0usize;
    let mut align = 1usize;
    // Now and then an explicit alignment, as `#[repr(C, align(N))]`.
    if rng.percent(if root { 15 } else { 10 }) {
        align = *rng.pick(&[2, 4, 8, 16, 32, 64, 128, 4096][..if root { 8 } else { 7 }]);
    }
    let max_fields = rng.range(1..=12);
    while fields.is_empty() || (end < target && fields.len() < max_fields) {
        let room = target.saturating_sub(end).max(1);
        let ty = if fields.len() + 1 >= max_fields {
            // The last field takes the rest of the room.
            let p = *rng.pick(&Primitive::ALL);
            TypeDesc::array(p.into(), (room / p.size()).max(1))
        } else {
            random_type(rng, names, depth, room)
        };
        let field_align = ty.align();
        let aligned = end.next_multiple_of(field_align);
        fill(rng, &mut fields, &mut end, aligned);
        align = align.max(field_align);
        let name = format!("f{}", fields.len());
        end += ty.size();
        fields.push(FieldDesc::new(name, end - ty.size(), ty));
    }
    let size = end.next_multiple_of(align);
    fill(rng, &mut fields, &mut end, size);
    StructDesc::from_parts(name, size, align, fields)
        .unwrap_or_else(|e| panic!("a generated layout is valid: {e}"))
}

/// A field's type of about `room` bytes at most (a scalar may exceed it).
fn random_type(rng: &mut Rng, names: &mut usize, depth: usize, room: usize) -> TypeDesc {
    let nested = depth < 3;
    let primitive = |rng: &mut Rng| *rng.pick(&Primitive::ALL);
    match rng.range(0..=9) {
        0..=4 => primitive(rng).into(),
        5..=7 => {
            let p = primitive(rng);
            let most = (room / p.size()).max(1);
            // Now and then the rest of the room: the large sizes.
            let len = if rng.percent(30) {
                most
            } else {
                rng.log_range(1, most)
            };
            TypeDesc::array(p.into(), len)
        }
        8 if nested => {
            let inner = rng.log_range(1, room.min(4096));
            random_struct(rng, names, depth + 1, inner, false).into()
        }
        9 if nested => {
            let inner = rng.log_range(1, 64);
            let element = random_struct(rng, names, depth + 1, inner, false);
            let len = rng.range(1..=(room / element.size()).clamp(1, 16));
            TypeDesc::array(element.into(), len)
        }
        _ => primitive(rng).into(),
    }
}

/// Fills `end..to` with fields, as a user fills a gap by hand: one
/// `[u8; N]`, or scalars each at an offset aligned for it.
fn fill(rng: &mut Rng, fields: &mut Vec<FieldDesc>, end: &mut usize, to: usize) {
    if *end == to {
        return;
    }
    if to - *end > 64 || rng.percent(50) {
        let name = format!("_pad{}", fields.len());
        fields.push(FieldDesc::new(
            name,
            *end,
            TypeDesc::array(Primitive::U8.into(), to - *end),
        ));
        *end = to;
        return;
    }
    while *end < to {
        let fits: Vec<Primitive> = Primitive::ALL
            .iter()
            .copied()
            .filter(|p| *end % p.size() == 0 && *end + p.size() <= to)
            .collect();
        let p = *rng.pick(&fits);
        fields.push(FieldDesc::new(format!("f{}", fields.len()), *end, p.into()));
        *end += p.size();
    }
}

fn push_scalars(ty: &TypeDesc, base: usize, out: &mut Vec<Scalars>) {
    match ty {
        TypeDesc::Primitive(p) => add(out, base, p.size(), 1),
        TypeDesc::Array { element, len } => match element.as_primitive() {
            Some(p) => add(out, base, p.size(), *len),
            None => (0..*len).for_each(|i| push_scalars(element, base + i * element.size(), out)),
        },
        TypeDesc::Struct(s) => s
            .fields()
            .iter()
            .for_each(|f| push_scalars(&f.ty, base + f.offset, out)),
    }
}

fn add(out: &mut Vec<Scalars>, offset: usize, width: usize, count: usize) {
    if let Some(last) = out.last_mut() {
        if last.width == width && last.offset + last.width * last.count == offset {
            last.count += count;
            return;
        }
    }
    out.push(Scalars {
        offset,
        width,
        count,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_layouts_are_valid_and_cover_every_byte() {
        let mut rng = Rng::new(0x5eed);
        let mut sizes_not_multiple_of_16 = 0;
        for _ in 0..500 {
            let layout = Layout::random(&mut rng, 1 << 20);
            let mut end = 0;
            for s in &layout.scalars {
                assert_eq!(s.offset, end, "{}", layout.summary());
                assert_eq!(s.offset % s.width, 0);
                end += s.width * s.count;
            }
            assert_eq!(end, layout.size());
            sizes_not_multiple_of_16 += usize::from(layout.size() % 16 != 0);
            let value = layout.random_value(&mut rng);
            let changed = layout.change(&mut rng, &value, 3);
            assert!(!layout.changed_ranges(&value, &changed).is_empty());
        }
        assert!(sizes_not_multiple_of_16 > 50, "{sizes_not_multiple_of_16}");
    }
}
