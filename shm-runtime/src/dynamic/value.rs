//! One scalar of a region, read or written by its type at run time: the
//! value type, parsing and range checks, and the atomic operations at the
//! scalar's own width.

use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};

use crate::layout::Primitive;

/// A scalar's value, whatever its type: integers keep their sign, floats
/// their width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// An unsigned integer field (`u8` .. `u64`, `usize`).
    Unsigned(u64),
    /// A signed integer field (`i8` .. `i64`, `isize`).
    Signed(i64),
    /// An `f32` field.
    F32(f32),
    /// An `f64` field (or any float given for a field).
    F64(f64),
}

impl fmt::Display for Value {
    /// Integers in decimal; floats in the shortest form that reads back to
    /// the same value of their own width (Rust's `Display`), `inf`, `-inf`
    /// and `NaN` included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unsigned(v) => write!(f, "{v}"),
            Value::Signed(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
        }
    }
}

/// Why a value does not fit a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    /// What the field holds, e.g. "u8 (0 to 255)".
    pub expected: String,
    /// What was given.
    pub found: String,
}

/// The range a type's values span, for messages.
fn describe(primitive: Primitive) -> String {
    let name = primitive.name();
    match primitive {
        Primitive::F32 | Primitive::F64 => format!("{name} (a number, inf, -inf or NaN)"),
        _ => {
            let (min, max) = int_range(primitive);
            format!("{name} ({min} to {max})")
        }
    }
}

fn is_signed(primitive: Primitive) -> bool {
    matches!(
        primitive,
        Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64 | Primitive::Isize
    )
}

fn is_float(primitive: Primitive) -> bool {
    matches!(primitive, Primitive::F32 | Primitive::F64)
}

/// The smallest and largest value of an integer type.
fn int_range(primitive: Primitive) -> (i128, i128) {
    let bits = primitive.size() as u32 * 8;
    if is_signed(primitive) {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

impl Value {
    /// The value as a field of type `primitive` holds it, checked: an
    /// integer must be in range (a float is not an integer), a float field
    /// takes any number (`f32` rounds to nearest).
    pub fn to_bits(self, primitive: Primitive) -> Result<u64, ValueError> {
        let mismatch = || ValueError {
            expected: describe(primitive),
            found: self.to_string(),
        };
        if is_float(primitive) {
            let v = match self {
                Value::F32(v) if primitive == Primitive::F32 => {
                    return Ok(u64::from(v.to_bits()));
                }
                Value::F32(v) => f64::from(v),
                Value::F64(v) => v,
                Value::Signed(v) => v as f64,
                Value::Unsigned(v) => v as f64,
            };
            return Ok(match primitive {
                Primitive::F32 => u64::from((v as f32).to_bits()),
                _ => v.to_bits(),
            });
        }
        let v: i128 = match self {
            Value::Unsigned(v) => i128::from(v),
            Value::Signed(v) => i128::from(v),
            Value::F32(_) | Value::F64(_) => return Err(mismatch()),
        };
        let (min, max) = int_range(primitive);
        if v < min || v > max {
            return Err(mismatch());
        }
        let bits = primitive.size() as u32 * 8;
        Ok((v as u64) & (u64::MAX >> (64 - bits)))
    }

    /// The value of a field of type `primitive` whose bytes hold `bits`
    /// (zero-extended).
    pub fn from_bits(bits: u64, primitive: Primitive) -> Value {
        let width = primitive.size() as u32 * 8;
        match primitive {
            Primitive::F32 => Value::F32(f32::from_bits(bits as u32)),
            Primitive::F64 => Value::F64(f64::from_bits(bits)),
            p if is_signed(p) => {
                let shift = 64 - width;
                Value::Signed(((bits << shift) as i64) >> shift)
            }
            _ => Value::Unsigned(bits),
        }
    }

    /// The value of a field of type `primitive` whose bytes start `bytes`,
    /// or `None` when `bytes` is shorter than the field.
    ///
    /// A region holds its fields in the machine's own byte order: each is
    /// an atomic in memory, which [`Region::get_at`](crate::Region::get_at)
    /// loads. This reads a copy of those bytes (a snapshot, a private
    /// buffer) the same way, so every language's reading of a byte copy
    /// agrees with the atomic loads.
    pub fn from_ne_bytes(bytes: &[u8], primitive: Primitive) -> Option<Value> {
        fn take<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
            bytes.get(..N)?.try_into().ok()
        }
        let bits = match primitive.size() {
            1 => u64::from(*bytes.first()?),
            2 => u64::from(u16::from_ne_bytes(take(bytes)?)),
            4 => u64::from(u32::from_ne_bytes(take(bytes)?)),
            _ => u64::from_ne_bytes(take(bytes)?),
        };
        Some(Value::from_bits(bits, primitive))
    }

    /// Parses text as a value for a field of type `primitive`: decimal
    /// integers (`-5`, `300`; also `0x1f`), floats (`1.5`, `1e-3`, `inf`,
    /// `-inf`, `NaN`), checked against the type's range.
    pub fn parse(text: &str, primitive: Primitive) -> Result<Value, ValueError> {
        let bad = || ValueError {
            expected: describe(primitive),
            found: format!("{text:?}"),
        };
        let trimmed = text.trim();
        let value = if is_float(primitive) {
            let v = match trimmed {
                "inf" | "+inf" | "Infinity" => f64::INFINITY,
                "-inf" | "-Infinity" => f64::NEG_INFINITY,
                "NaN" | "nan" => f64::NAN,
                _ => trimmed.parse::<f64>().map_err(|_| bad())?,
            };
            if primitive == Primitive::F32 {
                // Parsed at the field's own width, so "0.1" is the f32
                // nearest 0.1, not the f64 nearest rounded again.
                match trimmed.parse::<f32>() {
                    Ok(v) => Value::F32(v),
                    Err(_) => Value::F32(v as f32),
                }
            } else {
                Value::F64(v)
            }
        } else {
            let (negative, digits) = match trimmed.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
            };
            let magnitude = match digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                Some(hex) => u128::from_str_radix(hex, 16),
                None => digits.parse::<u128>(),
            }
            .map_err(|_| bad())?;
            let v = i128::try_from(magnitude).map_err(|_| bad())?;
            let v = if negative { -v } else { v };
            let (min, max) = int_range(primitive);
            if v < min || v > max {
                return Err(bad());
            }
            if is_signed(primitive) {
                Value::Signed(v as i64)
            } else {
                Value::Unsigned(v as u64)
            }
        };
        value.to_bits(primitive).map_err(|_| bad())?;
        Ok(value)
    }
}

