//! The registry's rules, in plain Rust: no I/O, no protobuf, no database. Handlers load what a
//! rule needs, ask the rule, and store the outcome.

pub mod account;
pub mod custody;
pub mod organization;

use chrono::{DateTime, Utc};

pub use account::{Account, AccountKind, AccountStatus, Contact, Operator, Platform};
pub use custody::{AlertKind, Custody};
pub use organization::{Level, OrgKind, Organization};

/// Who changed something, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Commit time.
    pub time: DateTime<Utc>,
    /// The caller's subject.
    pub actor: String,
    /// The caller's organization id.
    pub actor_organization: String,
}

/// A business rule that forbids a change in the current state. Each becomes FAILED_PRECONDITION
/// with its own stable reason (see `crate::error`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// the unit already has live accounts on the platform.
    #[error("the unit already has {} live account(s) on {}", .0.existing.len(), .0.platform)]
    AccountLimitPerPlatform(govmedia_accounts::opening::Refusal),
    /// a change without the filing that allows it.
    #[error("an accepted filing is required for this change")]
    FilingRequired,
    /// the lifecycle does not go from `from` to `to`.
    #[error("{account} cannot go from {from} to {to}")]
    InvalidTransition {
        /// The account name.
        account: String,
        /// Current status.
        from: AccountStatus,
        /// Requested status.
        to: AccountStatus,
    },
    /// The organization tree does not allow the placement.
    #[error("invalid placement: {0}")]
    InvalidHierarchy(String),
    /// A government already has its management department.
    #[error("{government} already has a management department: {existing}")]
    ManagementDepartmentExists {
        /// The government.
        government: String,
        /// Its management department.
        existing: String,
    },
    /// A CANCELLED account is final: nothing about it changes any more.
    #[error("{0} is CANCELLED and can no longer change")]
    AccountCancelled(String),
    /// Changing an organization's kind would re-parent its subtree.
    #[error("{0} has child organizations; its kind cannot change")]
    KindChangeWithChildren(String),
    /// Only governments and departments can be management departments.
    #[error("only a GOVERNMENT or DEPARTMENT can be a management department")]
    ManagementDepartmentKind,
}
