//! The registry's own settings (the `[registry]` section).

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
};

use chrono::Duration;
use govmedia_kit::regional::Regional;

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
    /// Stricter local numbers, by the id of the organization whose subtree keeps them (a
    /// province may call an account healthy only if it posted within 10 days, not 14), e.g.
    /// `[registry.regions.qinghai] healthy_post_window_days = 10`.
    pub regions: BTreeMap<String, RegionRules>,
}

/// A region's own numbers; what it leaves out is the national setting.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RegionRules {
    /// See [`RegistryConfig::healthy_post_window_days`].
    pub healthy_post_window_days: Option<u32>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            healthy_post_window_days: 14,
            default_rotation_days: 90,
            regions: BTreeMap::new(),
        }
    }
}

impl RegistryConfig {
    /// R-03's health window, national and by region.
    pub fn health_windows(&self) -> Regional<Duration> {
        let days = |days: u32| Duration::days(i64::from(days));
        Regional {
            default: days(self.healthy_post_window_days),
            regions: self
                .regions
                .iter()
                .filter_map(|(id, rules)| Some((id.clone(), days(rules.healthy_post_window_days?))))
                .collect(),
        }
    }

    /// The settings that cannot work, as one message per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let windows = std::iter::once(("registry".to_owned(), Some(self.healthy_post_window_days)))
            .chain(self.regions.iter().map(|(id, rules)| {
                (
                    format!("registry.regions.{id}"),
                    rules.healthy_post_window_days,
                )
            }));
        for (section, days) in windows {
            if days.is_some_and(|days| !(1..=365).contains(&days)) {
                problems.push(format!(
                    "{section}.healthy_post_window_days must be between 1 and 365"
                ));
            }
        }
        for id in self.regions.keys() {
            if !govmedia_kit::validate::is_id(id) {
                problems.push(format!(
                    "registry.regions.{id} must be named by an organization id"
                ));
            }
        }
        if self.default_rotation_days == 0 {
            problems.push("registry.default_rotation_days must be positive".to_owned());
        }
        problems
    }
}
