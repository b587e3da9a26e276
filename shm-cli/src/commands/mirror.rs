//! `shm mirror REGION --key KEY [--listen E]... [--connect E]... [--config FILE]`.

use std::io::Write;

use shm_zenoh::{parse_key, Mirror, MirrorOptions, MirrorTarget};

use super::publish::{bridge_error, BridgeArgs};
use crate::error::{Error, Result};
use crate::region_arg::RegionArg;
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
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
    #[command(flatten)]
    bridge: BridgeArgs,
}

pub fn run(args: &Args, _out: &mut dyn Write) -> Result<()> {
    // First, before any other thread exists (see `signals`).
    let stop = signals::stop_on_interrupt()
        .map_err(|e| Error::Message(format!("cannot set up SIGINT and SIGTERM handling: {e}")))?;
    let key = &args.bridge.key;
    parse_key(key).map_err(bridge_error)?;
    check_writable(&args.region)?;
    let location = args.region.location();
    let session = args.bridge.config().open_session().map_err(bridge_error)?;
    let mirror = Mirror::new(
        &session,
        key,
        MirrorTarget::Location(location.clone()),
        MirrorOptions::default(),
    )
    .map_err(bridge_error)?;
    eprintln!("shm mirror: {location} follows key `{key}`");
    let result = mirror.run(stop.flag(), |status| {
        if let Some(epoch) = status.epoch {
            eprintln!(
                "shm mirror: {location} holds the state of key `{key}` ({}, publisher epoch {epoch:#018x})",
                mirror.type_name().unwrap_or_default()
            );
        }
    });
    drop(mirror);
    drop(session);
    result.map_err(bridge_error)
}

/// Fails early when REGION cannot be a mirror's: not a region, not
/// writable, an invalid shm name. A missing one is fine: the mirror
/// creates it from the publisher's schema.
fn check_writable(region: &RegionArg) -> Result<()> {
    match region.open_read_write() {
        Ok(_) | Err(shm_runtime::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
