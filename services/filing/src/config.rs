//! The filing service's own settings (the `[filing]` section).

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, SocketAddr},
};

use govmedia_kit::endpoints::problem as endpoint_problem;
use govmedia_kit::regional::Regional;
use serde::{Deserialize, Serialize};

use crate::domain::Limits;

/// Default gRPC port of the filing service.
pub const DEFAULT_PORT: u16 = 50062;

/// See the field docs; every field has a default except `system_organization` in production.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FilingConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// The registry, e.g. `http://127.0.0.1:50061`.
    pub registry_endpoint: String,
    /// The organization the service acts for when it calls the registry on its own account
    /// (applying accepted filings, finding a unit's management department): the root of the
    /// tree it serves, e.g. `qinghai`. Its SYSTEM identity sees that subtree and nothing else.
    pub system_organization: String,
    /// Each call to the registry gives up after this long.
    pub registry_timeout_ms: u64,
    /// Working days a submitted filing may wait for its leader's consent, counted
    /// from the day after submission; then it is overdue.
    pub consent_working_days: u32,
    /// Working days a consented filing may wait for the management department's decision
    ///
    pub decision_working_days: u32,
    /// Stricter (or looser) limits of a region, by the id of the organization whose subtree
    /// keeps them, e.g. `[filing.regions.golmud] consent_working_days = 3`.
    pub regions: BTreeMap<String, RegionLimits>,
    /// Run the applier and the reminder in this process. Turn it off on replicas that should
    /// only serve the API; at least one replica must run them.
    pub workers: bool,
    /// How often overdue filings are looked for.
    pub reminder_interval_ms: u64,
    /// How often accepted filings still to apply are looked for (acceptance also wakes the
    /// applier at once).
    pub apply_interval_ms: u64,
    /// First wait before retrying an application the registry could not take; it doubles with
    /// every failed attempt up to `apply_retry_max_ms`.
    pub apply_retry_initial_ms: u64,
    /// Longest wait between two attempts.
    pub apply_retry_max_ms: u64,
    /// Attempts before an application is given up (its job is DEAD, listed by `govmedia jobs
    /// dead filing`, and the filing stays APPLYING with the last error until an operator
    /// revives it). With the defaults, about three and a half days of retries.
    pub apply_max_attempts: u32,
    /// How changes reach the national reporting system, the `[filing.national]` table.
    pub national: NationalConfig,
    /// The inspection service, e.g. `http://127.0.0.1:50065`: the rectification orders an
    /// enforced closure rests on, and whether the order of an enforced suspension is verified
    /// before a RESUME. Empty: enforced closures are refused, and so is the RESUME of an account
    /// an enforced closure suspended.
    pub inspection_endpoint: String,
    /// Each call to the inspection service gives up after this long.
    pub inspection_timeout_ms: u64,
}

/// A region's own waiting limits; what it leaves out is the national setting.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RegionLimits {
    /// See [`FilingConfig::consent_working_days`].
    pub consent_working_days: Option<u32>,
    /// See [`FilingConfig::decision_working_days`].
    pub decision_working_days: Option<u32>,
}

/// The way into the national reporting system.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NationalAdapter {
    /// Records wait to be exported (ExportReports) and uploaded by hand.
    Export,
    /// Records are POSTed to `endpoint` as they are queued.
    Http,
}

/// See the field docs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NationalConfig {
    /// `export` (the default: nothing leaves govmedia on its own) or `http`.
    pub adapter: NationalAdapter,
    /// With `http`: where records are POSTed, an `http://` URL (a front-end processor or an
    /// egress proxy holds the TLS to the national system).
    pub endpoint: String,
    /// Each delivery gives up after this long.
    pub timeout_ms: u64,
    /// How often due records are looked for (queueing also wakes the reporter at once).
    pub interval_ms: u64,
    /// First wait after a failed delivery; it doubles with every failed attempt up to
    /// `retry_max_ms`.
    pub retry_initial_ms: u64,
    /// Longest wait between two attempts.
    pub retry_max_ms: u64,
    /// Attempts before a record is FAILED for good (it can be queued again by hand).
    pub max_attempts: u32,
}

impl Default for NationalConfig {
    fn default() -> Self {
        Self {
            adapter: NationalAdapter::Export,
            endpoint: String::new(),
            timeout_ms: 10_000,
            interval_ms: 30_000,
            retry_initial_ms: 60_000,
            retry_max_ms: 3_600_000,
            max_attempts: 12,
        }
    }
}

impl NationalConfig {
    /// The endpoint when it is usable.
    pub fn endpoint_uri(&self) -> Option<http::Uri> {
        let uri: http::Uri = self.endpoint.parse().ok()?;
        (uri.scheme_str() == Some("http") && uri.host().is_some()).then_some(uri)
    }

