//! What shm's tests share: where a region lives ([`Target`]), a seeded
//! random source ([`Rng`]), generated layouts and values ([`layouts`]), and
//! the generated-layout crash harness ([`crash`]).
//!
//! Not published: tests of the workspace's crates depend on it.

pub mod crash;
pub mod layouts;
mod rng;
mod target;

pub use rng::Rng;
pub use target::{Scratch, Target};
