//! The rules of message routing, without I/O: what a case is, which step may follow which and
//! who may take it ([`case`]), which rule routes a message ([`rules`]), and how texts are
//! compared and personal data masked ([`text`]).

pub mod case;
pub mod escalation;
pub mod knowledge;
pub mod relay;
pub mod review;
pub mod rules;
pub mod text;

use chrono::{DateTime, Utc};

pub use case::{Case, CaseError, Extension, Limits, Reply, Step};
pub use rules::RoutingRule;

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

govmedia_kit::numbered! {
    /// What a message is about (`MessageCategory`).
    Category {
        /// 咨询.
        Consult = 1 => "CONSULT",
        /// 求助.
        Help = 2 => "HELP",
        /// 投诉.
        Complaint = 3 => "COMPLAINT",
        /// 举报.
        Report = 4 => "REPORT",
        /// 建议.
        Suggestion = 5 => "SUGGESTION",
    }
}

govmedia_kit::numbered! {
    /// Where a case stands (`CaseState`).
    CaseState {
        /// Waiting for the dispatcher.
        Received = 1 => "RECEIVED",
        /// Waiting for the department to sign for it.
        Dispatched = 2 => "DISPATCHED",
        /// Handled by the department.
        Signed = 3 => "SIGNED",
        /// The department asked to return it.
        ReturnRequested = 4 => "RETURN_REQUESTED",
        /// A reply waits for the leader.
        Reviewing = 5 => "REVIEWING",
        /// Answered.
        Replied = 6 => "REPLIED",
        /// Done.
        Closed = 7 => "CLOSED",
    }
}

govmedia_kit::numbered! {
    /// A step of a case's history (`CaseAction`).
    CaseAction {
        /// Opened by a message.
        Received = 1 => "RECEIVED",
        /// A near-duplicate joined.
        Merged = 2 => "MERGED",
        /// Dispatched.
        Dispatched = 3 => "DISPATCHED",
        /// Signed for.
        Signed = 4 => "SIGNED",
        /// Return asked.
        ReturnRequested = 5 => "RETURN_REQUESTED",
        /// Return accepted.
        ReturnAccepted = 6 => "RETURN_ACCEPTED",
        /// Return refused.
        ReturnRefused = 7 => "RETURN_REFUSED",
        /// Extension asked.
        ExtensionRequested = 8 => "EXTENSION_REQUESTED",
        /// Extension approved.
        ExtensionApproved = 9 => "EXTENSION_APPROVED",
        /// Extension refused.
        ExtensionRefused = 10 => "EXTENSION_REFUSED",
        /// Reply drafted.
        ReplyDrafted = 11 => "REPLY_DRAFTED",
        /// Reply approved.
        ReplyApproved = 12 => "REPLY_APPROVED",
        /// Reply rejected.
        ReplyRejected = 13 => "REPLY_REJECTED",
        /// Reply published.
        ReplyPublished = 14 => "REPLY_PUBLISHED",
        /// Satisfaction recorded.
        SatisfactionRecorded = 15 => "SATISFACTION_RECORDED",
        /// Reopened.
        Reopened = 16 => "REOPENED",
        /// Closed.
        Closed = 17 => "CLOSED",
        /// An escalation fired.
        Escalated = 18 => "ESCALATED",
    }
}

govmedia_kit::numbered! {
    /// The citizen's rating (`Satisfaction`).
    Satisfaction {
        /// 满意.
        Satisfied = 1 => "SATISFIED",
        /// 基本满意.
        BasicallySatisfied = 2 => "BASICALLY_SATISFIED",
        /// 不满意.
        Dissatisfied = 3 => "DISSATISFIED",
    }
}

govmedia_kit::numbered! {
    /// Where a reply is (`ReplyState`).
    ReplyState {
        /// Waiting for the leader.
        Drafted = 1 => "DRAFTED",
        /// Rejected.
        Rejected = 2 => "REJECTED",
        /// Approved, queued for publication.
        Approved = 3 => "APPROVED",
        /// Published.
        Published = 4 => "PUBLISHED",
    }
}

/// True when `path` (a materialized path ending in `/`) lies in the subtree rooted at `root`.
pub fn within(root: &str, path: &str) -> bool {
    !root.is_empty() && path.starts_with(root)
}

/// True when `path` lies on the line of the jurisdiction rooted at `root`: in its subtree, or
/// above it (a province's policy holds in its counties).
pub fn on_line(root: &str, path: &str) -> bool {
    !root.is_empty() && (path.starts_with(root) || root.starts_with(path))
}