    fn problems(&self, problems: &mut Vec<String>) {
        if self.adapter == NationalAdapter::Http && self.endpoint_uri().is_none() {
            problems.push(
                "filing.national.endpoint must be an http:// URL when filing.national.adapter is \
                 http (e.g. GOVMEDIA_FILING__NATIONAL__ENDPOINT=http://10.1.2.3:8080/reports)"
                    .to_owned(),
            );
        }
        for (name, value) in [
            ("timeout_ms", self.timeout_ms),
            ("interval_ms", self.interval_ms),
            ("retry_initial_ms", self.retry_initial_ms),
            ("max_attempts", u64::from(self.max_attempts)),
        ] {
            if value == 0 {
                problems.push(format!("filing.national.{name} must be positive"));
            }
        }
        if self.retry_max_ms < self.retry_initial_ms {
            problems.push(
                "filing.national.retry_max_ms must not be below filing.national.retry_initial_ms"
                    .to_owned(),
            );
        }
    }
}

impl Default for FilingConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            // The registry's default port.
            registry_endpoint: "http://127.0.0.1:50061".to_owned(),
            system_organization: String::new(),
            registry_timeout_ms: 10_000,
            consent_working_days: 5,
            decision_working_days: 10,
            regions: BTreeMap::new(),
            workers: true,
            reminder_interval_ms: 60_000,
            apply_interval_ms: 5_000,
            apply_retry_initial_ms: 1_000,
            apply_retry_max_ms: 300_000,
            apply_max_attempts: 1000,
            national: NationalConfig::default(),
            inspection_endpoint: "http://127.0.0.1:50065".to_owned(),
            inspection_timeout_ms: 5_000,
        }
    }
}

impl FilingConfig {
    /// The waiting limits, national and by region.
    pub fn limits(&self) -> Regional<Limits> {
        let national = Limits {
            consent_working_days: self.consent_working_days,
            decision_working_days: self.decision_working_days,
        };
        Regional {
            default: national,
            regions: self
                .regions
                .iter()
                .map(|(region, limits)| {
                    let own = Limits {
                        consent_working_days: limits
                            .consent_working_days
                            .unwrap_or(national.consent_working_days),
                        decision_working_days: limits
                            .decision_working_days
                            .unwrap_or(national.decision_working_days),
                    };
                    (region.clone(), own)
                })
                .collect(),
        }
    }

    /// The settings that cannot work, as one message per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !govmedia_kit::validate::is_id(&self.system_organization) {
            problems.push(
                "filing.system_organization must name the root organization the service serves \
                 (e.g. GOVMEDIA_FILING__SYSTEM_ORGANIZATION=qinghai)"
                    .to_owned(),
            );
        }
        problems.extend(endpoint_problem(
            "filing.registry_endpoint",
            &self.registry_endpoint,
        ));
        if !self.inspection_endpoint.is_empty() {
            problems.extend(endpoint_problem(
                "filing.inspection_endpoint",
                &self.inspection_endpoint,
            ));
        }
        for (name, value) in [
            ("registry_timeout_ms", self.registry_timeout_ms),
            ("inspection_timeout_ms", self.inspection_timeout_ms),
            ("reminder_interval_ms", self.reminder_interval_ms),
            ("apply_interval_ms", self.apply_interval_ms),
            ("apply_retry_initial_ms", self.apply_retry_initial_ms),
            ("apply_max_attempts", u64::from(self.apply_max_attempts)),
        ] {
            if value == 0 {
                problems.push(format!("filing.{name} must be positive"));
            }
        }
        let mut limit = |section: &str, name: &str, days: u32| {
            if !(1..=60).contains(&days) {
                problems.push(format!(
                    "{section}.{name} must be between 1 and 60 working days"
                ));
            }
        };
        limit("filing", "consent_working_days", self.consent_working_days);
        limit(
            "filing",
            "decision_working_days",
            self.decision_working_days,
        );
        for (region, limits) in &self.regions {
            let section = format!("filing.regions.{region}");
            if let Some(days) = limits.consent_working_days {
                limit(&section, "consent_working_days", days);
            }
            if let Some(days) = limits.decision_working_days {
                limit(&section, "decision_working_days", days);
            }
        }
        for region in self.regions.keys() {
            if !govmedia_kit::validate::is_id(region) {
                problems.push(format!(
                    "filing.regions.{region} must be named by an organization id"
                ));
            }
        }
        if self.apply_retry_max_ms < self.apply_retry_initial_ms {
            problems.push(
                "filing.apply_retry_max_ms must not be below filing.apply_retry_initial_ms"
                    .to_owned(),
            );
        }
        self.national.problems(&mut problems);
        problems
    }
}
