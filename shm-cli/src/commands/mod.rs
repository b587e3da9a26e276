//! One subcommand per file: its arguments (with their help) and what it
//! does. Each `run` writes its output to `out` and returns what went wrong.

pub mod check;
pub mod codegen;
pub mod get;
pub mod ls;
#[cfg(feature = "zenoh")]
pub mod mirror;
#[cfg(feature = "zenoh")]
pub mod publish;
pub mod rm;
pub mod set;
pub mod show;
pub mod watch;
pub mod who;
