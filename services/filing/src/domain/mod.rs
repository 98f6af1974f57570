//! The filing rules, in plain Rust: no I/O, no protobuf, no database. Handlers load what a rule
//! needs (the filing, the caller's relation to it), ask the rule, and store the outcome.

pub mod reconcile;
pub mod report;
pub mod workflow;

use chrono::{DateTime, Utc};
use govmedia_kit::{
    calendar::{Calendar, CalendarError},
    numbered,
};

pub use workflow::{Actor, Step, WorkflowError};

numbered! {
    /// What a filing asks for.
    FilingKind {
        /// Open an account (开设).
        Open = 1 => "OPEN",
        /// Change an account's data (变更).
        Change = 2 => "CHANGE",
        /// Suspend an account (关停).
        Suspend = 3 => "SUSPEND",
        /// Cancel an account (注销).
        Cancel = 4 => "CANCEL",
        /// Resume a suspended account (恢复).
        Resume = 5 => "RESUME",
    }
}

numbered! {
    /// Where a filing is in its workflow.
    FilingState {
        /// Being written.
        Draft = 1 => "DRAFT",
        /// Waiting for the unit's leader.
        Submitted = 2 => "SUBMITTED",
        /// Waiting for the management department.
        LeaderApproved = 3 => "LEADER_APPROVED",
        /// Accepted; final.
        Accepted = 4 => "ACCEPTED",
        /// Rejected; final.
        Rejected = 5 => "REJECTED",
        /// Withdrawn; final.
        Withdrawn = 6 => "WITHDRAWN",
        /// Sent back for correction.
        Returned = 7 => "RETURNED",
    }
}

numbered! {
    /// How far an accepted filing has been applied to the registry.
    ApplicationState {
        /// Being applied, retried until the registry answers.
        Applying = 1 => "APPLYING",
        /// Applied.
        Applied = 2 => "APPLIED",
        /// Refused by the registry for good.
        Failed = 3 => "FAILED",
    }
}

numbered! {
    /// A step of a filing's history.
    FilingAction {
        /// Created as a draft.
        Created = 1 => "CREATED",
        /// Edited.
        Updated = 2 => "UPDATED",
        /// Submitted to the leader.
        Submitted = 3 => "SUBMITTED",
        /// The leader consented.
        Consented = 4 => "CONSENTED",
        /// Returned for correction.
        Returned = 5 => "RETURNED",
        /// Withdrawn.
        Withdrawn = 6 => "WITHDRAWN",
        /// Accepted.
        Accepted = 7 => "ACCEPTED",
        /// Rejected.
        Rejected = 8 => "REJECTED",
        /// Applied to the registry.
        Applied = 9 => "APPLIED",
        /// The registry refused the application.
        ApplicationFailed = 10 => "APPLICATION_FAILED",
        /// The platform id was bound.
        PlatformAccountBound = 11 => "PLATFORM_ACCOUNT_BOUND",
        /// Waited too long.
        Overdue = 12 => "OVERDUE",
        /// Started and accepted at once as an enforced closure.
        Enforced = 13 => "ENFORCED",
    }
}

impl FilingKind {
    /// What the filing does to an existing account, in the ledger's terms (`None` for an
    /// opening, which has no account yet).
    pub fn ledger_change(self) -> Option<govmedia_accounts::status::Change> {
        use govmedia_accounts::status::Change;
        match self {
            FilingKind::Open => None,
            FilingKind::Change => Some(Change::Data),
            FilingKind::Suspend => Some(Change::Suspend),
            FilingKind::Cancel => Some(Change::Cancel),
            FilingKind::Resume => Some(Change::Resume),
        }
    }
}

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

/// A document attached by reference.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// The application of an accepted filing to the registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Application {
    /// `None` until the filing is accepted.
    pub state: Option<ApplicationState>,
    /// Why the latest attempt failed (transient or final).
    pub error: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (APPLYING only).
    pub next_attempt: Option<DateTime<Utc>>,
}

/// A filing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filing {
    /// Id (`filings/{id}`).
    pub id: String,
    /// The unit filing.
    pub organization: String,
    /// The unit's materialized path (`/root/…/unit/`), for subtree queries.
    pub organization_path: String,
    /// The management department that decides, once known (resolved on submission).
    pub management_department: Option<String>,
    /// What is asked.
    pub kind: FilingKind,
    /// Workflow state.
    pub state: FilingState,
    /// OPEN and CHANGE: the account data, as the registry's contract encodes it. The filing
    /// service reads only the fields below out of it; the registry interprets it when the filing
    /// is applied.
    pub account: Vec<u8>,
    /// OPEN: the platform (its proto number).
    pub platform: Option<i32>,
    /// OPEN: the platform id of an account that already exists on the platform (补报). CHANGE:
    /// the corrected platform id, when the mask names it.
    pub platform_account_id: Option<String>,
    /// CHANGE: the fields to change, from `govmedia_accounts::fields::CHANGEABLE`.
    pub change_mask: Vec<String>,
    /// The account concerned (for OPEN, once registered).
    pub target_account: Option<String>,
    /// Why the unit files.
    pub reason: String,
    /// Supporting documents.
    pub attachments: Vec<Attachment>,
    /// OPEN: the latest R-03 evaluation, as the contract encodes it.
    pub opening_check: Vec<u8>,
    /// Application to the registry.
    pub application: Application,
    /// OPEN: the platform id bound after application.
    pub bound_platform_account_id: Option<String>,
    /// When the filing entered its state.
    pub state_time: DateTime<Utc>,
    /// While it waits for the leader or the department: when the wait becomes overdue (see
    /// [`Limits::due_time`]); `None` otherwise, or while the calendar cannot tell.
    pub due_time: Option<DateTime<Utc>>,
    /// Whether the overdue reminder for the current state was sent.
    pub overdue_notified: bool,
    /// Creation stamp.
    pub created: Stamp,
    /// Latest change.
    pub updated: Stamp,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// An enforced closure: started by the management department, without the unit.
    pub enforced: bool,
    /// Enforced: the id of the inspection service's rectification order it rests on.
    pub grounds: Option<String>,
}

