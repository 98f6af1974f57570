//! Report records for the national reporting system (全国政务新媒体信息报送系统, R-12): one per
//! change an accepted filing made to the ledger, and how each travels there.
//!
//! The national system is outside govmedia and answers on its own schedule, so a record is a
//! small state machine rather than a fire-and-forget call: delivery attempts move it
//! automatically, and an operator records by hand what happened to records uploaded by hand.

use chrono::{DateTime, Duration, Utc};
use govmedia_kit::{jobs::RetryPolicy, numbered};

use super::FilingKind;

numbered! {
    /// What changed in the ledger.
    ReportCause {
        /// An OPEN filing registered the account.
        Opened = 1 => "OPENED",
        /// A CHANGE filing changed its data.
        Changed = 2 => "CHANGED",
        /// A SUSPEND filing suspended it.
        Suspended = 3 => "SUSPENDED",
        /// A CANCEL filing cancelled it.
        Cancelled = 4 => "CANCELLED",
        /// Its platform account id was bound and it went live.
        Activated = 5 => "ACTIVATED",
        /// A RESUME filing resumed it.
        Resumed = 6 => "RESUMED",
    }
}

impl ReportCause {
    /// The cause of applying a filing of `kind`.
    pub fn of(kind: FilingKind) -> Self {
        match kind {
            FilingKind::Open => Self::Opened,
            FilingKind::Change => Self::Changed,
            FilingKind::Suspend => Self::Suspended,
            FilingKind::Cancel => Self::Cancelled,
            FilingKind::Resume => Self::Resumed,
        }
    }

    /// The word the national reporting forms use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Opened => "开设",
            Self::Changed => "变更",
            Self::Suspended => "关停",
            Self::Cancelled => "注销",
            Self::Activated => "启用",
            Self::Resumed => "恢复",
        }
    }
}

numbered! {
    /// Where a report record stands.
    ReportState {
        /// Waiting to be sent, or to be retried.
        Pending = 1 => "PENDING",
        /// Handed over, not confirmed yet.
        Sent = 2 => "SENT",
        /// Confirmed by the national system.
        Confirmed = 3 => "CONFIRMED",
        /// Refused, or not deliverable after every retry.
        Failed = 4 => "FAILED",
    }
}

/// A record of the outbound queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Id (`reports/{id}`).
    pub id: String,
    /// The filing that made the change.
    pub filing: String,
    /// What changed.
    pub cause: ReportCause,
    /// The account's unit.
    pub organization: String,
    /// The unit's materialized path (for subtree queries).
    pub organization_path: String,
    /// The management department that accepted the filing: the region.
    pub management_department: String,
    /// The account.
    pub account_id: String,
    /// The account as the registry held it after the change (encoded registry `Account`).
    pub account: Vec<u8>,
    /// The account's unit as the registry held it then (encoded registry `Organization`).
    pub unit: Vec<u8>,
    /// Where the record stands.
    pub state: ReportState,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// When the next automatic attempt is due.
    pub next_attempt: Option<DateTime<Utc>>,
    /// Why the last attempt failed, or why the record failed.
    pub last_error: String,
    /// The national system's receipt.
    pub receipt: String,
    /// When the record was queued.
    pub created: DateTime<Utc>,
    /// When it last changed state.
    pub state_time: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// The answer of the national system to one delivery attempt, as an adapter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Taken and confirmed at once.
    Confirmed {
        /// The national system's receipt, if it gave one.
        receipt: String,
    },
    /// Taken; the confirmation comes later (recorded with MarkReports).
    Accepted {
        /// The national system's receipt, if it gave one.
        receipt: String,
    },
    /// Refused for good: sending it again would not help.
    Rejected(String),
    /// Not delivered now (unreachable, busy, timed out): try again later.
    Unreachable(String),
}

/// A manual step a record may not take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAllowed {
    /// Its state.
    pub from: ReportState,
    /// The state asked for.
    pub to: ReportState,
}

impl Report {
    /// Records the outcome of a delivery attempt at `now`. After a failed one the next is due
    /// after the kit's backoff of `policy` (`jitter` in 0..1 picks the point in its upper half),
    /// until `policy.max_attempts` attempts fail and the record with them.
    pub fn delivered(
        &mut self,
        delivery: Delivery,
        policy: &RetryPolicy,
        jitter: f64,
        now: DateTime<Utc>,
    ) {
        self.attempts = self.attempts.saturating_add(1);
        self.version += 1;
        match delivery {
            Delivery::Confirmed { receipt } => {
                self.enter(ReportState::Confirmed, now);
                self.receipt = receipt;
                self.last_error.clear();
            }
            Delivery::Accepted { receipt } => {
                self.enter(ReportState::Sent, now);
                self.receipt = receipt;
                self.last_error.clear();
            }
            Delivery::Rejected(why) => {
                self.enter(ReportState::Failed, now);
                self.last_error = why;
            }
            Delivery::Unreachable(why) if self.attempts >= policy.max_attempts => {
                self.enter(ReportState::Failed, now);
                self.last_error = format!("gave up after {} attempts: {why}", self.attempts);
            }
            Delivery::Unreachable(why) => {
                let delay = policy.delay(self.attempts, jitter);
                self.next_attempt = Some(now + Duration::from_std(delay).unwrap_or(Duration::MAX));
                self.last_error = why;
            }
        }
    }

