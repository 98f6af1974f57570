//! The routing service's own settings (the `[routing]` section).

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use serde::{Deserialize, Serialize};

use crate::{
    domain::{Category, Limits, escalation::Ladder},
    personal::{Vault, VaultError},
};

/// Default gRPC port of the routing service.
pub const DEFAULT_PORT: u16 = 50064;

/// See the field docs; every field has a default except `system_organization` and the
/// personal-data key in production.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// The registry, e.g. `http://127.0.0.1:50061`: accounts, organizations and where each
    /// caller's jurisdiction lies.
    pub registry_endpoint: String,
    /// The organization the service acts for when it asks the registry on its own account.
    pub system_organization: String,
    /// Each call to the registry gives up after this long.
    pub registry_timeout_ms: u64,
    /// The SM4 key that seals citizens' personal data, as 32 hexadecimal digits
    /// (`GOVMEDIA_ROUTING__CONTACT_KEY`). Prefer `contact_key_file`.
    pub contact_key: String,
    /// A file holding that key (readable by the service alone). One of the two is required.
    pub contact_key_file: Option<PathBuf>,
    /// Run the publisher (approved replies to the platforms) in this process. At least one
    /// replica must.
    pub workers: bool,
    /// Working-day limits, the `[routing.deadlines]` table.
    pub deadlines: DeadlineConfig,
    /// Near-duplicate merging, the `[routing.merge]` table.
    pub merge: MergeConfig,
    /// Publication of approved replies, the `[routing.publish]` table.
    pub publish: PublishConfig,
    /// The escalation ladder, the `[routing.escalation]` table.
    pub escalation: EscalationConfig,
}

/// When warnings and escalations fire (events `CaseEscalated`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationConfig {
    /// Hours before a handling deadline the warning fires; 0 sends none.
    pub warn_hours_before: u32,
    /// Working days after the deadline 督办 fires.
    pub supervise_after_days: u32,
    /// Working days after the deadline 通报 fires (more than `supervise_after_days`).
    pub notify_after_days: u32,
    /// Longest the scheduler sleeps before it looks again for timers another replica added;
    /// a timer added on this replica wakes it at once.
    pub poll_ms: u64,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        Self {
            warn_hours_before: 24,
            supervise_after_days: 2,
            notify_after_days: 5,
            poll_ms: 1_000,
        }
    }
}

/// Working-day limits, counted from the day after each step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineConfig {
    /// Days the dispatcher has to dispatch a received message.
    pub dispatch_days: u32,
    /// Days a department has to sign for a dispatched case.
    pub sign_for_days: u32,
    /// Days to answer a consultation.
    pub consult_days: u32,
    /// Days to answer a request for help.
    pub help_days: u32,
    /// Days to answer a complaint.
    pub complaint_days: u32,
    /// Days to answer a report.
    pub report_days: u32,
    /// Days to answer a suggestion.
    pub suggestion_days: u32,
    /// Days after dispatch in which a department may return a case.
    pub return_window_days: u32,
    /// Most working days all extensions of one handling round may add.
    pub max_extension_days: u32,
    /// Days a reopened case gets.
    pub reopen_days: u32,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        Self {
            dispatch_days: 1,
            sign_for_days: 1,
            consult_days: 5,
            help_days: 5,
            complaint_days: 5,
            report_days: 5,
            suggestion_days: 5,
            return_window_days: 2,
            max_extension_days: 10,
            reopen_days: 5,
        }
    }
}

/// When a message joins an open case instead of opening one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MergeConfig {
    /// Hours back an open case of the same citizen on the same account is looked for; 0 turns
    /// merging off.
    pub window_hours: u32,
    /// Least similarity of the texts (character bigrams, percent).
    pub min_similarity_percent: u32,
}

impl Default for MergeConfig {
    fn default() -> Self {
        Self {
            window_hours: 72,
            min_similarity_percent: 60,
        }
    }
}

/// Where approved replies go. govmedia holds no platform's credentials: a bridge that does
/// (the unit's publishing system) takes the replies from the spool directory, one JSON file
/// per reply, written atomically.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// The spool directory. Required where `workers` is on.
    pub spool_dir: Option<PathBuf>,
    /// How often queued replies are looked for (an approval also wakes the publisher at once).
    pub interval_ms: u64,
    /// First wait before trying a failed publication again; doubles per attempt.
    pub retry_initial_ms: u64,
    /// Longest wait between attempts.
    pub retry_max_ms: u64,
    /// Attempts before a publication is given up (its job is DEAD, listed by `govmedia jobs
    /// dead routing`).
    pub max_attempts: u32,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            spool_dir: None,
            interval_ms: 5_000,
            retry_initial_ms: 1_000,
            retry_max_ms: 600_000,
            max_attempts: 100,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            registry_endpoint: "http://127.0.0.1:50061".to_owned(),
            system_organization: String::new(),
            registry_timeout_ms: 5_000,
            contact_key: String::new(),
            contact_key_file: None,
            workers: true,
            deadlines: DeadlineConfig::default(),
            merge: MergeConfig::default(),
            publish: PublishConfig::default(),
            escalation: EscalationConfig::default(),
        }
    }
}

impl RoutingConfig {
    /// The working-day limits of these settings.
    pub fn limits(&self) -> Limits {
        let d = &self.deadlines;
        Limits {
            dispatch_days: d.dispatch_days,
            sign_for_days: d.sign_for_days,
            handling_days: [
                (Category::Consult, d.consult_days),
                (Category::Help, d.help_days),
                (Category::Complaint, d.complaint_days),
                (Category::Report, d.report_days),
                (Category::Suggestion, d.suggestion_days),
            ],
            return_window_days: d.return_window_days,
            max_extension_days: d.max_extension_days,
            reopen_days: d.reopen_days,
        }
    }

