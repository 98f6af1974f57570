//! Delegations (R-41): a unit lets an approved vendor operate some of its accounts for a period,
//! under a review mechanism of its own. The ledger says who operates an account, and the ledger
//! changes only through filings, so each account is *handed over* by a CHANGE filing (operator →
//! the vendor) when the delegation starts, and handed back by another (operator → the unit) when
//! it ends. A handover moves with what the filing service decides:
//!
//! ```text
//! STARTING ──applied──▶ OPERATING ──end──▶ ENDING ──applied──▶ RETURNED
//!     └──rejected, withdrawn, failed──▶ REFUSED     └──rejected, withdrawn, failed──▶ RETURN_REFUSED
//!                                                       (end again: ENDING anew)
//! ```
//!
//! and the delegation's status follows from its handovers ([`status_of`]).

use chrono::{DateTime, Utc};
use govmedia_kit::numbered;

use super::Stamp;

numbered! {
    /// What the vendor may do.
    Scope {
        /// 内容发布.
        Publishing = 1 => "PUBLISHING",
        /// 互动回应.
        Interaction = 2 => "INTERACTION",
        /// Both.
        Both = 3 => "BOTH",
    }
}

impl Scope {
    /// True when two delegations of one account in these scopes would both do the same work.
    pub fn overlaps(self, other: Scope) -> bool {
        self == other || self == Scope::Both || other == Scope::Both
    }
}

numbered! {
    /// Where a delegation stands.
    DelegationStatus {
        /// Filings wait; the vendor operates nothing yet.
        Pending = 1 => "PENDING",
        /// The vendor operates at least one account.
        Active = 2 => "ACTIVE",
        /// Every start filing was refused.
        Refused = 3 => "REFUSED",
        /// Ended; returns in progress or refused.
        Ending = 4 => "ENDING",
        /// Ended; the vendor operates none of its accounts.
        Ended = 5 => "ENDED",
    }
}

numbered! {
    /// Where one account of a delegation stands.
    HandoverState {
        /// The start filing is in the workflow.
        Starting = 1 => "STARTING",
        /// The ledger names the vendor.
        Operating = 2 => "OPERATING",
        /// The start filing was refused.
        Refused = 3 => "REFUSED",
        /// The return filing is in the workflow.
        Ending = 4 => "ENDING",
        /// The ledger names the unit again.
        Returned = 5 => "RETURNED",
        /// The return filing was refused; the ledger still names the vendor.
        ReturnRefused = 6 => "RETURN_REFUSED",
    }
}

impl HandoverState {
    /// True while the handover holds the account for the vendor (or is about to): what another
    /// delegation of the same account would overlap with.
    pub fn holds(self) -> bool {
        matches!(
            self,
            HandoverState::Starting
                | HandoverState::Operating
                | HandoverState::Ending
                | HandoverState::ReturnRefused
        )
    }
}

/// The person of the unit who reviews the vendor's work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reviewer {
    /// Full name.
    pub display_name: String,
    /// Post or title.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// Left the post; no new reviewer named yet.
    pub departed: bool,
}

/// One account of a delegation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The account's id.
    pub account: String,
    /// Where it stands.
    pub state: HandoverState,
    /// The id of the filing that hands it to the vendor.
    pub start_filing: String,
    /// The id of the latest filing that hands it back.
    pub end_filing: Option<String>,
    /// Why a filing was refused.
    pub detail: String,
}

/// A delegation contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// Id.
    pub id: String,
    /// The vendor's id.
    pub vendor: String,
    /// The delegating unit's id.
    pub organization: String,
    /// Its materialized path.
    pub organization_path: String,
    /// What the vendor may do.
    pub scope: Scope,
    /// First instant.
    pub start_time: DateTime<Utc>,
    /// First instant after.
    pub end_time: DateTime<Utc>,
    /// The unit's reviewer.
    pub reviewer: Reviewer,
    /// The review mechanism.
    pub review_mechanism: String,
    /// Where it stands (kept equal to [`status_of`] its handovers).
    pub status: DelegationStatus,
    /// Its accounts, in the order given.
    pub handovers: Vec<Handover>,
    /// Why it was ended.
    pub end_reason: String,
    /// When it was ended.
    pub ended: Option<DateTime<Utc>>,
    /// Creation.
    pub created: Stamp,
    /// Last change.
    pub updated: Stamp,
    /// Version, 1 on creation.
    pub version: i64,
}

