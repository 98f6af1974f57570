//! The configuration document of the `govmedia` binary: the kit's shared sections plus one
//! section per service. Loaded by `govmedia_kit::config::load` (defaults → `--config` file →
//! `GOVMEDIA_*` environment).

use govmedia_filing::FilingConfig;
use govmedia_gateway::GatewayConfig;
use govmedia_inspection::InspectionConfig;
use govmedia_kit::config::{
    AuthSettings, CalendarSettings, DatabaseSettings, EventSettings, IdentitySettings,
    ListenSettings, RedisSettings, TelemetrySettings,
};
use govmedia_registry::RegistryConfig;
use govmedia_routing::RoutingConfig;
use govmedia_vendor::VendorConfig;
use serde::{Deserialize, Serialize};

/// Everything configurable. Every key has a default; see README.md for the environment names.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[redis]`.
    pub redis: RedisSettings,
    /// `[auth]`: the govmedia tokens of people and outside systems.
    pub auth: AuthSettings,
    /// `[identity]`: the service's own keys.
    pub identity: IdentitySettings,
    /// `[telemetry]`.
    pub telemetry: TelemetrySettings,
    /// `[events]`.
    pub events: EventSettings,
    /// `[calendar]`.
    pub calendar: CalendarSettings,
    /// `[listen]`: the limits of every listening port.
    pub listen: ListenSettings,
    /// `[gateway]`.
    pub gateway: GatewayConfig,
    /// `[registry]`.
    pub registry: RegistryConfig,
    /// `[filing]`.
    pub filing: FilingConfig,
    /// `[vendor]`.
    pub vendor: VendorConfig,
    /// `[routing]`.
    pub routing: RoutingConfig,
    /// `[inspection]`.
    pub inspection: InspectionConfig,
}

impl Settings {
    /// Refuses `[listen]` limits that cannot work, before any port is opened.
    pub fn check_listen(&self) -> anyhow::Result<()> {
        let problems = self.listen.problems();
        anyhow::ensure!(
            problems.is_empty(),
            "the [listen] settings cannot work:\n  {}",
            problems.join("\n  ")
        );
        Ok(())
    }
}
