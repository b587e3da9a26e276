//! How the bridge reaches other machines: endpoints, a Zenoh configuration
//! file, intervals. The command line fills a [`BridgeConfig`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use zenoh::key_expr::OwnedKeyExpr;
use zenoh::Wait;

use crate::error::{zenoh_message, BridgeError};

/// What `shm publish` and `shm mirror` are given besides the region and the
/// key. `BridgeConfig { listen, connect, ..Default::default() }` fills the
/// rest with the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Zenoh locators to listen on (`tcp/0.0.0.0:7447`). Empty: listen
    /// nowhere (unless the configuration file says otherwise).
    pub listen: Vec<String>,
    /// Zenoh locators to connect to (`tcp/192.168.1.2:7447`); retried in
    /// the background until they answer.
    pub connect: Vec<String>,
    /// A Zenoh JSON5 configuration file to start from instead of the
    /// bridge's defaults; `listen` and `connect`, when not empty, replace
    /// its endpoints.
    pub config_file: Option<PathBuf>,
    /// How often the publisher compares snapshots, to notice field-level
    /// writes (which do not move the version). Version moves are noticed
    /// at once.
    pub poll_interval: Duration,
    /// How often an idle publisher says which state is its latest, so a
    /// mirror that lost a message notices and catches up.
    pub heartbeat_interval: Duration,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            listen: Vec::new(),
            connect: Vec::new(),
            config_file: None,
            poll_interval: Duration::from_millis(10),
            heartbeat_interval: Duration::from_secs(1),
        }
    }
}

