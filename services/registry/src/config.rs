//! The registry's own settings (the `[registry]` section).

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Default gRPC port of the registry.
pub const DEFAULT_PORT: u16 = 50061;

/// See the field docs; every field has a default.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// an existing account counts as healthy only if it posted within this many days
    /// (the national check vetoes publishing accounts silent for two weeks).
    pub healthy_post_window_days: u32,
    /// password rotation interval used when a custody record does not set one.
    pub default_rotation_days: u32,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            healthy_post_window_days: 14,
            default_rotation_days: 90,
        }
    }
}
