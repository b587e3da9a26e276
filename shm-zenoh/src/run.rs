//! The command-line face: what `shm publish` and `shm mirror` call. No
//! argument parsing here; the CLI fills a [`BridgeConfig`].

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use shm_runtime::{Error, Location, Region};
use zenoh::Wait;

use crate::config::{parse_key, BridgeConfig};
use crate::error::BridgeError;
use crate::mirror::{Mirror, MirrorOptions, MirrorTarget};
use crate::publisher::{PublishOptions, Publisher};

/// REGION as the command line gives it: a file path when it contains a
/// `/` (`/dev/shm/x`, `./x`, `/tmp/x`), a POSIX shm name otherwise.
pub fn region_location(region: &str) -> Location {
    if region.contains('/') {
        Location::File(region.into())
    } else {
        Location::Shm(format!("/{region}"))
    }
}

/// `shm publish REGION --key KEY ...`: serves REGION's state under KEY
/// until `stop` is set (by SIGINT or SIGTERM: see [`stop_on_signals`]).
/// Prints one line to standard error once it serves.
///
/// The region must exist; read permission suffices (with write permission
/// version moves are noticed within microseconds, without it within a
/// millisecond).
///
/// # Errors
///
/// [`BridgeError::InvalidKey`], [`BridgeError::Region`] (the region
/// cannot be opened), the session's errors, and
/// [`BridgeError::PublisherExists`] when another publisher is live on
/// KEY (at start, or when one older than this appears later).
pub fn run_publish(
    region: &str,
    key: &str,
    config: &BridgeConfig,
    stop: &AtomicBool,
) -> Result<(), BridgeError> {
    parse_key(key)?;
    let location = region_location(region);
    let region = open_to_publish(&location).map_err(|e| BridgeError::region(key, e))?;
    let session = config.open_session()?;
    let options = PublishOptions {
        watch: false,
        poll_interval: config.poll_interval,
        heartbeat_interval: config.heartbeat_interval,
    };
    let publisher = Publisher::new(&session, key, region, options)?;
    let served = publisher.region();
    eprintln!(
        "shm publish: {location} ({}, {} bytes) on key `{key}`, epoch {:#018x}",
        served.schema().name(),
        served.size(),
        publisher.epoch()
    );
    let result = publisher.run(stop);
    // Withdraw the claim to the key before the session goes, so that a
    // publisher started next is not refused.
    drop(publisher);
    let _ = session.close().wait();
    result
}

/// `shm mirror REGION --key KEY ...`: keeps REGION equal to the state
/// published under KEY until `stop` is set. REGION is created from the
/// publisher's schema when it is missing; one of another layout is refused.
/// Prints a line to standard error when it starts following a publisher.
///
/// # Errors
///
/// [`BridgeError::InvalidKey`], [`BridgeError::Region`] (REGION is not a
/// region, or cannot be written), the session's errors, and
/// [`BridgeError::LayoutMismatch`] naming what differs.
pub fn run_mirror(
    region: &str,
    key: &str,
    config: &BridgeConfig,
    stop: &AtomicBool,
) -> Result<(), BridgeError> {
    parse_key(key)?;
    let location = region_location(region);
    check_writable(&location).map_err(|e| BridgeError::region(key, e))?;
    let session = config.open_session()?;
    let mirror = Mirror::new(
        &session,
        key,
        MirrorTarget::Location(location.clone()),
        MirrorOptions::default(),
    )?;
    eprintln!("shm mirror: {location} follows key `{key}`");
    let result = mirror.run(stop, |status| {
        if let Some(epoch) = status.epoch {
            eprintln!(
                "shm mirror: {location} holds the state of key `{key}` ({}, publisher epoch {epoch:#018x})",
                mirror.type_name().unwrap_or_default()
            );
        }
    });
    drop(mirror);
    let _ = session.close().wait();
    result
}

/// A flag that SIGINT and SIGTERM set: the `stop` of [`run_publish`] and
/// [`run_mirror`].
///
/// # Errors
///
/// The system's, if a handler cannot be installed.
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Opens the region to publish: read-write when permitted (a waiter then
/// sleeps on the futex), read-only otherwise.
fn open_to_publish(location: &Location) -> shm_runtime::Result<Region> {
    let open = |read_only| {
        let mut options = Region::options();
        options.read_only(read_only);
        match location {
            Location::File(path) => options.open_file(path),
            Location::Shm(name) => options.open_shm(name),
        }
    };
    match open(false) {
        Err(Error::PermissionDenied { .. }) => open(true),
        other => other,
    }
}

/// Fails early when REGION cannot be a mirror's: not a region, not
/// writable, an invalid shm name. A missing one is fine (created later).
fn check_writable(location: &Location) -> shm_runtime::Result<()> {
    let opened = match location {
        Location::File(path) => Region::open_file(path),
        Location::Shm(name) => Region::open_shm(name),
    };
    match opened {
        Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_arguments_follow_the_cli_rule() {
        assert_eq!(region_location("/tmp/x"), Location::File("/tmp/x".into()));
        assert_eq!(region_location("./x"), Location::File("./x".into()));
        assert_eq!(
            region_location("such_foo"),
            Location::Shm("/such_foo".into())
        );
    }
}