impl BridgeConfig {
    /// The Zenoh configuration: the file's if one is given, otherwise
    /// router mode (see below) with multicast scouting off (only the
    /// endpoints given are used, and no connection is made to nodes
    /// merely heard of) and reconnection retried from 250 ms up to every
    /// 2 s; then the `listen` and `connect` endpoints.
    ///
    /// Router mode because since Zenoh 1.9 peers only reach the peers they
    /// are connected to (a clique; `routing.peer.mode = "linkstate"` is
    /// deprecated and does nothing): with every bridge a router, Zenoh's
    /// link-state routing carries states, queries and liveliness tokens
    /// across any connected graph of bridges, so a publisher sees every
    /// other publisher of its key however many machines lie between them
    /// (the one-publisher rule), and a mirror gets states through other
    /// mirrors. A configuration file is taken as it is: its `mode` decides
    /// (Zenoh's default is `peer`, which covers directly connected bridges
    /// only).
    ///
    /// # Errors
    ///
    /// [`BridgeError::ConfigFile`], [`BridgeError::InvalidEndpoint`] (only
    /// `tcp/` endpoints are built in).
    pub fn zenoh_config(&self) -> Result<zenoh::Config, BridgeError> {
        let mut config = match &self.config_file {
            Some(path) => zenoh::Config::from_file(path).map_err(|e| BridgeError::ConfigFile {
                path: path.clone(),
                reason: zenoh_message(&e),
            })?,
            None => {
                let mut config = zenoh::Config::default();
                for (key, value) in [
                    ("mode", r#""router""#),
                    ("scouting/multicast/enabled", "false"),
                    // Routers stamp every sample by default; the bridge
                    // numbers its own states and reads no timestamp.
                    ("timestamping/enabled", "false"),
                    ("listen/endpoints", "[]"),
                    (
                        "connect/retry",
                        "{period_init_ms:250,period_max_ms:2000,period_increase_factor:2}",
                    ),
                ] {
                    // These keys and values are Zenoh's own schema: a
                    // failure is a bug here, reported rather than hidden.
                    config
                        .insert_json5(key, value)
                        .map_err(|e| BridgeError::ConfigFile {
                            path: PathBuf::from("(built-in defaults)"),
                            reason: format!("{key}: {}", zenoh_message(&e)),
                        })?;
                }
                config
            }
        };
        for (what, endpoints) in [("listen", &self.listen), ("connect", &self.connect)] {
            if endpoints.is_empty() {
                continue;
            }
            let list = endpoints
                .iter()
                .map(|e| check_endpoint(e).map(|()| json_string(e)))
                .collect::<Result<Vec<_>, _>>()?;
            let json = format!("[{}]", list.join(","));
            config
                .insert_json5(&format!("{what}/endpoints"), &json)
                .map_err(|e| BridgeError::InvalidEndpoint {
                    endpoint: endpoints.join(" "),
                    reason: zenoh_message(&e),
                })?;
        }
        Ok(config)
    }

    /// Opens a Zenoh session with [`zenoh_config`](Self::zenoh_config).
    ///
    /// # Errors
    ///
    /// As `zenoh_config`, and [`BridgeError::Session`] naming the
    /// endpoints (a listen endpoint already in use, say).
    pub fn open_session(&self) -> Result<zenoh::Session, BridgeError> {
        let config = self.zenoh_config()?;
        zenoh::open(config)
            .wait()
            .map_err(|e| BridgeError::Session {
                endpoints: self.describe_endpoints(),
                reason: zenoh_message(&e),
            })
    }

    fn describe_endpoints(&self) -> String {
        let mut parts = Vec::new();
        if !self.listen.is_empty() {
            parts.push(format!("listen {}", self.listen.join(", ")));
        }
        if !self.connect.is_empty() {
            parts.push(format!("connect {}", self.connect.join(", ")));
        }
        if let Some(path) = &self.config_file {
            parts.push(format!("config {}", path.display()));
        }
        if parts.is_empty() {
            "no endpoints".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

/// Checks that `endpoint` is a Zenoh locator of a transport built in.
fn check_endpoint(endpoint: &str) -> Result<(), BridgeError> {
    let parsed =
        zenoh::config::EndPoint::from_str(endpoint).map_err(|e| BridgeError::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: zenoh_message(&e),
        })?;
    let protocol = parsed.protocol();
    if protocol.as_str() != "tcp" {
        return Err(BridgeError::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason: format!(
                "transport `{}` is not built in; use tcp/HOST:PORT",
                protocol.as_str()
            ),
        });
    }
    Ok(())
}

/// `s` as a JSON string.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `key` as a key a region can be published under: a valid, canonical
/// Zenoh key expression without wildcards.
///
/// # Errors
///
/// [`BridgeError::InvalidKey`], with Zenoh's reason.
pub fn parse_key(key: &str) -> Result<OwnedKeyExpr, BridgeError> {
    let invalid = |reason: String| BridgeError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let parsed = OwnedKeyExpr::try_from(key.to_owned()).map_err(|e| invalid(e.to_string()))?;
    if parsed.is_wild() {
        return Err(invalid(
            "a region is published under one key: no `*`, `**` or `$*`".to_owned(),
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_and_named() {
        let config = BridgeConfig {
            listen: vec!["udp/127.0.0.1:7447".into()],
            ..BridgeConfig::default()
        };
        let e = config.zenoh_config().unwrap_err().to_string();
        assert!(
            e.contains("udp/127.0.0.1:7447") && e.contains("tcp/"),
            "{e}"
        );
        let config = BridgeConfig {
            connect: vec!["nonsense".into()],
            ..BridgeConfig::default()
        };
        let e = config.zenoh_config().unwrap_err().to_string();
        assert!(e.contains("`nonsense`"), "{e}");
        let config = BridgeConfig {
            listen: vec!["tcp/127.0.0.1:7447".into()],
            connect: vec!["tcp/127.0.0.1:7448".into()],
            ..BridgeConfig::default()
        };
        let z = config.zenoh_config().unwrap();
        assert!(z.get_json("listen/endpoints").unwrap().contains("7447"));
        assert!(z.get_json("connect/endpoints").unwrap().contains("7448"));
        assert_eq!(z.get_json("scouting/multicast/enabled").unwrap(), "false");
        assert_eq!(z.get_json("mode").unwrap(), r#""router""#);
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let config = BridgeConfig {
            config_file: Some("/nonexistent/zenoh.json5".into()),
            ..BridgeConfig::default()
        };
        let e = config.zenoh_config().unwrap_err().to_string();
        assert!(e.contains("/nonexistent/zenoh.json5"), "{e}");
    }

    #[test]
    fn keys_are_concrete() {
        assert!(parse_key("demo/foo").is_ok());
        let e = parse_key("demo/*").unwrap_err().to_string();
        assert!(e.contains("`demo/*`") && e.contains("one key"), "{e}");
        assert!(parse_key("demo//foo").is_err());
        assert!(parse_key("").is_err());
    }
}
