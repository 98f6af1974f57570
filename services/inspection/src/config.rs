//! The inspection service's own settings (the `[inspection]` section).

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use serde::{Deserialize, Serialize};

use crate::domain::detect::Knowledge;

/// Default gRPC port of the inspection service.
pub const DEFAULT_PORT: u16 = 50065;

/// See the field docs; every field has a default except `system_organization` in production.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct InspectionConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// The registry, e.g. `http://127.0.0.1:50061`: the ledger of accounts and where each
    /// caller's jurisdiction lies.
    pub registry_endpoint: String,
    /// The organization the service acts for when it asks the registry on its own account: the
    /// root of the tree it serves, e.g. `qinghai`. Its SUPERVISORs manage the lexicons.
    pub system_organization: String,
    /// Each call to the registry gives up after this long.
    pub registry_timeout_ms: u64,
    /// The routing service, e.g. `http://127.0.0.1:50064`: citizens' messages (hollow
    /// interaction) and approved drafts (posts published without review). Empty: those
    /// detectors report NOT_EVALUATED.
    pub routing_endpoint: String,
    /// The vendor service, e.g. `http://127.0.0.1:50063`: oversight signals (outsourcing
    /// without oversight). Empty: that detector reports NOT_EVALUATED.
    pub vendor_endpoint: String,
    /// The filing service, e.g. `http://127.0.0.1:50062`: the platforms' rosters (a cancelled
    /// account a platform still lists, 僵尸号). Empty: that detector reports NOT_EVALUATED for
    /// cancelled accounts.
    pub filing_endpoint: String,
    /// Each call to the routing, vendor or filing service gives up after this long.
    pub peer_timeout_ms: u64,
    /// A probe of an account's service link gives up after this long (a failure).
    pub probe_timeout_ms: u64,
    /// Lexicon files loaded at start beside the shipped starter lexicon and those put through
    /// the API, each under its file name without extension. A file with a bad line stops the
    /// start, naming the file and the line.
    pub lexicon_files: Vec<PathBuf>,
    /// Link domains that are not commercial: a link to one of them or to a subdomain is no
    /// finding of the commercial-content detector (government sites, the platforms' own pages,
    /// the central media).
    pub link_allow_domains: Vec<String>,
    /// Sources whose relay counts as relaying authoritative central information (转载权威信息,
    /// R-25), matched against a post's `relayed_from`.
    pub authoritative_sources: Vec<String>,
    /// How far back a check reads an account's posts, in days (the longest window a scheme
    /// item may ask for).
    pub lookback_days: u32,
    /// Run the daily monitoring in this process (one replica at a time does, under a lease).
    pub workers: bool,
    /// The daily monitoring run, the `[inspection.monitoring]` table.
    pub monitoring: MonitoringConfig,
    /// The RSS/Atom collector, the `[inspection.feeds]` table.
    pub feeds: FeedConfig,
    /// The share of each stratum a spot check draws when its request names none, 0-1 (a
    /// ministry samples at least 10 % of its accounts each quarter).
    pub spot_check_ratio: f64,
    /// Rectification orders, the `[inspection.rectification]` table.
    pub rectification: RectificationConfig,
    /// When an account is recommended for closure, the `[inspection.closure]` table.
    pub closure: ClosureConfig,
    /// When an account is to be merged or closed, the `[inspection.consolidation]`
    /// table.
    pub consolidation: ConsolidationConfig,
}

/// The thresholds of consolidation: below how much attention or use an account counts
/// as little used.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsolidationConfig {
    /// The window the numbers cover, in days before now.
    pub window_days: u32,
    /// Followers (counted only when the ledger has a count).
    pub min_followers: i64,
    /// Posts in the window.
    pub min_posts: u32,
    /// Reads per post.
    pub min_reads_per_post: i64,
    /// Likes, comments and shares per post.
    pub min_interactions_per_post: i64,
    /// Citizens' messages received in the window (counted only when routing answers).
    pub min_messages: i64,
    /// How many of these must be low for an account to count as little used.
    pub low_signals: u32,
}