/// An atomic read-modify-write on one scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldOp {
    /// Wrapping addition (integers only).
    Add,
    /// Wrapping subtraction (integers only).
    Sub,
    And,
    Or,
    Xor,
    Max,
    Min,
    /// Replace, returning the old value.
    Swap,
}

/// Loads the scalar of type `primitive` at `at` (`Acquire`), zero-extended.
///
/// # Safety
///
/// `at` is valid for `primitive.size()` bytes, aligned to it, and only ever
/// accessed atomically (it may be in a read-only mapping: a load of at most
/// 8 bytes is a plain load).
pub(crate) unsafe fn load(at: *const u8, primitive: Primitive) -> u64 {
    // SAFETY: the caller's promise.
    unsafe {
        match primitive.size() {
            1 => u64::from((*at.cast::<AtomicU8>()).load(Acquire)),
            2 => u64::from((*at.cast::<AtomicU16>()).load(Acquire)),
            4 => u64::from((*at.cast::<AtomicU32>()).load(Acquire)),
            _ => (*at.cast::<AtomicU64>()).load(Acquire),
        }
    }
}

/// Stores `bits` into the scalar of type `primitive` at `at` (`Release`).
///
/// # Safety
///
/// As [`load`], in a writable mapping.
pub(crate) unsafe fn store(at: *const u8, primitive: Primitive, bits: u64) {
    // SAFETY: the caller's promise.
    unsafe {
        match primitive.size() {
            1 => (*at.cast::<AtomicU8>()).store(bits as u8, Release),
            2 => (*at.cast::<AtomicU16>()).store(bits as u16, Release),
            4 => (*at.cast::<AtomicU32>()).store(bits as u32, Release),
            _ => (*at.cast::<AtomicU64>()).store(bits, Release),
        }
    }
}

