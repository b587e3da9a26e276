//! What shm's tests share: where a region lives ([`Target`]), a seeded
//! random source ([`Rng`]), generated layouts and values ([`layouts`]), the
//! generated-layout crash harness ([`crash`]), the structs of the
//! multi-process tests ([`fixtures`], re-exported here), the soak
//! ([`soak`]) and the open-path checks the fuzz targets share
//! ([`open_check`]). Its `tests/` are the runtime's multi-process tests,
//! which start its helper process `shm-test-child` (tokio's
//! `tests-integration` shape: a binary the tests can name).
//!
//! Not published: tests of the workspace's crates depend on it.

pub mod c;
pub mod crash;
pub mod fixtures;
pub mod layouts;
pub mod open_check;
mod rng;
pub mod soak;
mod target;

pub use fixtures::*;
pub use rng::Rng;
pub use target::{Scratch, Target};
