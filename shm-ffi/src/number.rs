//! The C number types fields are read and written as (`int64_t`,
//! `uint64_t`, `double`), and which field types each can stand for.
//!
//! Writes are range-checked by the runtime, value by value. Reads, and the
//! old value a `fetch_add` returns, are checked by type instead: the C type
//! must hold every value of the field's type. A check by value would make
//! `shm_get_i64` on a `u64` counter work until the day the counter passes
//! 2^63; a check by type fails on the first call.

use shm_runtime::{Primitive, Value};

/// `int64_t`, `uint64_t` or `double`.
pub(crate) trait CNumber: Copy {
    /// The C type's name, for messages.
    const C_TYPE: &'static str;

    /// Whether this type holds every value of `primitive` exactly.
    fn holds_every(primitive: Primitive) -> bool;

    /// The value as C sees it; exact when `holds_every` said so for the
    /// field the value came from.
    fn from_value(value: Value) -> Self;

    /// The value to give the runtime, which checks it against the field.
    fn into_value(self) -> Value;
}

impl CNumber for i64 {
    const C_TYPE: &'static str = "int64_t";

    fn holds_every(primitive: Primitive) -> bool {
        use Primitive::*;
        matches!(primitive, I8 | I16 | I32 | I64 | Isize | U8 | U16 | U32)
    }

    fn from_value(value: Value) -> i64 {
        match value {
            Value::Signed(v) => v,
            Value::Unsigned(v) => v as i64,
            Value::F32(v) => v as i64,
            Value::F64(v) => v as i64,
        }
    }

    fn into_value(self) -> Value {
        Value::Signed(self)
    }
}

impl CNumber for u64 {
    const C_TYPE: &'static str = "uint64_t";

    fn holds_every(primitive: Primitive) -> bool {
        use Primitive::*;
        matches!(primitive, U8 | U16 | U32 | U64 | Usize)
    }

    fn from_value(value: Value) -> u64 {
        match value {
            Value::Signed(v) => v as u64,
            Value::Unsigned(v) => v,
            Value::F32(v) => v as u64,
            Value::F64(v) => v as u64,
        }
    }

    fn into_value(self) -> Value {
        Value::Unsigned(self)
    }
}

impl CNumber for f64 {
    const C_TYPE: &'static str = "double";

    fn holds_every(primitive: Primitive) -> bool {
        use Primitive::*;
        matches!(primitive, F32 | F64 | I8 | I16 | I32 | U8 | U16 | U32)
    }

    fn from_value(value: Value) -> f64 {
        match value {
            Value::Signed(v) => v as f64,
            Value::Unsigned(v) => v as f64,
            Value::F32(v) => f64::from(v),
            Value::F64(v) => v,
        }
    }

    fn into_value(self) -> Value {
        Value::F64(self)
    }
}

/// The variant of the interface that fits a field of type `primitive`, for
/// messages: `_i64`, `_u64` or `_f64`.
pub(crate) fn suffix_for(primitive: Primitive) -> &'static str {
    if <i64 as CNumber>::holds_every(primitive) {
        "_i64"
    } else if <u64 as CNumber>::holds_every(primitive) {
        "_u64"
    } else {
        "_f64"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_type_has_a_c_type_that_holds_it() {
        for p in Primitive::ALL {
            let holders = [
                <i64 as CNumber>::holds_every(p),
                <u64 as CNumber>::holds_every(p),
                <f64 as CNumber>::holds_every(p),
            ];
            assert!(holders.contains(&true), "{p:?}");
            let suffix = suffix_for(p);
            let fits = match suffix {
                "_i64" => holders[0],
                "_u64" => holders[1],
                _ => holders[2],
            };
            assert!(fits, "{p:?} -> {suffix}");
        }
    }

    #[test]
    fn the_extremes_of_each_held_type_convert_exactly() {
        assert_eq!(
            i64::from_value(Value::Unsigned(u64::from(u32::MAX))),
            4294967295
        );
        assert_eq!(i64::from_value(Value::Signed(i64::MIN)), i64::MIN);
        assert_eq!(u64::from_value(Value::Unsigned(u64::MAX)), u64::MAX);
        assert_eq!(
            f64::from_value(Value::Signed(i64::from(i32::MIN))),
            -2147483648.0
        );
        assert_eq!(f64::from_value(Value::F32(0.1)), f64::from(0.1f32));
        assert!(!<f64 as CNumber>::holds_every(Primitive::U64));
        assert!(!<i64 as CNumber>::holds_every(Primitive::U64));
        assert!(!<u64 as CNumber>::holds_every(Primitive::I8));
    }
}