impl Delegation {
    /// `delegations/{id}`.
    pub fn name(&self) -> String {
        format!("delegations/{}", self.id)
    }

    /// True when its period and `other`'s share an instant: `[start, end)` each.
    pub fn period_overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start_time < end && start < self.end_time
    }

    /// Recomputes the status from the handovers.
    pub fn settle(&mut self) {
        self.status = status_of(self.ended.is_some(), &self.handovers);
    }
}

/// The status a delegation's handovers give it: once ended, ENDING while any account is still
/// being returned, waits for its start filing, or its return was refused, else ENDED; before
/// that, ACTIVE when the vendor operates any account, PENDING while any is still starting, else
/// REFUSED.
pub fn status_of(ended: bool, handovers: &[Handover]) -> DelegationStatus {
    let any = |state: HandoverState| handovers.iter().any(|h| h.state == state);
    if ended {
        if any(HandoverState::Ending)
            || any(HandoverState::ReturnRefused)
            || any(HandoverState::Starting)
            || any(HandoverState::Operating)
        {
            DelegationStatus::Ending
        } else {
            DelegationStatus::Ended
        }
    } else if any(HandoverState::Operating) {
        DelegationStatus::Active
    } else if any(HandoverState::Starting) {
        DelegationStatus::Pending
    } else {
        DelegationStatus::Refused
    }
}

/// What the filing service decided about a handover's filing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilingOutcome {
    /// Applied to the ledger.
    Applied,
    /// Rejected, withdrawn, or refused by the registry when applied: why.
    Refused(String),
}

/// Whom an applied filing made the account's operator, as the filing service reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handed {
    /// The vendor with this id.
    ToVendor(String),
    /// The unit itself.
    ToUnit,
    /// The filing did not change the operator.
    Untouched,
}

/// The outcome of an applied filing of `handover`, checked against what it was filed for: a
/// handover filing edited on its way (sent back for correction and changed) that no longer
/// hands the account to `vendor` (start) or back to the unit (end) did not do its work, and
/// counts as refused.
pub fn applied_as_filed(
    handover: &Handover,
    filing: &str,
    vendor: &str,
    handed: &Handed,
) -> FilingOutcome {
    let (as_filed, intended) = if handover.start_filing == filing {
        (
            *handed == Handed::ToVendor(vendor.to_owned()),
            format!("hand the account to vendors/{vendor}"),
        )
    } else {
        (
            *handed == Handed::ToUnit,
            "return the account to the unit".to_owned(),
        )
    };
    if as_filed {
        FilingOutcome::Applied
    } else {
        FilingOutcome::Refused(format!(
            "the filing was changed before it was applied and did not {intended}"
        ))
    }
}

/// Moves the handover whose filing `filing` was decided; false when the filing is not the one
/// the handover waits for (an old one, or a decision already taken into account).
pub fn on_filing(handover: &mut Handover, filing: &str, outcome: &FilingOutcome) -> bool {
    let next = match (handover.state, outcome) {
        (HandoverState::Starting, _) if handover.start_filing != filing => return false,
        (HandoverState::Ending, _) if handover.end_filing.as_deref() != Some(filing) => {
            return false;
        }
        (HandoverState::Starting, FilingOutcome::Applied) => HandoverState::Operating,
        (HandoverState::Starting, FilingOutcome::Refused(_)) => HandoverState::Refused,
        (HandoverState::Ending, FilingOutcome::Applied) => HandoverState::Returned,
        (HandoverState::Ending, FilingOutcome::Refused(_)) => HandoverState::ReturnRefused,
        (
            HandoverState::Operating
            | HandoverState::Refused
            | HandoverState::Returned
            | HandoverState::ReturnRefused,
            _,
        ) => return false,
    };
    handover.state = next;
    handover.detail = match outcome {
        FilingOutcome::Applied => String::new(),
        FilingOutcome::Refused(why) => why.clone(),
    };
    true
}

/// Why a delegation cannot be ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndError {
    /// Ended already, and nothing waits to be filed again.
    #[error("the delegation has ended")]
    AlreadyEnded,
}

