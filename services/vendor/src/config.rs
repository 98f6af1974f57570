//! The vendor service's own settings (the `[vendor]` section).

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::domain::{
    performance::{Formula, InputKind},
    vetting::VettingRules,
};

/// Default gRPC port of the vendor service.
pub const DEFAULT_PORT: u16 = 50063;

/// See the field docs; every field has a default except `system_organization` in production.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VendorConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// The registry, e.g. `http://127.0.0.1:50061`: it says where each caller's jurisdiction
    /// lies.
    pub registry_endpoint: String,
    /// The organization the service acts for when it asks the registry on its own account: the
    /// root of the tree it serves, e.g. `qinghai`.
    pub system_organization: String,
    /// Each call to the registry gives up after this long.
    pub registry_timeout_ms: u64,
    /// The filing service, e.g. `http://127.0.0.1:50062`: delegations hand accounts over
    /// through its CHANGE filings.
    pub filing_endpoint: String,
    /// Each call to the filing service gives up after this long.
    pub filing_timeout_ms: u64,
    /// Run the handover worker (filing the CHANGE filings of delegations) and the consumer of
    /// the filing service's decisions in this process. At least one replica must.
    pub workers: bool,
    /// How often handovers still to file are looked for (a new delegation also wakes the
    /// worker at once).
    pub handover_interval_ms: u64,
    /// First wait before filing a handover again after the filing service could not take it;
    /// it doubles with every failed attempt up to `handover_retry_max_ms`.
    pub handover_retry_initial_ms: u64,
    /// Longest wait between two attempts.
    pub handover_retry_max_ms: u64,
    /// Attempts before a handover's filing is given up (its job is DEAD, listed by `govmedia
    /// jobs dead vendor`).
    pub handover_max_attempts: u32,
    /// How vettings are judged, the `[vendor.vetting]` table.
    pub vetting: VettingConfig,
    /// The oversight signals (category 8), the `[vendor.oversight]` table.
    pub oversight: OversightConfig,
    /// The performance formula, the `[vendor.performance]` table.
    pub performance: PerformanceConfig,
}

/// The performance formula: a weighted mean of its inputs, in percent summing to 100. Change
/// the version whenever a weight or the threshold changes: every assessment stores the version
/// it was computed with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceConfig {
    /// The formula's version, e.g. `2026-1`.
    pub formula_version: String,
    /// Weight of the share of inspections passed.
    pub inspection_weight: u32,
    /// Weight of the share of messages answered in time.
    pub reply_timeliness_weight: u32,
    /// Weight of citizens' satisfaction.
    pub satisfaction_weight: u32,
    /// Weight of the supervisors' ratings.
    pub supervisor_rating_weight: u32,
    /// The least score (0-100) that passes; below it the vendor is flagged for clean-out.
    pub threshold: u32,
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        Self {
            formula_version: "2026-1".to_owned(),
            inspection_weight: 40,
            reply_timeliness_weight: 20,
            satisfaction_weight: 20,
            supervisor_rating_weight: 20,
            threshold: 60,
        }
    }
}

impl PerformanceConfig {
    /// The formula of these settings.
    pub fn formula(&self) -> Formula {
        Formula {
            version: self.formula_version.clone(),
            weights: vec![
                (InputKind::Inspection, self.inspection_weight),
                (InputKind::ReplyTimeliness, self.reply_timeliness_weight),
                (InputKind::Satisfaction, self.satisfaction_weight),
                (InputKind::SupervisorRating, self.supervisor_rating_weight),
            ],
            threshold: self.threshold,
        }
    }
}

/// When oversight signals are computed and what they look ahead.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct OversightConfig {
    /// A qualification expiring within this many days is signalled.
    pub expiring_within_days: u32,
    /// How often one replica evaluates the signals of the whole tree and publishes what
    /// changed (daily by default).
    pub interval_ms: u64,
}

impl Default for OversightConfig {
    fn default() -> Self {
        Self {
            expiring_within_days: 30,
            interval_ms: 24 * 3_600_000,
        }
    }
}

/// How a vetting passes and how long it counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VettingConfig {
    /// The mean of the four dimension scores a vetting needs to pass (0-100).
    pub pass_threshold: u32,
    /// The least score each dimension needs, whatever the mean (0-100): a vendor that is
    /// politically insensitive does not pass on its media skills.
    pub dimension_floor: u32,
    /// Days a passed vetting lets the vendor be approved.
    pub validity_days: u32,
}

