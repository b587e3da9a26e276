// Every scalar type, with every cell operation the API promises.
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Scalars {
    pub u64_: u64,
    pub i64_: i64,
    pub usize_: usize,
    pub isize_: isize,
    pub f64_: f64,
    pub u32_: u32,
    pub i32_: i32,
    pub f32_: f32,
    pub u16_: u16,
    pub i16_: i16,
    pub u8_: u8,
    pub i8_: i8,
    pub _pad: [u8; 6],
}

fn integer_ops(s: &Shared<Scalars>) {
    let _: u64 = s.u64_.get();
    s.i64_.set(-1);
    let _: usize = s.usize_.swap(7);
    let _: isize = s.isize_.fetch_add(1);
    let _: u32 = s.u32_.fetch_sub(1);
    let _: i32 = s.i32_.fetch_and(0xff);
    let _: u16 = s.u16_.fetch_or(1);
    let _: i16 = s.i16_.fetch_xor(1);
    let _: u8 = s.u8_.fetch_max(9);
    let _: i8 = s.i8_.fetch_min(-9);
    let _: Result<u64, u64> = s.u64_.compare_exchange(7, 8);
}

fn float_ops(s: &Shared<Scalars>) {
    let _: f64 = s.f64_.get();
    s.f32_.set(1.5);
    let _: f32 = s.f32_.swap(2.5);
    let _: Result<f64, f64> = s.f64_.compare_exchange(0.0, 1.0);
}

fn main() {
    let _ = (integer_ops, float_ops);
    assert_eq!(core::mem::size_of::<Scalars>(), 64);
    assert_eq!(core::mem::size_of::<ScalarsView>(), 64);
    let value = Scalars {
        i64_: -5,
        f32_: 0.25,
        ..Scalars::default()
    };
    assert_eq!(Scalars::from_bytes(value.as_bytes()).unwrap(), value);
}
