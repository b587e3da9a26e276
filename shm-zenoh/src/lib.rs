//! The same region kept in step on several machines, over Zenoh.
//!
//! A [`Publisher`] serves a region's state under a Zenoh key; a [`Mirror`]
//! keeps a local region equal to it. `shm publish` and `shm mirror` (the
//! `shm` command, crate `shm-cli`) run a [`Publisher::run`] and a
//! [`Mirror::run`] loop until SIGINT or SIGTERM.
//!
//! ```no_run
//! use shm_runtime::SharedState;
//! use shm_zenoh::{BridgeConfig, Mirror, MirrorOptions, PublishOptions, Publisher};
//!
//! #[derive(SharedState, Clone, Copy, Debug, Default)]
//! #[repr(C)]
//! struct Foo {
//!     bar: i32,
//!     baz: i32,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Machine A: publish.
//! let foo = Foo::open_file("/tmp/suchfoo")?;
//! let session = BridgeConfig {
//!     listen: vec!["tcp/0.0.0.0:7447".into()],
//!     ..BridgeConfig::default()
//! }
//! .open_session()?;
//! let publisher = Publisher::shared(&session, "demo/foo", &foo, PublishOptions::default())?;
//! foo.update(|f| f.bar = 31337);
//! publisher.publish_now()?; // or let its thread notice (at once for an update)
//!
//! // Machine B: mirror into a region of its own.
//! let session = BridgeConfig {
//!     connect: vec!["tcp/machine-a:7447".into()],
//!     ..BridgeConfig::default()
//! }
//! .open_session()?;
//! let foo = Foo::open_file("/tmp/suchfoo")?;
//! let mirror = Mirror::shared(&session, "demo/foo", &foo, MirrorOptions::default())?;
//! mirror.wait_synced(std::time::Duration::from_secs(5))?;
//! println!("{}", foo.bar.get()); // 31337
//! # Ok(())
//! # }
//! ```
//!
//! # What is sent
//!
//! Every change: each version move (noticed at once by `wait_for_change`)
//! and each field-level write (noticed by comparing snapshots every poll
//! interval), as a numbered state: a sequence number within an epoch that
//! changes when a publisher restarts. A state goes as a delta of byte
//! ranges against the one before when that is smaller than the struct,
//! whole otherwise; the wire format is in [`wire`]. Several updates made
//! between two looks of the publisher's thread arrive as one state (the
//! latest); [`Publisher::publish_now`] sends at once, from the thread
//! that updated.
//!
//! # One writer per key
//!
//! A publisher claims its key with a Zenoh liveliness token; a second one
//! is refused ([`BridgeError::PublisherExists`], naming the key). A mirror
//! follows the publisher that keeps the key: of two live at once (two
//! networks that each had one joined, until the newer one sees the older
//! one and stops) the older one; it leaves a publisher only when that
//! one's token goes. A mirror makes its local region equal to each state
//! it applies, whole: a write made locally on a mirror lasts until the
//! next state (the publisher's state wins).

//!
//! # Topologies
//!
//! Each bridge's session is a Zenoh router when [`BridgeConfig`] has no
//! configuration file (since Zenoh 1.9, peers reach only the peers they
//! are connected to). Routers route states, queries and liveliness tokens
//! over any connected graph of links, so:
//!
//! - any connected topology of bridges works: a chain A — B — C where A
//!   and C reach each other only through B (say, a mirror), a star, a
//!   ring, a mesh. A mirror gets states through other bridges, and a
//!   publisher sees every other publisher of its key however many hops
//!   away: the second one is refused (or stops, if it started before the
//!   networks joined).
//! - Links are only the endpoints given: multicast scouting is off, and
//!   routers do not connect to nodes they merely hear of.
//! - With a configuration file its `mode` decides. `"peer"` (Zenoh's
//!   default) covers only bridges directly connected to one another: two
//!   publishers that reach each other only through a third node do not
//!   see each other and both keep running (mirrors follow the older of
//!   those they see). Write `mode: "router"` for the above.

mod config;
pub mod delta;
mod error;
mod follow;
mod mirror;
mod publisher;
pub mod wire;

pub use config::{parse_key, BridgeConfig};
pub use error::BridgeError;
pub use follow::MirrorStatus;
pub use mirror::{Mirror, MirrorOptions, MirrorTarget};
pub use publisher::{PublishOptions, Publisher};
