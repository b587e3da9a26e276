//! Time, sleeping, yielding and spinning, as the protocols use them:
//! `std`'s, or the model's under `--cfg loom` (`model::clock`: each look at
//! the clock moves it on by a liveness period; sleeping and spinning yield
//! to loom's scheduler).
//!
//! Without loom these are `std`'s items themselves.

pub(crate) use std::time::Duration;

#[cfg(loom)]
pub(crate) use super::model::clock::{sleep, Instant};
#[cfg(loom)]
pub(crate) use loom::{hint::spin_loop, thread::yield_now};
#[cfg(not(loom))]
pub(crate) use std::{
    hint::spin_loop,
    thread::{sleep, yield_now},
    time::Instant,
};