/// Compare-exchange on the scalar (`AcqRel`, failure `Acquire`): `Ok(old)`
/// if it held `current` and now holds `new`, else `Err(actual)`.
///
/// # Safety
///
/// As [`store`].
pub(crate) unsafe fn compare_exchange(
    at: *const u8,
    primitive: Primitive,
    current: u64,
    new: u64,
) -> Result<u64, u64> {
    // SAFETY: the caller's promise.
    unsafe {
        match primitive.size() {
            1 => (*at.cast::<AtomicU8>())
                .compare_exchange(current as u8, new as u8, AcqRel, Acquire)
                .map(u64::from)
                .map_err(u64::from),
            2 => (*at.cast::<AtomicU16>())
                .compare_exchange(current as u16, new as u16, AcqRel, Acquire)
                .map(u64::from)
                .map_err(u64::from),
            4 => (*at.cast::<AtomicU32>())
                .compare_exchange(current as u32, new as u32, AcqRel, Acquire)
                .map(u64::from)
                .map_err(u64::from),
            _ => (*at.cast::<AtomicU64>()).compare_exchange(current, new, AcqRel, Acquire),
        }
    }
}

/// Applies `op` with `operand` (bits of the field's type) atomically and
/// returns the old bits. One instruction for `swap` and the integer
/// operations the hardware has (`Add`, `Sub`, `And`, `Or`, `Xor`); a
/// compare-exchange loop for `Max`/`Min` (whose order depends on the sign)
/// and for float addition.
///
/// # Safety
///
/// As [`store`].
pub(crate) unsafe fn fetch_op(
    at: *const u8,
    primitive: Primitive,
    op: FieldOp,
    operand: u64,
) -> u64 {
    macro_rules! direct {
        ($atomic:ty, $t:ty) => {{
            // SAFETY: the caller's promise.
            let cell = unsafe { &*at.cast::<$atomic>() };
            let v = operand as $t;
            match op {
                FieldOp::Add => u64::from(cell.fetch_add(v, AcqRel)),
                FieldOp::Sub => u64::from(cell.fetch_sub(v, AcqRel)),
                FieldOp::And => u64::from(cell.fetch_and(v, AcqRel)),
                FieldOp::Or => u64::from(cell.fetch_or(v, AcqRel)),
                FieldOp::Xor => u64::from(cell.fetch_xor(v, AcqRel)),
                FieldOp::Swap => u64::from(cell.swap(v, AcqRel)),
                FieldOp::Max | FieldOp::Min => unreachable!("handled by the loop"),
            }
        }};
    }
    if matches!(op, FieldOp::Max | FieldOp::Min) || is_float(primitive) {
        // SAFETY: the caller's promise.
        let mut old = unsafe { load(at, primitive) };
        loop {
            let new = combine(primitive, op, old, operand);
            // SAFETY: the caller's promise.
            match unsafe { compare_exchange(at, primitive, old, new) } {
                Ok(_) => return old,
                Err(actual) => old = actual,
            }
        }
    }
    match primitive.size() {
        1 => direct!(AtomicU8, u8),
        2 => direct!(AtomicU16, u16),
        4 => direct!(AtomicU32, u32),
        _ => direct!(AtomicU64, u64),
    }
}

/// `op` applied to two values of `primitive`, as bits.
fn combine(primitive: Primitive, op: FieldOp, old: u64, operand: u64) -> u64 {
    let value = |bits| Value::from_bits(bits, primitive);
    let float = |a: f64, b: f64| match op {
        FieldOp::Add => a + b,
        FieldOp::Sub => a - b,
        FieldOp::Max => a.max(b),
        FieldOp::Min => a.min(b),
        _ => b,
    };
    let result = match (value(old), value(operand)) {
        (Value::F32(a), Value::F32(b)) => Value::F32(float(f64::from(a), f64::from(b)) as f32),
        (Value::F64(a), Value::F64(b)) => Value::F64(float(a, b)),
        (Value::Signed(a), Value::Signed(b)) => Value::Signed(match op {
            FieldOp::Max => a.max(b),
            _ => a.min(b),
        }),
        (Value::Unsigned(a), Value::Unsigned(b)) => Value::Unsigned(match op {
            FieldOp::Max => a.max(b),
            _ => a.min(b),
        }),
        _ => value(operand),
    };
    match result {
        Value::F32(v) => u64::from(v.to_bits()),
        Value::F64(v) => v.to_bits(),
        Value::Signed(v) => (v as u64) & mask(primitive),
        Value::Unsigned(v) => v & mask(primitive),
    }
}