/// Ends `delegation` at `now` with `reason` (or, when it was ended and a return was refused,
/// files that return again): every account the vendor operates goes ENDING with the return
/// filing `end_filing(account)` names. An account still STARTING stays so: it is returned once
/// its start filing is applied ([`return_if_ended`]). Returns the accounts whose return must be
/// filed now.
pub fn end(
    delegation: &mut Delegation,
    reason: &str,
    now: DateTime<Utc>,
    end_filing: impl Fn(&str) -> String,
) -> Result<Vec<String>, EndError> {
    let to_return: Vec<usize> = delegation
        .handovers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            matches!(
                h.state,
                HandoverState::Operating | HandoverState::ReturnRefused
            )
        })
        .map(|(index, _)| index)
        .collect();
    if delegation.ended.is_some() && to_return.is_empty() {
        return Err(EndError::AlreadyEnded);
    }
    // (A delegation ended while accounts were still starting has nothing to return yet; ending
    // it again is the same "ended already".)
    if delegation.ended.is_none() {
        delegation.ended = Some(now);
        delegation.end_reason = reason.to_owned();
    }
    let mut filed = Vec::new();
    for index in to_return {
        let handover = &mut delegation.handovers[index];
        handover.state = HandoverState::Ending;
        handover.end_filing = Some(end_filing(&handover.account));
        handover.detail.clear();
        filed.push(handover.account.clone());
    }
    delegation.settle();
    Ok(filed)
}

/// After a start filing of an ended delegation was applied: the account goes straight back,
/// ENDING with the return filing `end_filing` names. Returns whether it must be filed.
pub fn return_if_ended(delegation: &mut Delegation, account: &str, end_filing: String) -> bool {
    if delegation.ended.is_none() {
        return false;
    }
    let Some(handover) = delegation
        .handovers
        .iter_mut()
        .find(|h| h.account == account && h.state == HandoverState::Operating)
    else {
        return false;
    };
    handover.state = HandoverState::Ending;
    handover.end_filing = Some(end_filing);
    delegation.settle();
    true
}