    /// The escalation ladder of these settings.
    pub fn ladder(&self) -> Ladder {
        Ladder {
            warn_hours_before: self.escalation.warn_hours_before,
            supervise_after_days: self.escalation.supervise_after_days,
            notify_after_days: self.escalation.notify_after_days,
        }
    }

    /// The vault of the configured key (read from its file when one is named).
    pub fn vault(&self) -> Result<Vault, String> {
        let hex = match (&self.contact_key_file, self.contact_key.is_empty()) {
            (Some(_), false) => {
                return Err(
                    "set routing.contact_key or routing.contact_key_file, not both".to_owned(),
                );
            }
            (Some(file), true) => std::fs::read_to_string(file).map_err(|error| {
                format!(
                    "routing.contact_key_file {} cannot be read: {error}",
                    file.display()
                )
            })?,
            (None, false) => self.contact_key.clone(),
            (None, true) => {
                return Err("routing.contact_key_file (or routing.contact_key) must hold the SM4 key that seals citizens' personal data: 32 hexadecimal digits, e.g. from `openssl rand -hex 16`".to_owned());
            }
        };
        Vault::from_hex(&hex).map_err(|error| match error {
            VaultError::BadKey => format!("the routing personal-data key: {error}"),
            other => other.to_string(),
        })
    }

    /// The settings that cannot work with the spool adapter `govmedia` runs, as one message per
    /// problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.problems_besides_spool();
        if self.workers && self.publish.spool_dir.is_none() {
            problems.push(
                "routing.publish.spool_dir must name the directory approved replies are written to for the platforms' publishing bridge (GOVMEDIA_ROUTING__PUBLISH__SPOOL_DIR)"
                    .to_owned(),
            );
        }
        problems
    }

    /// The settings that cannot work whatever adapter publishes the replies.
    pub fn problems_besides_spool(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !govmedia_kit::validate::is_id(&self.system_organization) {
            problems.push(
                "routing.system_organization must name the root organization the service serves (GOVMEDIA_ROUTING__SYSTEM_ORGANIZATION)"
                    .to_owned(),
            );
        }
        problems.extend(govmedia_kit::endpoints::problem(
            "routing.registry_endpoint",
            &self.registry_endpoint,
        ));
        if let Err(problem) = self.vault() {
            problems.push(problem);
        }
        let d = &self.deadlines;
        for (name, value, max) in [
            ("dispatch_days", d.dispatch_days, 30),
            ("sign_for_days", d.sign_for_days, 30),
            ("consult_days", d.consult_days, 60),
            ("help_days", d.help_days, 60),
            ("complaint_days", d.complaint_days, 60),
            ("report_days", d.report_days, 60),
            ("suggestion_days", d.suggestion_days, 60),
            ("return_window_days", d.return_window_days, 30),
            ("reopen_days", d.reopen_days, 60),
        ] {
            if !(1..=max).contains(&value) {
                problems.push(format!(
                    "routing.deadlines.{name} must be between 1 and {max} working days"
                ));
            }
        }
        if d.max_extension_days > 60 {
            problems.push("routing.deadlines.max_extension_days must be at most 60".to_owned());
        }
        if self.merge.min_similarity_percent > 100 {
            problems.push("routing.merge.min_similarity_percent must be at most 100".to_owned());
        }
        if self.merge.window_hours > 24 * 90 {
            problems.push("routing.merge.window_hours must be at most 2160 (90 days)".to_owned());
        }
        let e = &self.escalation;
        if e.warn_hours_before > 240 {
            problems.push("routing.escalation.warn_hours_before must be at most 240".to_owned());
        }
        if !(1..=30).contains(&e.supervise_after_days)
            || e.notify_after_days <= e.supervise_after_days
            || e.notify_after_days > 60
        {
            problems.push(
                "routing.escalation: supervise_after_days must be 1 to 30 working days and notify_after_days more than it, at most 60"
                    .to_owned(),
            );
        }
        if !(10..=60_000).contains(&e.poll_ms) {
            problems.push("routing.escalation.poll_ms must be between 10 and 60000".to_owned());
        }
        let p = &self.publish;
        for (name, value) in [
            ("publish.interval_ms", p.interval_ms),
            ("publish.retry_initial_ms", p.retry_initial_ms),
            ("publish.max_attempts", u64::from(p.max_attempts)),
            ("registry_timeout_ms", self.registry_timeout_ms),
        ] {
            if value == 0 {
                problems.push(format!("routing.{name} must be positive"));
            }
        }
        if p.retry_max_ms < p.retry_initial_ms {
            problems.push(
                "routing.publish.retry_max_ms must not be below routing.publish.retry_initial_ms"
                    .to_owned(),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_need_the_organization_the_key_and_the_spool() {
        let mut config = RoutingConfig::default();
        assert_eq!(config.problems().len(), 3, "{:?}", config.problems());
        config.system_organization = "qinghai".into();
        config.contact_key = "00112233445566778899aabbccddeeff".into();
        config.publish.spool_dir = Some("/tmp/replies".into());
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        config.contact_key = "short".into();
        config.deadlines.consult_days = 0;
        assert_eq!(config.problems().len(), 2, "{:?}", config.problems());
        // The key never appears in a message.
        assert!(config.problems().iter().all(|p| !p.contains("short")));
    }
}