impl Default for ConsolidationConfig {
    fn default() -> Self {
        Self {
            window_days: 90,
            min_followers: 500,
            min_posts: 6,
            min_reads_per_post: 100,
            min_interactions_per_post: 1,
            min_messages: 1,
            low_signals: 2,
        }
    }
}

impl ConsolidationConfig {
    /// The thresholds.
    pub fn thresholds(&self) -> crate::domain::consolidation::Thresholds {
        crate::domain::consolidation::Thresholds {
            window_days: self.window_days,
            min_followers: self.min_followers,
            min_posts: self.min_posts,
            min_reads_per_post: self.min_reads_per_post,
            min_interactions_per_post: self.min_interactions_per_post,
            min_messages: self.min_messages,
            low_signals: self.low_signals,
        }
    }
}

/// The thresholds of closure recommendations.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ClosureConfig {
    /// Still failing after rectification: an order rejected this many times and not verified.
    pub rejected_rounds: u32,
    /// Failing repeatedly: this many findings first found within `repeat_quarters`.
    pub repeat_findings: u32,
    /// The period of `repeat_findings`, in calendar quarters, the current one included.
    pub repeat_quarters: u32,
}

impl Default for ClosureConfig {
    fn default() -> Self {
        Self {
            rejected_rounds: 2,
            repeat_findings: 5,
            repeat_quarters: 4,
        }
    }
}

impl ClosureConfig {
    /// The thresholds of the rules.
    pub fn thresholds(&self) -> crate::domain::closure::Thresholds {
        crate::domain::closure::Thresholds {
            rejected_rounds: self.rejected_rounds,
            repeat_findings: self.repeat_findings,
            repeat_quarters: self.repeat_quarters,
        }
    }
}

/// Deadlines of rectification orders and the worker that warns, escalates and re-checks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RectificationConfig {
    /// A round's deadline in working days when the request names none (1-60).
    pub deadline_days: u32,
    /// The warning fires when this many working days of a round's deadline are left without
    /// an answer (0: no warning).
    pub warning_days: u32,
    /// How often due warnings, escalations and re-checks are looked for (a change of this
    /// replica also wakes the worker).
    pub poll_ms: u64,
    /// First wait before a re-check that failed (the registry or a peer did not answer) is
    /// tried again; it doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    /// Longest wait between two tries.
    pub retry_max_ms: u64,
    /// Tries before a re-check is given up (DEAD, for `govmedia jobs`).
    pub max_attempts: u32,
}

impl Default for RectificationConfig {
    fn default() -> Self {
        Self {
            deadline_days: 10,
            warning_days: 2,
            poll_ms: 5_000,
            retry_initial_ms: 1_000,
            retry_max_ms: 600_000,
            max_attempts: 50,
        }
    }
}

impl Default for InspectionConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            registry_endpoint: "http://127.0.0.1:50061".to_owned(),
            system_organization: String::new(),
            registry_timeout_ms: 5_000,
            routing_endpoint: "http://127.0.0.1:50064".to_owned(),
            vendor_endpoint: "http://127.0.0.1:50063".to_owned(),
            filing_endpoint: "http://127.0.0.1:50062".to_owned(),
            peer_timeout_ms: 5_000,
            probe_timeout_ms: 5_000,
            lexicon_files: Vec::new(),
            link_allow_domains: [
                "gov.cn",
                "12345.gov.cn",
                "weixin.qq.com",
                "qq.com",
                "weibo.com",
                "weibo.cn",
                "douyin.com",
                "toutiao.com",
                "kuaishou.com",
                "bilibili.com",
                "xinhuanet.com",
                "news.cn",
                "people.com.cn",
                "cctv.com",
                "cctv.cn",
                "chinadaily.com.cn",
                "gmw.cn",
                "qstheory.cn",
                "ce.cn",
                "cnr.cn",
            ]
            .map(str::to_owned)
            .to_vec(),
            authoritative_sources: [
                "新华社",
                "新华网",
                "人民日报",
                "人民网",
                "中国政府网",
                "央视新闻",
                "中央广播电视总台",
                "求是",
                "光明日报",
                "经济日报",
                "中国日报",
                "学习强国",
            ]
            .map(str::to_owned)
            .to_vec(),
            lookback_days: 400,
            spot_check_ratio: 0.1,
            workers: true,
            monitoring: MonitoringConfig::default(),
            feeds: FeedConfig::default(),
            rectification: RectificationConfig::default(),
            closure: ClosureConfig::default(),
            consolidation: ConsolidationConfig::default(),
        }
    }
}

