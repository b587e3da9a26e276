//! The one error type of the bridge.

use std::path::PathBuf;

/// Everything that can go wrong publishing or mirroring. Each message names
/// the Zenoh key, the endpoint or the file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The key is not a Zenoh key expression a single region can be
    /// published under (one concrete key, no wildcards).
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The key given.
        key: String,
        /// Why it does not do.
        reason: String,
    },

    /// An endpoint that Zenoh does not accept.
    #[error("invalid endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The endpoint given.
        endpoint: String,
        /// What Zenoh said.
        reason: String,
    },

    /// The Zenoh configuration file could not be read or used.
    #[error("Zenoh configuration file {}: {reason}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// The Zenoh session could not be opened (a listen endpoint in use, say).
    #[error("could not open a Zenoh session ({endpoints}): {reason}")]
    Session {
        /// The endpoints it was to listen on and connect to.
        endpoints: String,
        /// What Zenoh said.
        reason: String,
    },

    /// The local region could not be opened or created.
    #[error("key `{key}`: {source}")]
    Region {
        /// The key being published or mirrored.
        key: String,
        /// The runtime's error, which names the region.
        #[source]
        source: Box<shm_runtime::Error>,
    },

    /// The publisher's layout is not the local region's: the mirror
    /// refuses it rather than misread it.
    #[error("key `{key}`: the publisher's layout does not fit the local region: {detail}")]
    LayoutMismatch {
        /// The key being mirrored.
        key: String,
        /// The region, both types and what differs (the runtime's
        /// [`LayoutMismatch`](shm_runtime::Error::LayoutMismatch) message).
        detail: String,
    },

    /// Another publisher is live on the key: one writer per key.
    #[error(
        "key `{key}` already has a live publisher (epoch {other_epoch:#018x}): one publisher per key; \
         stop it first (a publisher that died without closing its connection is forgotten \
         when its Zenoh lease expires, 10 s by default)"
    )]
    PublisherExists {
        /// The key.
        key: String,
        /// The other publisher's epoch.
        other_epoch: u64,
    },

    /// A Zenoh operation failed.
    #[error("key `{key}`: Zenoh could not {action}: {reason}")]
    Zenoh {
        /// The key.
        key: String,
        /// What was being done, e.g. "declare the publisher".
        action: &'static str,
        /// What Zenoh said.
        reason: String,
    },

    /// The region is too large for the wire format (4 GiB).
    #[error("key `{key}`: a struct of {size} bytes is too large to publish (at most {max})")]
    TooLarge {
        /// The key.
        key: String,
        /// The struct's size.
        size: usize,
        /// The largest the wire format carries.
        max: u64,
    },

    /// The mirror stopped after an error that was reported before.
    #[error("key `{key}`: the mirror stopped after an earlier error")]
    Stopped {
        /// The key.
        key: String,
    },

    /// Nothing arrived in time.
    #[error("key `{key}`: {what} within {waited_ms} ms")]
    Timeout {
        /// The key.
        key: String,
        /// What did not happen.
        what: &'static str,
        /// How long it waited.
        waited_ms: u128,
    },
}

impl BridgeError {
    pub(crate) fn zenoh(key: &str, action: &'static str, reason: impl std::fmt::Display) -> Self {
        BridgeError::Zenoh {
            key: key.to_owned(),
            action,
            reason: zenoh_message(&reason),
        }
    }

    pub(crate) fn region(key: &str, source: shm_runtime::Error) -> Self {
        match source {
            e @ shm_runtime::Error::LayoutMismatch { .. } => BridgeError::LayoutMismatch {
                key: key.to_owned(),
                detail: e.to_string(),
            },
            e => BridgeError::Region {
                key: key.to_owned(),
                source: Box::new(e),
            },
        }
    }
}

/// A Zenoh error's message without the places in Zenoh's source it carries
/// (each cause ends with " at <file>.rs:<line>."): what failed and why, the
/// endpoint and the OS error, which is what a user can act on.
pub(crate) fn zenoh_message(error: &impl std::fmt::Display) -> String {
    let message = error.to_string();
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) = rest.find(" at ") {
        let after = &rest[at + 4..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == ']')
            .unwrap_or(after.len());
        let place = after[..end].trim_end_matches('.');
        let is_source_place = place.rsplit_once(':').is_some_and(|(file, line)| {
            file.ends_with(".rs") && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
        });
        if is_source_place {
            out.push_str(&rest[..at]);
            rest = &after[end..];
        } else {
            out.push_str(&rest[..at + 4]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::zenoh_message;

    #[test]
    fn source_places_are_cut_and_the_cause_kept() {
        let zenoh = "Can not create a new TCP listener bound to tcp/127.0.0.1:7447: [Can not \
                     create a new TCP listener bound to 127.0.0.1:7447: Address already in use \
                     (os error 98) at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/\
                     zenoh-link-commons-1.10.2/src/tcp.rs:61.] at /home/u/.cargo/registry/src/\
                     index.crates.io-1949cf8c6b5b557f/zenoh-link-tcp-1.10.2/src/unicast.rs:338.";
        assert_eq!(
            zenoh_message(&zenoh),
            "Can not create a new TCP listener bound to tcp/127.0.0.1:7447: [Can not create a \
             new TCP listener bound to 127.0.0.1:7447: Address already in use (os error 98)]"
        );
        let plain = "no route at all: looked at tcp/1.2.3.4:7447";
        assert_eq!(zenoh_message(&plain), plain);
    }
}