/// The id of the filing that hands `account` over in `phase` (`start`, or `end` with a number)
/// of `delegation`: derived, so that retrying the work files the same filing, and short enough
/// for an id however long the delegation's and account's ids are.
pub fn filing_id(delegation: &str, account: &str, phase: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{delegation}\n{account}\n{phase}"));
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("delegation-{hex}-{phase}")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn handover(account: &str, state: HandoverState) -> Handover {
        Handover {
            account: account.into(),
            state,
            start_filing: format!("start-{account}"),
            end_filing: None,
            detail: String::new(),
        }
    }

    fn delegation(handovers: Vec<Handover>) -> Delegation {
        let time = Utc
            .with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
            .single()
            .expect("time");
        let stamp = Stamp {
            time,
            actor: "op".into(),
            actor_organization: "golmud-edu".into(),
        };
        let mut delegation = Delegation {
            id: "d1".into(),
            vendor: "qingyun".into(),
            organization: "golmud-edu".into(),
            organization_path: "/qinghai/haixi/golmud/golmud-edu/".into(),
            scope: Scope::Both,
            start_time: time,
            end_time: time + chrono::Duration::days(365),
            reviewer: Reviewer {
                display_name: "张丽".into(),
                title: "宣传科科长".into(),
                phone: "0979-8412345".into(),
                departed: false,
            },
            review_mechanism: "三审三校".into(),
            status: DelegationStatus::Pending,
            handovers,
            end_reason: String::new(),
            ended: None,
            created: stamp.clone(),
            updated: stamp,
            version: 1,
        };
        delegation.settle();
        delegation
    }

    #[test]
    fn the_status_follows_the_handovers() {
        use HandoverState::*;
        let mut d = delegation(vec![handover("a", Starting), handover("b", Starting)]);
        assert_eq!(d.status, DelegationStatus::Pending);
        assert!(on_filing(
            &mut d.handovers[0],
            "start-a",
            &FilingOutcome::Applied
        ));
        assert!(
            !on_filing(&mut d.handovers[0], "start-a", &FilingOutcome::Applied),
            "once"
        );
        assert!(
            !on_filing(&mut d.handovers[1], "start-a", &FilingOutcome::Applied),
            "not its filing"
        );
        assert!(on_filing(
            &mut d.handovers[1],
            "start-b",
            &FilingOutcome::Refused("rejected".into())
        ));
        d.settle();
        assert_eq!(d.status, DelegationStatus::Active);
        assert_eq!(d.handovers[1].detail, "rejected");

        let now = d.start_time + chrono::Duration::days(30);
        let filed = end(&mut d, "合同到期", now, |account| {
            format!("end-{account}")
        })
        .expect("end");
        assert_eq!(filed, vec!["a".to_owned()]);
        assert_eq!(d.status, DelegationStatus::Ending);
        assert!(on_filing(
            &mut d.handovers[0],
            "end-a",
            &FilingOutcome::Refused("no".into())
        ));
        d.settle();
        assert_eq!(d.handovers[0].state, ReturnRefused);
        assert_eq!(
            d.status,
            DelegationStatus::Ending,
            "the ledger still names the vendor"
        );
        // Ending again files the refused return anew; the reason of the first end stays.
        let filed = end(&mut d, "再次", now, |account| format!("end2-{account}")).expect("again");
        assert_eq!(filed, vec!["a".to_owned()]);
        assert_eq!(d.end_reason, "合同到期");
        assert!(on_filing(
            &mut d.handovers[0],
            "end2-a",
            &FilingOutcome::Applied
        ));
        d.settle();
        assert_eq!(d.status, DelegationStatus::Ended);
        assert_eq!(
            end(&mut d, "x", now, |a| a.to_owned()),
            Err(EndError::AlreadyEnded)
        );
    }

    #[test]
    fn an_account_still_starting_when_the_delegation_ends_goes_back_once_applied() {
        use HandoverState::*;
        let mut d = delegation(vec![handover("a", Starting), handover("b", Starting)]);
        let now = d.start_time;
        assert_eq!(end(&mut d, "终止", now, |a| a.to_owned()), Ok(vec![]));
        assert_eq!(
            d.status,
            DelegationStatus::Ending,
            "start filings still wait"
        );
        assert_eq!(
            end(&mut d, "x", now, |a| a.to_owned()),
            Err(EndError::AlreadyEnded)
        );
        on_filing(&mut d.handovers[0], "start-a", &FilingOutcome::Applied);
        assert!(return_if_ended(&mut d, "a", "end-a".into()));
        assert_eq!(d.handovers[0].state, Ending);
        on_filing(
            &mut d.handovers[1],
            "start-b",
            &FilingOutcome::Refused("r".into()),
        );
        d.settle();
        assert_eq!(d.status, DelegationStatus::Ending);
        on_filing(&mut d.handovers[0], "end-a", &FilingOutcome::Applied);
        d.settle();
        assert_eq!(d.status, DelegationStatus::Ended);
    }

    #[test]
    fn a_delegation_all_refused_is_refused_and_ends_at_once() {
        use HandoverState::*;
        let mut d = delegation(vec![handover("a", Starting)]);
        on_filing(
            &mut d.handovers[0],
            "start-a",
            &FilingOutcome::Refused("r".into()),
        );
        d.settle();
        assert_eq!(d.status, DelegationStatus::Refused);
        assert!(!return_if_ended(&mut d, "a", "end-a".into()));
        let now = d.start_time;
        assert_eq!(end(&mut d, "x", now, |a| a.to_owned()), Ok(vec![]));
        assert_eq!(d.status, DelegationStatus::Ended);
    }

    #[test]
    fn scopes_and_periods_overlap() {
        assert!(Scope::Publishing.overlaps(Scope::Both));
        assert!(Scope::Both.overlaps(Scope::Interaction));
        assert!(!Scope::Publishing.overlaps(Scope::Interaction));
        let d = delegation(vec![]);
        assert!(d.period_overlaps(
            d.end_time - chrono::Duration::days(1),
            d.end_time + chrono::Duration::days(1)
        ));
        assert!(
            !d.period_overlaps(d.end_time, d.end_time + chrono::Duration::days(1)),
            "end is exclusive"
        );
    }

    #[test]
    fn filing_ids_are_derived_and_valid() {
        let id = filing_id(&"d".repeat(63), &"a".repeat(63), "start");
        assert!(govmedia_kit::validate::is_id(&id), "{id}");
        assert_eq!(id, filing_id(&"d".repeat(63), &"a".repeat(63), "start"));
        assert_ne!(id, filing_id(&"d".repeat(63), &"a".repeat(63), "end1"));
    }
}