impl Default for VettingConfig {
    fn default() -> Self {
        Self {
            pass_threshold: 80,
            dimension_floor: 60,
            validity_days: 365,
        }
    }
}

impl Default for VendorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            registry_endpoint: "http://127.0.0.1:50061".to_owned(),
            system_organization: String::new(),
            registry_timeout_ms: 5_000,
            filing_endpoint: "http://127.0.0.1:50062".to_owned(),
            filing_timeout_ms: 5_000,
            workers: true,
            handover_interval_ms: 5_000,
            handover_retry_initial_ms: 1_000,
            handover_retry_max_ms: 600_000,
            handover_max_attempts: 200,
            vetting: VettingConfig::default(),
            oversight: OversightConfig::default(),
            performance: PerformanceConfig::default(),
        }
    }
}

impl VendorConfig {
    /// The vetting rules of these settings.
    pub fn vetting_rules(&self) -> VettingRules {
        VettingRules {
            pass_threshold: self.vetting.pass_threshold,
            dimension_floor: self.vetting.dimension_floor,
            validity: chrono::Duration::days(i64::from(self.vetting.validity_days)),
        }
    }

    /// The settings that cannot work, as one message per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !govmedia_kit::validate::is_id(&self.system_organization) {
            problems.push(
                "vendor.system_organization must name the root organization the service serves (GOVMEDIA_VENDOR__SYSTEM_ORGANIZATION)"
                    .to_owned(),
            );
        }
        for (name, endpoint) in [
            ("vendor.registry_endpoint", &self.registry_endpoint),
            ("vendor.filing_endpoint", &self.filing_endpoint),
        ] {
            problems.extend(govmedia_kit::endpoints::problem(name, endpoint));
        }
        for (name, value) in [
            ("registry_timeout_ms", self.registry_timeout_ms),
            ("filing_timeout_ms", self.filing_timeout_ms),
            ("handover_interval_ms", self.handover_interval_ms),
            ("handover_retry_initial_ms", self.handover_retry_initial_ms),
            (
                "handover_max_attempts",
                u64::from(self.handover_max_attempts),
            ),
        ] {
            if value == 0 {
                problems.push(format!("vendor.{name} must be positive"));
            }
        }
        if self.handover_retry_max_ms < self.handover_retry_initial_ms {
            problems.push(
                "vendor.handover_retry_max_ms must not be below vendor.handover_retry_initial_ms"
                    .to_owned(),
            );
        }
        let vetting = &self.vetting;
        if vetting.pass_threshold > 100 {
            problems.push("vendor.vetting.pass_threshold must be between 0 and 100".to_owned());
        }
        if vetting.dimension_floor > 100 {
            problems.push("vendor.vetting.dimension_floor must be between 0 and 100".to_owned());
        }
        if self.oversight.expiring_within_days > 365 {
            problems.push("vendor.oversight.expiring_within_days must be at most 365".to_owned());
        }
        if self.oversight.interval_ms < 1_000 {
            problems.push("vendor.oversight.interval_ms must be at least 1000".to_owned());
        }
        let performance = &self.performance;
        let sum = performance.inspection_weight
            + performance.reply_timeliness_weight
            + performance.satisfaction_weight
            + performance.supervisor_rating_weight;
        if sum != 100 {
            problems.push(format!(
                "the vendor.performance weights must sum to 100 (they sum to {sum})"
            ));
        }
        if performance.threshold > 100 {
            problems.push("vendor.performance.threshold must be between 0 and 100".to_owned());
        }
        if performance.formula_version.trim().is_empty() || performance.formula_version.len() > 50 {
            problems
                .push("vendor.performance.formula_version must be 1 to 50 characters".to_owned());
        }
        if !(1..=3650).contains(&vetting.validity_days) {
            problems.push("vendor.vetting.validity_days must be between 1 and 3650".to_owned());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_need_only_the_organization() {
        let mut config = VendorConfig::default();
        assert_eq!(config.problems().len(), 1, "{:?}", config.problems());
        config.system_organization = "qinghai".into();
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        config.vetting.pass_threshold = 101;
        config.vetting.validity_days = 0;
        config.registry_endpoint = "registry".into();
        assert_eq!(config.problems().len(), 3, "{:?}", config.problems());
    }
}