    /// Records by hand what happened outside govmedia: `to` with the national system's
    /// `receipt` (CONFIRMED) or the operator's `comment` (FAILED). PENDING again starts the
    /// automatic attempts afresh.
    pub fn mark(
        &mut self,
        to: ReportState,
        receipt: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<(), NotAllowed> {
        use ReportState::{Confirmed, Failed, Pending, Sent};
        let allowed = match (self.state, to) {
            (Pending, Sent | Confirmed | Failed)
            | (Sent, Confirmed | Failed)
            | (Failed, Pending) => true,
            (Pending, Pending)
            | (Sent, Pending | Sent)
            | (Confirmed, Pending | Sent | Confirmed | Failed)
            | (Failed, Sent | Confirmed | Failed) => false,
        };
        if !allowed {
            return Err(NotAllowed {
                from: self.state,
                to,
            });
        }
        self.version += 1;
        self.enter(to, now);
        match to {
            Confirmed => {
                self.receipt = receipt.to_owned();
                self.last_error.clear();
            }
            Failed => self.last_error = comment.to_owned(),
            Pending => {
                self.attempts = 0;
                self.last_error.clear();
            }
            Sent => self.last_error.clear(),
        }
        Ok(())
    }

    fn enter(&mut self, state: ReportState, now: DateTime<Utc>) {
        self.state = state;
        self.state_time = now;
        self.next_attempt = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Report {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
        Report {
            id: "r-1".into(),
            filing: "f-1".into(),
            cause: ReportCause::Opened,
            organization: "unit".into(),
            organization_path: "/root/unit/".into(),
            management_department: "office".into(),
            account_id: "f-1".into(),
            account: Vec::new(),
            unit: Vec::new(),
            state: ReportState::Pending,
            attempts: 0,
            next_attempt: None,
            last_error: String::new(),
            receipt: String::new(),
            created: now,
            state_time: now,
            version: 1,
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        initial: std::time::Duration::from_secs(10),
        max: std::time::Duration::from_secs(60),
        max_attempts: 3,
    };

    #[test]
    fn unreachable_backs_off_then_fails_after_the_last_attempt() {
        let mut report = pending();
        let now = report.created;
        report.delivered(Delivery::Unreachable("503".into()), &POLICY, 1.0, now);
        assert_eq!(report.state, ReportState::Pending);
        assert_eq!(report.next_attempt, Some(now + Duration::seconds(10)));
        report.delivered(Delivery::Unreachable("503".into()), &POLICY, 1.0, now);
        assert_eq!(report.next_attempt, Some(now + Duration::seconds(20)));
        report.delivered(Delivery::Unreachable("timeout".into()), &POLICY, 1.0, now);
        assert_eq!(report.state, ReportState::Failed);
        assert_eq!(report.next_attempt, None);
        assert!(
            report.last_error.contains("3 attempts"),
            "{}",
            report.last_error
        );
        assert_eq!(report.version, 4);
    }

    #[test]
    fn confirmed_and_accepted_keep_the_receipt() {
        let mut report = pending();
        let now = report.created;
        report.delivered(
            Delivery::Accepted {
                receipt: "B-7".into(),
            },
            &POLICY,
            1.0,
            now,
        );
        assert_eq!(
            (report.state, report.receipt.as_str()),
            (ReportState::Sent, "B-7")
        );
        report
            .mark(ReportState::Confirmed, "B-7/ok", "", now)
            .expect("SENT -> CONFIRMED");
        assert_eq!(report.receipt, "B-7/ok");
    }

    #[test]
    fn a_rejection_fails_at_once() {
        let mut report = pending();
        report.delivered(
            Delivery::Rejected("unknown unit".into()),
            &POLICY,
            1.0,
            report.created,
        );
        assert_eq!(report.state, ReportState::Failed);
        assert_eq!(report.attempts, 1);
    }

    #[test]
    fn manual_steps_follow_the_state_machine() {
        let now = pending().created;
        let mut report = pending();
        assert_eq!(
            report.mark(ReportState::Pending, "", "", now),
            Err(NotAllowed {
                from: ReportState::Pending,
                to: ReportState::Pending
            })
        );
        report
            .mark(ReportState::Failed, "", "wrong unit code", now)
            .expect("PENDING -> FAILED");
        assert_eq!(report.last_error, "wrong unit code");
        report.attempts = 5;
        report
            .mark(ReportState::Pending, "", "", now)
            .expect("FAILED -> PENDING");
        assert_eq!((report.attempts, report.last_error.as_str()), (0, ""));
        report
            .mark(ReportState::Confirmed, "R-1", "", now)
            .expect("PENDING -> CONFIRMED");
        for to in [
            ReportState::Pending,
            ReportState::Sent,
            ReportState::Failed,
            ReportState::Confirmed,
        ] {
            assert!(
                report.mark(to, "", "", now).is_err(),
                "CONFIRMED is final, not {to}"
            );
        }
    }

    #[test]
    fn causes_follow_the_filing_kind() {
        assert_eq!(ReportCause::of(FilingKind::Cancel), ReportCause::Cancelled);
        assert_eq!(ReportCause::of(FilingKind::Open).label(), "开设");
    }
}
