//! The rows of the suite, by how they run.

pub mod ipc;
pub mod local;
pub mod mmap_sync;
pub mod python;
pub mod wait_cpu;
pub mod whole;
pub mod zenoh;
