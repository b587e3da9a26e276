//! `shm mirror REGION --key KEY [--listen E]... [--connect E]... [--config FILE]`.

use std::io::Write;

use super::publish::BridgeArgs;
use crate::error::{Error, Result};
use crate::signals;

/// Keep a local region equal to the state `shm publish` serves under a
/// Zenoh key.
///
/// The region is created from the publisher's schema when missing; a local
/// region of another layout is refused, naming the difference. A mirror
/// that starts late or reconnects gets the current state at once; each
/// state is applied with one update, so local readers never see a torn
/// value. Writes made locally to the mirror's region are overwritten by the
/// next state (the publisher's state wins). Runs until SIGINT or SIGTERM
/// (exit 0).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm mirror such_foo --key lab/foo --connect tcp/192.168.1.2:7447
  shm mirror /tmp/foo-copy --key lab/foo --config zenoh.json5")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    region: String,
    #[command(flatten)]
    bridge: BridgeArgs,
}

pub fn run(args: &Args, _out: &mut dyn Write) -> Result<()> {
    // First, before any other thread exists (see `signals`).
    let stop = signals::stop_on_interrupt()
        .map_err(|e| Error::Message(format!("cannot set up SIGINT and SIGTERM handling: {e}")))?;
    shm_zenoh::run_mirror(
        &args.region,
        &args.bridge.key,
        &args.bridge.config(),
        stop.flag(),
    )
    .map_err(|e| Error::Message(e.to_string()))
}