fn mask(primitive: Primitive) -> u64 {
    u64::MAX >> (64 - primitive.size() as u32 * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_range_and_kind() {
        assert_eq!(Value::parse("255", Primitive::U8), Ok(Value::Unsigned(255)));
        assert!(Value::parse("256", Primitive::U8).is_err());
        assert!(Value::parse("-1", Primitive::U32).is_err());
        assert_eq!(Value::parse("-128", Primitive::I8), Ok(Value::Signed(-128)));
        assert!(Value::parse("-129", Primitive::I8).is_err());
        assert!(Value::parse("1.5", Primitive::I32).is_err());
        assert!(Value::parse("abc", Primitive::I32).is_err());
        assert_eq!(
            Value::parse("0x1f", Primitive::U16),
            Ok(Value::Unsigned(31))
        );
        assert_eq!(
            Value::parse("18446744073709551615", Primitive::U64),
            Ok(Value::Unsigned(u64::MAX))
        );
        assert!(Value::parse("18446744073709551616", Primitive::U64).is_err());
        assert!(matches!(Value::parse("NaN", Primitive::F32), Ok(Value::F32(v)) if v.is_nan()));
        assert_eq!(
            Value::parse("-inf", Primitive::F64),
            Ok(Value::F64(f64::NEG_INFINITY))
        );
        assert_eq!(
            Value::parse("0.1", Primitive::F32).unwrap().to_string(),
            "0.1"
        );
        let err = Value::parse("300", Primitive::U8).unwrap_err();
        assert_eq!(err.expected, "u8 (0 to 255)");
    }

    #[test]
    fn byte_copies_read_in_the_machine_order_never_past_their_end() {
        let bytes = [0x0201u16.to_ne_bytes(), (-1i16).to_ne_bytes()].concat();
        assert_eq!(
            Value::from_ne_bytes(&bytes, Primitive::U16),
            Some(Value::Unsigned(0x0201))
        );
        assert_eq!(
            Value::from_ne_bytes(&bytes[2..], Primitive::I16),
            Some(Value::Signed(-1))
        );
        let f = 0.1f64.to_ne_bytes();
        assert_eq!(
            Value::from_ne_bytes(&f, Primitive::F64),
            Some(Value::F64(0.1))
        );
        assert_eq!(Value::from_ne_bytes(&bytes[2..], Primitive::U32), None);
        assert_eq!(Value::from_ne_bytes(&[], Primitive::U8), None);
    }

    #[test]
    fn bits_round_trip_with_sign() {
        let bits = Value::Signed(-2).to_bits(Primitive::I16).unwrap();
        assert_eq!(bits, 0xfffe);
        assert_eq!(Value::from_bits(bits, Primitive::I16), Value::Signed(-2));
        let bits = Value::F64(0.1).to_bits(Primitive::F32).unwrap();
        assert_eq!(Value::from_bits(bits, Primitive::F32), Value::F32(0.1));
        assert_eq!(Value::from_bits(bits, Primitive::F32).to_string(), "0.1");
    }

    #[test]
    fn operations_at_each_width() {
        #[repr(align(8))]
        struct Word(std::cell::UnsafeCell<[u8; 8]>);
        let word = Word(std::cell::UnsafeCell::new([0; 8]));
        let at = word.0.get().cast::<u8>().cast_const();
        // SAFETY: `word` is 8-aligned, 8 bytes, private to this test and
        // only accessed through these atomics.
        unsafe {
            store(at, Primitive::U8, 250);
            assert_eq!(fetch_op(at, Primitive::U8, FieldOp::Add, 10), 250);
            assert_eq!(load(at, Primitive::U8), 4, "wraps at the field's width");
            store(
                at,
                Primitive::I32,
                Value::Signed(-5).to_bits(Primitive::I32).unwrap(),
            );
            let old = fetch_op(
                at,
                Primitive::I32,
                FieldOp::Max,
                Value::Signed(-7).to_bits(Primitive::I32).unwrap(),
            );
            assert_eq!(Value::from_bits(old, Primitive::I32), Value::Signed(-5));
            assert_eq!(
                Value::from_bits(load(at, Primitive::I32), Primitive::I32),
                Value::Signed(-5)
            );
            store(at, Primitive::F64, 1.5f64.to_bits());
            fetch_op(at, Primitive::F64, FieldOp::Add, 2.0f64.to_bits());
            assert_eq!(f64::from_bits(load(at, Primitive::F64)), 3.5);
            assert_eq!(
                compare_exchange(at, Primitive::F64, 0, 1),
                Err(3.5f64.to_bits())
            );
        }
    }
}
