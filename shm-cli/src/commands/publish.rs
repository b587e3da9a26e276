//! `shm publish REGION --key KEY [--listen E]... [--connect E]... [--config FILE] [--poll-ms N]`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use shm_zenoh::{parse_key, BridgeConfig, PublishOptions, Publisher};

use crate::error::{Error, Result};
use crate::region_arg::RegionArg;
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
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    #[command(flatten)]
    bridge: BridgeArgs,
    /// How often to compare snapshots, in milliseconds, to notice
    /// field-level writes (version moves are noticed at once)
    #[arg(long = "poll-ms", value_name = "MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    poll_ms: u64,
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
    pub fn config(&self) -> BridgeConfig {
        BridgeConfig {
            listen: self.listen.clone(),
            connect: self.connect.clone(),
            config_file: self.config.clone(),
            ..Default::default()
        }
    }
}

/// A bridge's failure, said in full (its message names the key, the
/// region or the endpoint).
pub fn bridge_error(e: shm_zenoh::BridgeError) -> Error {
    Error::Message(e.to_string())
}

pub fn run(args: &Args, _out: &mut dyn Write) -> Result<()> {
    // First, before any other thread exists (see `signals`).
    let stop = signals::stop_on_interrupt()
        .map_err(|e| Error::Message(format!("cannot set up SIGINT and SIGTERM handling: {e}")))?;
    let key = &args.bridge.key;
    parse_key(key).map_err(bridge_error)?;
    let region = open_to_publish(&args.region)?;
    let config = BridgeConfig {
        poll_interval: Duration::from_millis(args.poll_ms),
        ..args.bridge.config()
    };
    let session = config.open_session().map_err(bridge_error)?;
    let options = PublishOptions {
        // This thread runs the loop: no watching thread of the publisher's.
        watch: false,
        poll_interval: config.poll_interval,
        heartbeat_interval: config.heartbeat_interval,
    };
    let publisher = Publisher::new(&session, key, region, options).map_err(bridge_error)?;
    let served = publisher.region();
    eprintln!(
        "shm publish: {} ({}, {} bytes) on key `{key}`, epoch {:#018x}",
        args.region.location(),
        served.schema().name(),
        served.size(),
        publisher.epoch()
    );
    let result = publisher.run(stop.flag());
    // Withdraw the claim to the key before the session closes (dropping
    // its last handle closes it), so that a publisher started next is not
    // refused.
    drop(publisher);
    drop(session);
    result.map_err(bridge_error)
}

/// Opens the region to publish: read-write when permitted (a waiter then
/// sleeps on the futex, so version moves are noticed within microseconds),
/// read-only otherwise (within a millisecond).
fn open_to_publish(region: &RegionArg) -> Result<shm_runtime::Region> {
    match region.open_read_write() {
        Err(shm_runtime::Error::PermissionDenied { .. }) => Ok(region.open_read_only()?),
        other => Ok(other?),
    }
}