/// How the RSS/Atom collector polls.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// The wait between two polls of a feed that answered.
    pub interval_ms: u64,
    /// The longest wait after failures (the wait doubles per failure).
    pub max_backoff_ms: u64,
    /// A poll (connection, answer and the whole document) gives up after this long: a feed
    /// that never ends is a failure, not a stuck collector.
    pub timeout_ms: u64,
    /// The largest document taken; a larger one is a failure.
    pub max_bytes: u64,
    /// How often due feeds are looked for (a new feed also wakes the collector).
    pub poll_ms: u64,
    /// Feeds polled at the same time.
    pub concurrency: u32,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            interval_ms: 15 * 60_000,
            max_backoff_ms: 24 * 3_600_000,
            timeout_ms: 10_000,
            max_bytes: 5 * 1024 * 1024,
            poll_ms: 5_000,
            concurrency: 4,
        }
    }
}

/// When and how the daily monitoring run checks the accounts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// The time of day (Asia/Shanghai, `HH:MM`) the daily run starts.
    pub daily_at: String,
    /// The scheme the run checks under, e.g. `national`.
    pub scheme: String,
    /// An account not checked for this many days is checked again whatever changed.
    pub refresh_days: u32,
    /// Accounts checked at the same time.
    pub concurrency: u32,
    /// Longest wait before looking for a run asked for on another replica.
    pub poll_ms: u64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            daily_at: "02:00".to_owned(),
            scheme: crate::domain::scheme::NATIONAL.to_owned(),
            refresh_days: 7,
            concurrency: 4,
            poll_ms: 60_000,
        }
    }
}

impl MonitoringConfig {
    /// `daily_at` as (hour, minute), when valid.
    pub fn daily_time(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(&self.daily_at, "%H:%M").ok()
    }
}

