//! The vendor rules, in plain Rust: no I/O, no protobuf, no database. Handlers load what a rule
//! needs, ask the rule, and store the outcome.

pub mod delegation;
pub mod performance;
pub mod signals;
pub mod status;
pub mod vetting;

use chrono::{DateTime, Utc};
use govmedia_kit::numbered;

pub use delegation::{Delegation, DelegationStatus, Handover, HandoverState, Reviewer, Scope};
pub use status::{StatusChange, StatusError, VendorStatus};
pub use vetting::{Assessor, Dimension, Score, Vetting, VettingRules};

numbered! {
    /// Kinds of qualification a vendor holds.
    QualificationKind {
        /// 营业执照.
        BusinessLicense = 1 => "BUSINESS_LICENSE",
        /// 增值电信业务经营许可证.
        TelecomValueAdded = 2 => "TELECOM_VALUE_ADDED",
        /// 互联网新闻信息服务许可证.
        InternetNewsService = 3 => "INTERNET_NEWS_SERVICE",
        /// 广播电视节目制作经营许可证.
        RadioTvProduction = 4 => "RADIO_TV_PRODUCTION",
        /// 网络文化经营许可证.
        NetworkCulture = 5 => "NETWORK_CULTURE",
        /// 信息安全/保密资质.
        SecurityCertification = 6 => "SECURITY_CERTIFICATION",
        /// Any other.
        Other = 7 => "OTHER",
    }
}

/// Who changed something, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// When.
    pub time: DateTime<Utc>,
    /// The caller's subject.
    pub actor: String,
    /// The caller's organization id.
    pub actor_organization: String,
}

/// A person to reach at a vendor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// Full name.
    pub display_name: String,
    /// Post or title.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
}

/// A licence or permit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qualification {
    /// `q1`, `q2`, ... within the vendor.
    pub id: String,
    /// Kind.
    pub kind: QualificationKind,
    /// Number printed on it.
    pub number: String,
    /// Issuing authority.
    pub issuer: String,
    /// First valid instant.
    pub valid_from: DateTime<Utc>,
    /// First instant no longer valid.
    pub valid_until: DateTime<Utc>,
    /// Where the document is.
    pub file_uri: String,
    /// SHA-256 of the document, lower-case hex.
    pub file_sha256: String,
    /// Who added it.
    pub added: Stamp,
}

/// An outsourcing vendor.
#[derive(Clone, Debug, PartialEq)]
pub struct Vendor {
    /// Id.
    pub id: String,
    /// Legal name.
    pub display_name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// The organization whose jurisdiction registered it (a government).
    pub organization: String,
    /// Its materialized path, `/qinghai/haixi/golmud/`: the key of jurisdiction.
    pub organization_path: String,
    /// People to reach.
    pub contacts: Vec<Contact>,
    /// Licences and permits, in the order added.
    pub qualifications: Vec<Qualification>,
    /// Where it stands.
    pub status: VendorStatus,
    /// Why it took that status.
    pub status_reason: String,
    /// When it took that status.
    pub status_time: DateTime<Utc>,
    /// The vetting its approval rests on.
    pub approval_vetting: Option<String>,
    /// When that vetting stops counting.
    pub approval_valid_until: Option<DateTime<Utc>>,
    /// The organization that blacklisted it.
    pub blacklisted_in: Option<String>,
    /// Why it is flagged for clean-out, empty when it is not (see [`Flag`]).
    pub clean_out_flag: String,
    /// Registration.
    pub created: Stamp,
    /// Last change.
    pub updated: Stamp,
    /// Optimistic-concurrency version, 1 on creation.
    pub version: i64,
}

impl Vendor {
    /// `vendors/{id}`.
    pub fn name(&self) -> String {
        format!("vendors/{}", self.id)
    }

    /// Flags the vendor for clean-out because of `flag`, or clears a flag of the same source
    /// when `flag` is a pass; true when the flag changed.
    pub fn flag(&mut self, flag: Flag) -> bool {
        let before = self.clean_out_flag.clone();
        match flag {
            Flag::Failed { source, why } => self.clean_out_flag = format!("{source}: {why}"),
            Flag::Passed { source } => {
                if self.clean_out_flag.starts_with(&format!("{source}:")) {
                    self.clean_out_flag.clear();
                }
            }
        }
        self.clean_out_flag != before
    }
}

/// What a vetting or an assessment says about the clean-out flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flag {
    /// It failed: flag the vendor, saying why.
    Failed {
        /// `vetting` or `performance`.
        source: &'static str,
        /// What failed.
        why: String,
    },
    /// It passed: clear a flag of the same source.
    Passed {
        /// `vetting` or `performance`.
        source: &'static str,
    },
}

/// How a vendor's jurisdiction relates to a caller's: who may see it and who may act on it.
///
/// A vendor belongs to the jurisdiction that registered it. The supervisors of that jurisdiction
/// and of the levels above act on it; everyone on its line (above it, at it or below it) sees
/// it, so a county's units may use a vendor the province vetted, and the province sees the
/// vendors its counties registered. A sibling region sees nothing of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The vendor lies in the caller's jurisdiction (its own or a subtree of it): the caller
    /// sees it and, as a supervisor, acts on it.
    Governs,
    /// The vendor was registered above the caller: visible, not the caller's to change.
    Sees,
    /// Another branch of the tree.
    None,
}

/// How a caller whose jurisdiction is rooted at `caller_path` reaches what is registered at
/// `path` (both materialized paths ending in `/`).
pub fn reach(caller_path: &str, path: &str) -> Reach {
    if path.starts_with(caller_path) {
        Reach::Governs
    } else if caller_path.starts_with(path) {
        Reach::Sees
    } else {
        Reach::None
    }
}

/// True when a blacklisting recorded at `blacklisted_at` (a jurisdiction's path) bars the
/// credit code at `path`: the whole jurisdiction of the supervisor who blacklisted it.
pub fn barred(blacklisted_at: &str, path: &str) -> bool {
    path.starts_with(blacklisted_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_is_governed_from_above_and_seen_along_its_line() {
        let golmud = "/qinghai/haixi/golmud/";
        assert_eq!(reach("/qinghai/", golmud), Reach::Governs);
        assert_eq!(reach(golmud, golmud), Reach::Governs);
        assert_eq!(
            reach("/qinghai/haixi/golmud/golmud-edu/", golmud),
            Reach::Sees
        );
        assert_eq!(reach("/qinghai/xining/", golmud), Reach::None);
        // A prefix of an id is not an ancestor.
        assert_eq!(reach("/qinghai/haixi/golmud2/", golmud), Reach::None);
        assert!(barred("/qinghai/", golmud));
        assert!(!barred("/qinghai/xining/", golmud));
    }
}
