//! The same region kept in step on several machines, over Zenoh.
//!
//! This crate's first piece is what goes on the wire: [`wire`] encodes and
//! decodes the messages, [`delta`] finds the bytes that changed.

pub mod delta;
pub mod wire;
