//! The rules of inspection, without I/O: what a post is ([`post`]), what each detector finds
//! ([`detect`]), what a scheme is and how it turns detector outcomes into a verdict
//! ([`scheme`]), what a finding rests on ([`finding`]) and how a rectification order runs
//! ([`rectification`]).

pub mod bulletin;
pub mod check;
pub mod closure;
pub mod consolidation;
pub mod detect;
pub mod feed;
pub mod finding;
pub mod hot;
pub mod notice;
pub mod period;
pub mod post;
pub mod rectification;
pub mod rollup;
pub mod run;
pub mod sample;
pub mod scheme;

use chrono::{DateTime, Utc};

pub use check::{Check, SpotCheck};
pub use finding::{Evidence, Finding};
pub use hot::HotEvent;
pub use post::Post;
pub use scheme::Scheme;

/// The name of the shipped lexicon, which cannot be replaced.
pub const STARTER: &str = "starter";

/// Who did something, and when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// When.
    pub time: DateTime<Utc>,
    /// The subject (a person's id or a system's name).
    pub actor: String,
    /// The actor's organization id.
    pub actor_organization: String,
}

/// True when `path` (a materialized path ending in `/`) lies in the subtree rooted at `root`.
pub fn within(root: &str, path: &str) -> bool {
    !root.is_empty() && path.starts_with(root)
}

govmedia_kit::numbered! {
    /// The eight problem categories of the notice (`ProblemCategory`).
    Category {
        /// 功能定位不清.
        UnclearPositioning = 1 => "UNCLEAR_POSITIONING",
        /// 信息质量不高.
        LowInformationQuality = 2 => "LOW_INFORMATION_QUALITY",
        /// 互动服务不实.
        HollowInteraction = 3 => "HOLLOW_INTERACTION",
        /// 审核把关不严.
        LaxReview = 4 => "LAX_REVIEW",
        /// 管理底数不清.
        UnknownHeadcount = 5 => "UNKNOWN_HEADCOUNT",
        /// 过度娱乐化.
        OverEntertainment = 6 => "OVER_ENTERTAINMENT",
        /// 运维保障差.
        PoorMaintenance = 7 => "POOR_MAINTENANCE",
        /// 托管变脱管.
        UnsupervisedOutsourcing = 8 => "UNSUPERVISED_OUTSOURCING",
    }
}

impl Category {
    /// The notice's own words for the category.
    pub fn zh(self) -> &'static str {
        match self {
            Category::UnclearPositioning => "功能定位不清",
            Category::LowInformationQuality => "信息质量不高",
            Category::HollowInteraction => "互动服务不实",
            Category::LaxReview => "审核把关不严",
            Category::UnknownHeadcount => "管理底数不清",
            Category::OverEntertainment => "过度娱乐化",
            Category::PoorMaintenance => "运维保障差",
            Category::UnsupervisedOutsourcing => "托管变脱管",
        }
    }
}

govmedia_kit::numbered! {
    /// How serious a wording or a finding is (`Severity`).
    Severity {
        /// Low.
        Low = 1 => "LOW",
        /// Medium.
        Medium = 2 => "MEDIUM",
        /// High: a serious error, a veto of the national scheme.
        High = 3 => "HIGH",
    }
}

impl Severity {
    /// The word a bulletin uses.
    pub fn zh(self) -> &'static str {
        match self {
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
        }
    }
}

impl From<govmedia_scanner::Severity> for Severity {
    fn from(severity: govmedia_scanner::Severity) -> Self {
        match severity {
            govmedia_scanner::Severity::Low => Severity::Low,
            govmedia_scanner::Severity::Medium => Severity::Medium,
            govmedia_scanner::Severity::High => Severity::High,
        }
    }
}

govmedia_kit::numbered! {
    /// What a post carries besides text (`MediaKind`).
    MediaKind {
        /// Text only.
        Text = 1 => "TEXT",
        /// Pictures and graphics.
        Image = 2 => "IMAGE",
        /// Video.
        Video = 3 => "VIDEO",
        /// Audio.
        Audio = 4 => "AUDIO",
        /// A live broadcast.
        Live = 5 => "LIVE",
    }
}

/// The ledger status of an account: the rule's one home is the accounts crate.
pub use govmedia_accounts::status::AccountStatus;

/// An account as the ledger describes it, what detectors and selectors read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: String,
    /// The owning organization's id.
    pub organization: String,
    /// The owning organization's materialized path (ending in `/`).
    pub path: String,
    /// Its name on the platform.
    pub display_name: String,
    /// `Platform` number.
    pub platform: i32,
    /// `AccountKind` number.
    pub kind: i32,
    /// `AdministrativeLevel` number.
    pub level: i32,
    /// Its ledger status; `None` for a status this service does not know.
    pub status: Option<AccountStatus>,
    /// When it was opened, if it was.
    pub opened: Option<DateTime<Utc>>,
    /// Its homepage or service link in the ledger (empty when none).
    pub homepage: String,
    /// Its followers as the ledger last heard them from a collector; none when it has no count
    /// (the ledger keeps 0 until one is reported).
    pub followers: Option<i64>,
}

/// `AccountKind::PUBLISHING`, the kind the update rules are about.
pub const PUBLISHING: i32 = 1;