impl InspectionConfig {
    /// What the detectors know besides the data: allowed link domains, authoritative sources.
    pub fn knowledge(&self) -> Knowledge {
        Knowledge {
            link_allow_domains: self
                .link_allow_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            authoritative_sources: self
                .authoritative_sources
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    /// The default share of a spot check, in parts per thousand.
    pub fn spot_check_per_mille(&self) -> u32 {
        ((self.spot_check_ratio * 1000.0).round() as u32).clamp(1, 1000)
    }

    /// The settings that cannot work, one message per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !govmedia_kit::validate::is_id(&self.system_organization) {
            problems.push(
                "inspection.system_organization must name the root organization the service serves (GOVMEDIA_INSPECTION__SYSTEM_ORGANIZATION)"
                    .to_owned(),
            );
        }
        for (name, endpoint, optional) in [
            ("registry_endpoint", &self.registry_endpoint, false),
            ("routing_endpoint", &self.routing_endpoint, true),
            ("vendor_endpoint", &self.vendor_endpoint, true),
            ("filing_endpoint", &self.filing_endpoint, true),
        ] {
            if optional && endpoint.is_empty() {
                continue;
            }
            problems.extend(govmedia_kit::endpoints::problem(
                &format!("inspection.{name}"),
                endpoint,
            ));
        }
        if self.registry_timeout_ms == 0 || self.peer_timeout_ms == 0 || self.probe_timeout_ms == 0
        {
            problems.push(
                "inspection.registry_timeout_ms, peer_timeout_ms and probe_timeout_ms must be positive"
                    .to_owned(),
            );
        }
        let monitoring = &self.monitoring;
        if monitoring.daily_time().is_none() {
            problems.push(format!(
                "inspection.monitoring.daily_at {:?} is not a time of day like 02:00",
                monitoring.daily_at
            ));
        }
        if !govmedia_kit::validate::is_id(&monitoring.scheme) {
            problems
                .push("inspection.monitoring.scheme must name a scheme, e.g. national".to_owned());
        }
        if !(1..=365).contains(&monitoring.refresh_days) {
            problems
                .push("inspection.monitoring.refresh_days must be between 1 and 365".to_owned());
        }
        if !(1..=64).contains(&monitoring.concurrency) {
            problems.push("inspection.monitoring.concurrency must be between 1 and 64".to_owned());
        }
        if monitoring.poll_ms < 10 {
            problems.push("inspection.monitoring.poll_ms must be at least 10".to_owned());
        }
        let rectification = &self.rectification;
        if !(1..=crate::domain::rectification::MAX_DEADLINE_DAYS)
            .contains(&rectification.deadline_days)
        {
            problems.push(format!(
                "inspection.rectification.deadline_days must be between 1 and {}",
                crate::domain::rectification::MAX_DEADLINE_DAYS
            ));
        }
        if rectification.warning_days >= crate::domain::rectification::MAX_DEADLINE_DAYS {
            problems.push(format!(
                "inspection.rectification.warning_days must be below {}",
                crate::domain::rectification::MAX_DEADLINE_DAYS
            ));
        }
        if rectification.poll_ms < 10
            || rectification.retry_initial_ms == 0
            || rectification.retry_max_ms < rectification.retry_initial_ms
            || rectification.max_attempts == 0
        {
            problems.push("inspection.rectification.poll_ms must be at least 10, retry_initial_ms positive and at most retry_max_ms, max_attempts positive".to_owned());
        }
        let closure = &self.closure;
        if !(1..=20).contains(&closure.rejected_rounds)
            || !(1..=10_000).contains(&closure.repeat_findings)
            || !(1..=20).contains(&closure.repeat_quarters)
        {
            problems.push("inspection.closure.rejected_rounds must be 1-20, repeat_findings 1-10000, repeat_quarters 1-20".to_owned());
        }
        let consolidation = &self.consolidation;
        if !(1..=366).contains(&consolidation.window_days)
            || !(1..=5).contains(&consolidation.low_signals)
            || consolidation.min_followers < 0
            || consolidation.min_reads_per_post < 0
            || consolidation.min_interactions_per_post < 0
            || consolidation.min_messages < 0
        {
            problems.push("inspection.consolidation.window_days must be 1-366, low_signals 1-5, the minimums not negative".to_owned());
        }
        let feeds = &self.feeds;
        if feeds.interval_ms < 1_000 || feeds.max_backoff_ms < feeds.interval_ms {
            problems.push("inspection.feeds.interval_ms must be at least 1000 and at most inspection.feeds.max_backoff_ms".to_owned());
        }
        if feeds.timeout_ms == 0 || feeds.poll_ms < 10 {
            problems.push("inspection.feeds.timeout_ms must be positive and inspection.feeds.poll_ms at least 10".to_owned());
        }
        if !(1_024..=1_073_741_824).contains(&feeds.max_bytes) {
            problems.push("inspection.feeds.max_bytes must be between 1 KiB and 1 GiB".to_owned());
        }
        if !(1..=64).contains(&feeds.concurrency) {
            problems.push("inspection.feeds.concurrency must be between 1 and 64".to_owned());
        }
        if !(self.spot_check_ratio > 0.0 && self.spot_check_ratio <= 1.0) {
            problems
                .push("inspection.spot_check_ratio must be more than 0 and at most 1".to_owned());
        }
        if !(30..=3_650).contains(&self.lookback_days) {
            problems.push("inspection.lookback_days must be between 30 and 3650".to_owned());
        }
        for domain in &self.link_allow_domains {
            let domain = domain.trim().trim_start_matches('.');
            if domain.is_empty()
                || !domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                problems.push(format!(
                    "inspection.link_allow_domains holds {domain:?}, which is not a domain name like gov.cn"
                ));
            }
        }
        for file in &self.lexicon_files {
            if file
                .file_stem()
                .and_then(|s| s.to_str())
                .is_none_or(|stem| {
                    !govmedia_kit::validate::is_id(stem) || stem == crate::domain::STARTER
                })
            {
                problems.push(format!(
                    "inspection.lexicon_files: {} must be named like `national-2026.lexicon` (its name without extension a lower-case id other than `starter`)",
                    file.display()
                ));
            }
        }
        problems
    }
}