impl Filing {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("filings/{}", self.id)
    }

    /// Is it waiting past its due time at `now`?
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        let waiting = matches!(
            self.state,
            FilingState::Submitted | FilingState::LeaderApproved
        );
        waiting && self.due_time.is_some_and(|due| now >= due)
    }

    /// Is it an opening of an account that already exists on the platform (补报, 未经报备先开设)?
    /// Such an opening names the account's platform id.
    pub fn filed_after_opening(&self) -> bool {
        self.kind == FilingKind::Open && self.platform_account_id.is_some()
    }

    /// The registry account an OPEN filing registers: it takes the filing's id, so applying the
    /// filing twice can only ever meet the same account.
    pub fn account_to_register(&self) -> String {
        self.id.clone()
    }
}

/// A suspension or cancellation reported to the same-level government office (报备, R-13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosureReport {
    /// Its id.
    pub id: String,
    /// The filing applied.
    pub filing: String,
    /// SUSPEND or CANCEL.
    pub kind: FilingKind,
    /// The account.
    pub account: String,
    /// Its display name when the filing was applied.
    pub account_display_name: String,
    /// The unit owning it.
    pub organization: String,
    /// The unit's path (who may list the report).
    pub organization_path: String,
    /// The unit's own government, whose office the report is for.
    pub government: String,
    /// Enforced by the management department.
    pub enforced: bool,
    /// Enforced: the rectification order.
    pub grounds: Option<String>,
    /// The filing's reason.
    pub reason: String,
    /// When the ledger changed.
    pub applied: DateTime<Utc>,
}

/// One step of a filing's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// What happened.
    pub action: FilingAction,
    /// State before.
    pub from: FilingState,
    /// State after.
    pub to: FilingState,
    /// Who and when.
    pub stamp: Stamp,
    /// What they said.
    pub comment: String,
}

/// How many working days a filing may wait at each step before it is overdue (R-10, R-11,
/// R-35); a region may set its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// SUBMITTED, waiting for the leader.
    pub consent_working_days: u32,
    /// LEADER_APPROVED, waiting for the management department.
    pub decision_working_days: u32,
}

impl Limits {
    /// The working days allowed in `state`; `None` where nobody is waited for.
    pub fn working_days(&self, state: FilingState) -> Option<u32> {
        match state {
            FilingState::Submitted => Some(self.consent_working_days),
            FilingState::LeaderApproved => Some(self.decision_working_days),
            FilingState::Draft
            | FilingState::Accepted
            | FilingState::Rejected
            | FilingState::Withdrawn
            | FilingState::Returned => None,
        }
    }

    /// When a filing that entered `state` at `since` becomes overdue: the end of the last
    /// working day allowed by `calendar`; `Ok(None)` where nobody is waited for.
    pub fn due_time(
        &self,
        state: FilingState,
        since: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Result<Option<DateTime<Utc>>, CalendarError> {
        self.working_days(state)
            .map(|days| calendar.deadline(since, days))
            .transpose()
    }
}

/// What became of one attempt to apply a filing to the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied (now or by an earlier attempt); for OPEN, the registered account id.
    Applied {
        /// The account concerned.
        account: String,
        /// The account as the registry holds it after the change (an encoded registry
        /// `Account`), for the national report.
        ledger: Vec<u8>,
        /// The account's unit as the registry holds it (an encoded registry `Organization`),
        /// for the national report; empty if the registry would not show it.
        unit: Vec<u8>,
    },
    /// The registry refused it for good; the unit must file again.
    Refused(String),
    /// The registry could not be reached or could not answer now; try again later.
    Unreachable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for number in 1..=7 {
            let state = FilingState::from_i32(number).expect("state");
            assert_eq!(state as i32, number);
        }
        assert_eq!(FilingState::from_i32(0), None);
        assert_eq!(FilingState::from_i32(8), None);
        assert_eq!(FilingKind::Cancel.to_string(), "CANCEL");
        assert_eq!(
            FilingAction::from_i32(11),
            Some(FilingAction::PlatformAccountBound)
        );
    }

    #[test]
    fn only_waiting_states_have_a_due_time_in_working_days() {
        let limits = Limits {
            consent_working_days: 5,
            decision_working_days: 10,
        };
        let calendar = Calendar::official();
        // Submitted on the eve of National Day 2026: 8, 9, Saturday 10, 12 and 13 October.
        let since = DateTime::parse_from_rfc3339("2026-09-30T10:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let due = |state| limits.due_time(state, since, &calendar).expect("covered");
        assert_eq!(
            due(FilingState::Submitted),
            Some(
                DateTime::parse_from_rfc3339("2026-10-14T00:00:00+08:00")
                    .expect("time")
                    .with_timezone(&Utc)
            )
        );
        assert!(due(FilingState::LeaderApproved) > due(FilingState::Submitted));
        for state in [
            FilingState::Draft,
            FilingState::Returned,
            FilingState::Accepted,
            FilingState::Rejected,
            FilingState::Withdrawn,
        ] {
            assert_eq!(due(state), None, "{state}");
        }
        let late = DateTime::parse_from_rfc3339("2026-12-28T10:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            limits.due_time(FilingState::Submitted, late, &calendar),
            Err(CalendarError::NoData { year: 2027 })
        );
    }
}
