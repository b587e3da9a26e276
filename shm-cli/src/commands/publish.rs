//! `shm publish REGION --key KEY [--listen E]... [--connect E]... [--config FILE]`.

use std::io::Write;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::signals;

/// Serve a region's state under a Zenoh key, for `shm mirror` on other
/// machines.
///
/// Every change reaches the mirrors: version moves at once, field-level
/// writes (which do not move the version) within the polling interval.
/// States are numbered by the publisher itself (a sequence, and an epoch
/// that changes when a publisher restarts). A second live publisher on the
/// same key is refused. Runs until SIGINT or SIGTERM (exit 0).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm publish such_foo --key lab/foo --listen tcp/0.0.0.0:7447
  shm mirror  such_foo --key lab/foo --connect tcp/192.168.1.2:7447   (on another machine)

Multicast scouting is off: give endpoints (or a Zenoh configuration file).")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    region: String,
    #[command(flatten)]
    pub bridge: BridgeArgs,
}

/// Where a publisher or mirror reaches the others.
#[derive(Debug, clap::Args)]
pub struct BridgeArgs {
    /// The Zenoh key the state is published under, e.g. `lab/foo`
    #[arg(long)]
    pub key: String,
    /// A Zenoh locator to listen on, e.g. `tcp/0.0.0.0:7447` (repeatable)
    #[arg(long = "listen", value_name = "ENDPOINT")]
    pub listen: Vec<String>,
    /// A Zenoh locator to connect to, e.g. `tcp/192.168.1.2:7447` (repeatable)
    #[arg(long = "connect", value_name = "ENDPOINT")]
    pub connect: Vec<String>,
    /// A Zenoh JSON5 configuration file to start from
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl BridgeArgs {
    pub fn config(&self) -> shm_zenoh::BridgeConfig {
        shm_zenoh::BridgeConfig {
            listen: self.listen.clone(),
            connect: self.connect.clone(),
            config_file: self.config.clone(),
            ..Default::default()
        }
    }
}

pub fn run(args: &Args, _out: &mut dyn Write) -> Result<()> {
    // First, before any other thread exists (see `signals`).
    let stop = signals::stop_on_interrupt()
        .map_err(|e| Error::Message(format!("cannot set up SIGINT and SIGTERM handling: {e}")))?;
    shm_zenoh::run_publish(
        &args.region,
        &args.bridge.key,
        &args.bridge.config(),
        stop.flag(),
    )
    .map_err(|e| Error::Message(e.to_string()))
}
