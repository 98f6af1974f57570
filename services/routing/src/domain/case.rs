//! The case (工单) and its lifecycle: which step may follow which, who may take it, and the
//! deadlines each step sets, counted in working days of the official calendar.
//!
//! Deadlines follow the calendar's rule for administrative time limits: counted from the day
//! after the step, ending at 24:00 of the last working day. When the calendar holds no data for
//! the year a deadline falls in, the deadline stays unset rather than guessed; the case still
//! moves.
//!
//! Two clocks, blamed separately: the dispatcher's (`dispatch_due`) runs while the case waits
//! for a department; the department's (`sign_due`, then `handling_due`) runs from dispatch to the
//! approved reply. Missing one sets that side's overdue flag for good.

use chrono::{DateTime, Utc};
use govmedia_kit::calendar::Calendar;

use super::{CaseAction, CaseState, Category, ReplyState, Satisfaction, Stamp};

/// The working-day limits of a case, from the service's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Days the dispatcher has to dispatch a received case.
    pub dispatch_days: u32,
    /// Days a department has to sign for a dispatched case.
    pub sign_for_days: u32,
    /// Days a department has to answer, by category.
    pub handling_days: [(Category, u32); 5],
    /// Days after dispatch in which the department may return a case.
    pub return_window_days: u32,
    /// Most extension days of one handling round, in all.
    pub max_extension_days: u32,
    /// Days a reopened case gets.
    pub reopen_days: u32,
}

impl Limits {
    /// Days to answer a message of `category`.
    pub fn handling_days(&self, category: Category) -> u32 {
        self.handling_days
            .iter()
            .find(|(c, _)| *c == category)
            .map_or(5, |(_, days)| *days)
    }
}

/// The deadline `days` working days after `start`, or none when the calendar cannot say.
fn due(calendar: &Calendar, start: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    match calendar.deadline(start, days) {
        Ok(due) => Some(due),
        Err(error) => {
            tracing::warn!(%error, "no deadline: the working-day calendar cannot count it");
            None
        }
    }
}

/// `due` moved `days` more working days on: the end of the `days`-th working day after the day
/// `due` ends.
fn extend(calendar: &Calendar, due_time: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    // A deadline is 24:00 of its last day, i.e. 00:00 of the next: count from the last instant
    // of the day it ends.
    due(calendar, due_time - chrono::Duration::microseconds(1), days)
}

/// A requested extension.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Extension {
    /// Working days asked for.
    pub days: u32,
    /// Why.
    pub reason: String,
    /// Who asked, when.
    pub requested: Stamp,
    /// The ruling, once made.
    pub ruling: Option<Ruling>,
}

/// The dispatcher's ruling on an extension.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ruling {
    /// Approved or refused.
    pub approved: bool,
    /// Why.
    pub comment: String,
    /// Who ruled, when.
    pub by: Stamp,
}

/// A reply to the citizen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// From 1.
    pub round: u32,
    /// The text.
    pub text: String,
    /// Where it is (`ReplyState` number).
    pub state: i32,
    /// Who drafted it, when.
    pub drafted: Stamp,
    /// Who reviewed it, when.
    pub reviewed: Option<Stamp>,
    /// The leader's comment.
    pub review_comment: String,
    /// When it was published.
    pub published_time: Option<DateTime<Utc>>,
    /// The platform's id of it.
    pub platform_reply_id: String,
}

impl Reply {
    /// Its state.
    pub fn state(&self) -> ReplyState {
        ReplyState::from_i32(self.state).unwrap_or(ReplyState::Drafted)
    }
}

/// One step of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What happened.
    pub action: CaseAction,
    /// State before.
    pub from: CaseState,
    /// State after.
    pub to: CaseState,
    /// Who, when.
    pub stamp: Stamp,
    /// The department concerned.
    pub department: String,
    /// Reason or comment.
    pub comment: String,
}

/// A case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Id.
    pub id: String,
    /// The account's id.
    pub account: String,
    /// The account's organization id.
    pub account_organization: String,
    /// Its materialized path.
    pub account_path: String,
    /// Category.
    pub category: Category,
    /// The first message's text, phones masked.
    pub text: String,
    /// Keyed hash of the citizen.
    pub citizen_key: String,
    /// Masked handle.
    pub handle_masked: String,
    /// Masked contact.
    pub contact_masked: String,
    /// Region code.
    pub region_code: String,
    /// State.
    pub state: CaseState,
    /// Department id, once dispatched.
    pub department: Option<String>,
    /// Its path.
    pub department_path: Option<String>,
    /// The rule that dispatched it.
    pub routed_by_rule: Option<String>,
    /// First message's receipt.
    pub received_time: DateTime<Utc>,
    /// Dispatcher's deadline.
    pub dispatch_due: Option<DateTime<Utc>>,
    /// Last dispatch.
    pub dispatched_time: Option<DateTime<Utc>>,
    /// Department's sign-for deadline.
    pub sign_due: Option<DateTime<Utc>>,
    /// When signed for.
    pub signed_time: Option<DateTime<Utc>>,
    /// Department's handling deadline.
    pub handling_due: Option<DateTime<Utc>>,
    /// End of the return window.
    pub return_window_end: Option<DateTime<Utc>>,
    /// The dispatcher missed a deadline.
    pub dispatcher_overdue: bool,
    /// The department missed a deadline.
    pub department_overdue: bool,
    /// Messages in the case.
    pub message_count: i32,
    /// Extension days granted this round.
    pub extension_days: u32,
    /// True once any extension was granted (the statistics count it).
    pub ever_extended: bool,
    /// Latest extension.
    pub extension: Option<Extension>,
    /// Pending return's reason.
    pub return_reason: String,
    /// The state a refused return goes back to.
    pub return_from: Option<CaseState>,
    /// Returns requested.
    pub return_count: i32,
    /// Replies.
    pub replies: Vec<Reply>,
    /// Latest rating.
    pub satisfaction: Option<Satisfaction>,
    /// Times reopened.
    pub reopen_count: i32,
    /// The highest escalation fired, and the deadline it was about (see [`super::escalation`]).
    pub escalation: Option<(super::escalation::Level, DateTime<Utc>)>,
    /// Created.
    pub created: Stamp,
    /// Updated.
    pub updated: Stamp,
    /// Version (etag).
    pub version: i64,
}

/// Why a step is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The state does not allow the step.
    #[error("a {state} case cannot be {action}")]
    InvalidTransition {
        /// The current state.
        state: CaseState,
        /// What was tried, in words ("signed for").
        action: &'static str,
    },
    /// The caller's organization is not the case's department (which is not named: the caller
    /// may be of another region).
    #[error("the case is not dispatched to the caller's organization")]
    WrongDepartment,
    /// The caller sees the case (its department's line) but does not dispatch it: only a unit
    /// whose jurisdiction holds the case's account takes the dispatcher's steps.
    #[error(
        "only the case's dispatcher (a unit whose jurisdiction holds its account) takes this step"
    )]
    NotTheDispatcher,
    /// The return window has closed.
    #[error("the return window closed at {closed}")]
    ReturnWindowClosed {
        /// When.
        closed: DateTime<Utc>,
    },
    /// More extension days than the cap leaves.
    #[error("at most {remaining} more working days can be granted")]
    ExtensionCap {
        /// What is left.
        remaining: u32,
    },
    /// An extension is already pending.
    #[error("an extension request is already waiting for the dispatcher")]
    ExtensionPending,
    /// No extension is pending.
    #[error("no extension request is waiting")]
    NoExtensionPending,
    /// The reviewer wrote the reply.
    #[error("the author of a reply never approves it")]
    OwnReply,
    /// The latest reply is not published yet.
    #[error("the reply is not published yet")]
    NotPublished,
    /// Reopening needs a dissatisfied citizen.
    #[error("only a case whose citizen is dissatisfied is reopened")]
    NotDissatisfied,
    /// Redispatch to the department that returned it.
    #[error("the case was returned by that department")]
    SameDepartment,
}

impl Case {
    /// `organizations/{department}`, or empty.
    pub fn department_name(&self) -> String {
        self.department
            .as_deref()
            .map(|d| format!("organizations/{d}"))
            .unwrap_or_default()
    }

    /// The latest reply.
    pub fn latest_reply(&self) -> Option<&Reply> {
        self.replies.last()
    }

    fn step(&self, action: CaseAction, from: CaseState, stamp: &Stamp, comment: &str) -> Step {
        Step {
            action,
            from,
            to: self.state,
            stamp: stamp.clone(),
            department: self.department_name(),
            comment: comment.to_owned(),
        }
    }

    fn require(&self, states: &[CaseState], action: &'static str) -> Result<(), CaseError> {
        if states.contains(&self.state) {
            Ok(())
        } else {
            Err(CaseError::InvalidTransition {
                state: self.state,
                action,
            })
        }
    }

    /// Refuses a department step by anyone but the case's department.
    pub fn require_department(&self, organization: &str) -> Result<(), CaseError> {
        if self.department.as_deref() == Some(organization) {
            Ok(())
        } else {
            Err(CaseError::WrongDepartment)
        }
    }

    /// A new case from its first message: RECEIVED, the dispatcher's clock running.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        id: String,
        account: (String, String, String),
        category: Category,
        text: String,
        citizen: (String, String, String),
        region_code: String,
        received_time: DateTime<Utc>,
        stamp: &Stamp,
        limits: &Limits,
        calendar: &Calendar,
    ) -> (Case, Step) {
        let (account, account_organization, account_path) = account;
        let (citizen_key, handle_masked, contact_masked) = citizen;
        let case = Case {
            id,
            account,
            account_organization,
            account_path,
            category,
            text,
            citizen_key,
            handle_masked,
            contact_masked,
            region_code,
            state: CaseState::Received,
            department: None,
            department_path: None,
            routed_by_rule: None,
            received_time,
            // The dispatcher's clock starts when the message reaches govmedia: a collector
            // that forwards late is not the dispatcher's fault.
            dispatch_due: due(calendar, stamp.time, limits.dispatch_days),
            dispatched_time: None,
            sign_due: None,
            signed_time: None,
            handling_due: None,
            return_window_end: None,
            dispatcher_overdue: false,
            department_overdue: false,
            message_count: 1,
            extension_days: 0,
            ever_extended: false,
            extension: None,
            return_reason: String::new(),
            return_from: None,
            return_count: 0,
            replies: Vec::new(),
            satisfaction: None,
            reopen_count: 0,
            escalation: None,
            created: stamp.clone(),
            updated: stamp.clone(),
            version: 1,
        };
        let step = case.step(CaseAction::Received, CaseState::Received, stamp, "");
        (case, step)
    }

    /// A near-duplicate joined the case.
    pub fn merge(&mut self, stamp: &Stamp, message: &str) -> Step {
        self.message_count += 1;
        self.step(CaseAction::Merged, self.state, stamp, message)
    }

    /// RECEIVED → DISPATCHED to `department` (by `rule`, or by hand when none).
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch(
        &mut self,
        department: (&str, &str),
        rule: Option<&str>,
        stamp: &Stamp,
        comment: &str,
        limits: &Limits,
        calendar: &Calendar,
    ) -> Result<Step, CaseError> {
        self.require(&[CaseState::Received], "dispatched")?;
        let from = self.state;
        let now = stamp.time;
        if self.dispatch_due.is_some_and(|due| now > due) {
            self.dispatcher_overdue = true;
        }
        self.department = Some(department.0.to_owned());
        self.department_path = Some(department.1.to_owned());
        self.routed_by_rule = rule.map(str::to_owned);
        self.dispatched_time = Some(now);
        self.sign_due = due(calendar, now, limits.sign_for_days);
        self.return_window_end = due(calendar, now, limits.return_window_days);
        self.signed_time = None;
        self.handling_due = None;
        self.extension = None;
        self.extension_days = 0;
        self.state = CaseState::Dispatched;
        Ok(self.step(CaseAction::Dispatched, from, stamp, comment))
    }

    /// DISPATCHED → SIGNED by the department: its handling clock starts.
    pub fn sign_for(
        &mut self,
        stamp: &Stamp,
        limits: &Limits,
        calendar: &Calendar,
    ) -> Result<Step, CaseError> {
        self.require_department(&stamp.actor_organization)?;
        self.require(&[CaseState::Dispatched], "signed for")?;
        let now = stamp.time;
        if self.sign_due.is_some_and(|due| now > due) {
            self.department_overdue = true;
        }
        self.signed_time = Some(now);
        if self.handling_due.is_none() {
            self.handling_due = due(calendar, now, limits.handling_days(self.category));
        }
        self.state = CaseState::Signed;
        Ok(self.step(CaseAction::Signed, CaseState::Dispatched, stamp, ""))
    }

    /// DISPATCHED or SIGNED → RETURN_REQUESTED, within the window.
    pub fn request_return(&mut self, stamp: &Stamp, reason: &str) -> Result<Step, CaseError> {
        self.require_department(&stamp.actor_organization)?;
        self.require(&[CaseState::Dispatched, CaseState::Signed], "returned")?;
        if let Some(closed) = self.return_window_end
            && stamp.time > closed
        {
            return Err(CaseError::ReturnWindowClosed { closed });
        }
        let from = self.state;
        self.return_from = Some(from);
        self.return_reason = reason.to_owned();
        self.return_count += 1;
        self.state = CaseState::ReturnRequested;
        Ok(self.step(CaseAction::ReturnRequested, from, stamp, reason))
    }

    /// The dispatcher's ruling on a return: accepted, back to RECEIVED (the dispatcher's clock
    /// runs again) and, with `redispatch`, on to that department; refused, back where it was.
    pub fn decide_return(
        &mut self,
        accept: bool,
        redispatch: Option<(&str, &str)>,
        stamp: &Stamp,
        comment: &str,
        limits: &Limits,
        calendar: &Calendar,
    ) -> Result<Vec<Step>, CaseError> {
        self.require(&[CaseState::ReturnRequested], "ruled on as a return")?;
        if !accept {
            let back = self.return_from.unwrap_or(CaseState::Dispatched);
            self.state = back;
            self.return_from = None;
            self.return_reason.clear();
            return Ok(vec![self.step(
                CaseAction::ReturnRefused,
                CaseState::ReturnRequested,
                stamp,
                comment,
            )]);
        }
        if let Some((department, _)) = redispatch
            && self.department.as_deref() == Some(department)
        {
            return Err(CaseError::SameDepartment);
        }
        let accepted = self.step(
            CaseAction::ReturnAccepted,
            CaseState::ReturnRequested,
            stamp,
            comment,
        );
        self.state = CaseState::Received;
        self.return_from = None;
        self.return_reason.clear();
        self.department = None;
        self.department_path = None;
        self.routed_by_rule = None;
        self.signed_time = None;
        self.sign_due = None;
        self.handling_due = None;
        self.return_window_end = None;
        self.dispatch_due = due(calendar, stamp.time, limits.dispatch_days);
        let mut accepted = accepted;
        accepted.to = CaseState::Received;
        let mut steps = vec![accepted];
        if let Some(department) = redispatch {
            steps.push(self.dispatch(department, None, stamp, comment, limits, calendar)?);
        }
        Ok(steps)
    }

    /// The department asks for `days` more working days.
    pub fn request_extension(
        &mut self,
        stamp: &Stamp,
        days: u32,
        reason: &str,
        limits: &Limits,
    ) -> Result<Step, CaseError> {
        self.require_department(&stamp.actor_organization)?;
        self.require(&[CaseState::Signed], "extended")?;
        if self.extension.as_ref().is_some_and(|e| e.ruling.is_none()) {
            return Err(CaseError::ExtensionPending);
        }
        let remaining = limits
            .max_extension_days
            .saturating_sub(self.extension_days);
        if days > remaining {
            return Err(CaseError::ExtensionCap { remaining });
        }
        self.extension = Some(Extension {
            days,
            reason: reason.to_owned(),
            requested: stamp.clone(),
            ruling: None,
        });
        Ok(self.step(
            CaseAction::ExtensionRequested,
            self.state,
            stamp,
            &format!("{days} working days: {reason}"),
        ))
    }

    /// The dispatcher's ruling on the pending extension.
    pub fn decide_extension(
        &mut self,
        approve: bool,
        stamp: &Stamp,
        comment: &str,
        limits: &Limits,
        calendar: &Calendar,
    ) -> Result<Step, CaseError> {
        self.require(
            &[CaseState::Signed, CaseState::Reviewing],
            "ruled on as an extension",
        )?;
        let Some(extension) = self.extension.as_mut().filter(|e| e.ruling.is_none()) else {
            return Err(CaseError::NoExtensionPending);
        };
        let days = extension.days;
        if approve {
            // Checked again: the cap is of the round, whatever was granted meanwhile.
            let remaining = limits
                .max_extension_days
                .saturating_sub(self.extension_days);
            if days > remaining {
                return Err(CaseError::ExtensionCap { remaining });
            }
        }
        extension.ruling = Some(Ruling {
            approved: approve,
            comment: comment.to_owned(),
            by: stamp.clone(),
        });
        let action = if approve {
            self.extension_days += days;
            self.ever_extended = true;
            self.handling_due = self
                .handling_due
                .and_then(|due_time| extend(calendar, due_time, days));
            CaseAction::ExtensionApproved
        } else {
            CaseAction::ExtensionRefused
        };
        Ok(self.step(action, self.state, stamp, comment))
    }

    /// SIGNED → REVIEWING with a drafted reply.
    pub fn draft_reply(&mut self, stamp: &Stamp, text: &str) -> Result<Step, CaseError> {
        self.require_department(&stamp.actor_organization)?;
        self.require(&[CaseState::Signed], "answered")?;
        self.replies.push(Reply {
            round: self.replies.len() as u32 + 1,
            text: text.to_owned(),
            state: ReplyState::Drafted as i32,
            drafted: stamp.clone(),
            reviewed: None,
            review_comment: String::new(),
            published_time: None,
            platform_reply_id: String::new(),
        });
        self.state = CaseState::Reviewing;
        Ok(self.step(CaseAction::ReplyDrafted, CaseState::Signed, stamp, ""))
    }

    /// The leader approves (→ REPLIED) or rejects (→ SIGNED) the drafted reply; never its
    /// author.
    pub fn review_reply(
        &mut self,
        stamp: &Stamp,
        approve: bool,
        comment: &str,
    ) -> Result<Step, CaseError> {
        self.require_department(&stamp.actor_organization)?;
        self.require(&[CaseState::Reviewing], "reviewed")?;
        let now = stamp.time;
        let Some(reply) = self.replies.last_mut() else {
            return Err(CaseError::InvalidTransition {
                state: self.state,
                action: "reviewed",
            });
        };
        if reply.drafted.actor == stamp.actor {
            return Err(CaseError::OwnReply);
        }
        reply.reviewed = Some(stamp.clone());
        reply.review_comment = comment.to_owned();
        let action = if approve {
            reply.state = ReplyState::Approved as i32;
            if self.handling_due.is_some_and(|due| now > due) {
                self.department_overdue = true;
            }
            self.satisfaction = None;
            self.state = CaseState::Replied;
            CaseAction::ReplyApproved
        } else {
            reply.state = ReplyState::Rejected as i32;
            self.state = CaseState::Signed;
            CaseAction::ReplyRejected
        };
        Ok(self.step(action, CaseState::Reviewing, stamp, comment))
    }

    /// The approved reply went out on the platform; false when there is none to record (it was
    /// recorded before).
    pub fn published(&mut self, stamp: &Stamp, platform_reply_id: &str) -> Option<Step> {
        let reply = self.replies.last_mut()?;
        if reply.state() != ReplyState::Approved {
            return None;
        }
        reply.state = ReplyState::Published as i32;
        reply.published_time = Some(stamp.time);
        reply.platform_reply_id = platform_reply_id.to_owned();
        Some(self.step(
            CaseAction::ReplyPublished,
            self.state,
            stamp,
            platform_reply_id,
        ))
    }

    fn require_published(&self, action: &'static str) -> Result<(), CaseError> {
        self.require(&[CaseState::Replied], action)?;
        match self.latest_reply() {
            Some(reply) if reply.state() == ReplyState::Published => Ok(()),
            _ => Err(CaseError::NotPublished),
        }
    }

    /// The citizen's rating of the published reply: satisfied closes the case.
    pub fn record_satisfaction(
        &mut self,
        stamp: &Stamp,
        satisfaction: Satisfaction,
        comment: &str,
    ) -> Result<Vec<Step>, CaseError> {
        self.require_published("rated")?;
        if self.satisfaction.is_some() {
            return Err(CaseError::InvalidTransition {
                state: self.state,
                action: "rated again (the citizen rated this reply already)",
            });
        }
        self.satisfaction = Some(satisfaction);
        let mut steps = vec![self.step(
            CaseAction::SatisfactionRecorded,
            CaseState::Replied,
            stamp,
            &format!(
                "{satisfaction}{}{comment}",
                if comment.is_empty() { "" } else { ": " }
            ),
        )];
        if satisfaction != Satisfaction::Dissatisfied {
            self.state = CaseState::Closed;
            steps.push(self.step(CaseAction::Closed, CaseState::Replied, stamp, ""));
        }
        Ok(steps)
    }

    /// REPLIED with a dissatisfied citizen → SIGNED under a new handling deadline (重办).
    pub fn reopen(
        &mut self,
        stamp: &Stamp,
        reason: &str,
        limits: &Limits,
        calendar: &Calendar,
    ) -> Result<Step, CaseError> {
        self.require(&[CaseState::Replied], "reopened")?;
        if self.satisfaction != Some(Satisfaction::Dissatisfied) {
            return Err(CaseError::NotDissatisfied);
        }
        self.reopen_count += 1;
        self.satisfaction = None;
        self.extension = None;
        self.extension_days = 0;
        self.handling_due = due(calendar, stamp.time, limits.reopen_days);
        self.state = CaseState::Signed;
        Ok(self.step(CaseAction::Reopened, CaseState::Replied, stamp, reason))
    }

    /// REPLIED (published) → CLOSED by the dispatcher.
    pub fn close(&mut self, stamp: &Stamp, reason: &str) -> Result<Step, CaseError> {
        self.require_published("closed")?;
        self.state = CaseState::Closed;
        Ok(self.step(CaseAction::Closed, CaseState::Replied, stamp, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn stamp(time: &str, actor: &str, org: &str) -> Stamp {
        Stamp {
            time: at(time),
            actor: actor.into(),
            actor_organization: org.into(),
        }
    }

    fn limits() -> Limits {
        Limits {
            dispatch_days: 1,
            sign_for_days: 1,
            handling_days: [
                (Category::Consult, 5),
                (Category::Help, 5),
                (Category::Complaint, 5),
                (Category::Report, 5),
                (Category::Suggestion, 5),
            ],
            return_window_days: 2,
            max_extension_days: 10,
            reopen_days: 5,
        }
    }

    fn received(time: &str) -> Case {
        let calendar = Calendar::official();
        Case::open(
            "c1".into(),
            ("acc".into(), "county".into(), "/p/county/".into()),
            Category::Consult,
            "问题".into(),
            ("key".into(), "张***".into(), "138****5678".into()),
            String::new(),
            at(time),
            &stamp(time, "collector", "county"),
            &limits(),
            &calendar,
        )
        .0
    }

    #[test]
    fn deadlines_skip_the_national_day_holiday_and_count_the_adjusted_working_day() {
        let calendar = Calendar::official();
        // Received on Wednesday 30 September 2026; 1-7 October are holidays and Saturday
        // 10 October is an adjusted working day.
        let mut case = received("2026-09-30T10:00:00+08:00");
        assert_eq!(case.dispatch_due, Some(at("2026-10-09T00:00:00+08:00")));
        let step = case
            .dispatch(
                ("edu", "/p/county/edu/"),
                None,
                &stamp("2026-09-30T11:00:00+08:00", "op", "county"),
                "",
                &limits(),
                &calendar,
            )
            .expect("dispatch");
        assert_eq!(step.action, CaseAction::Dispatched);
        assert_eq!(
            case.return_window_end,
            Some(at("2026-10-10T00:00:00+08:00"))
        );
        case.sign_for(
            &stamp("2026-09-30T15:00:00+08:00", "h", "edu"),
            &limits(),
            &calendar,
        )
        .expect("sign");
        // Five working days after 30 September: 8, 9, 10 (Saturday, worked), 12, 13 October.
        assert_eq!(case.handling_due, Some(at("2026-10-14T00:00:00+08:00")));
        case.request_extension(
            &stamp("2026-10-09T09:00:00+08:00", "h", "edu"),
            3,
            "需要现场核实",
            &limits(),
        )
        .expect("extension");
        case.decide_extension(
            true,
            &stamp("2026-10-09T10:00:00+08:00", "op", "county"),
            "同意",
            &limits(),
            &calendar,
        )
        .expect("ruling");
        assert_eq!(case.handling_due, Some(at("2026-10-17T00:00:00+08:00")));
        assert_eq!(
            case.request_extension(
                &stamp("2026-10-09T11:00:00+08:00", "h", "edu"),
                8,
                "再延",
                &limits()
            ),
            Err(CaseError::ExtensionCap { remaining: 7 })
        );
    }

    #[test]
    fn returns_close_with_their_window_and_only_the_department_returns() {
        let calendar = Calendar::official();
        let mut case = received("2026-06-01T09:00:00+08:00");
        case.dispatch(
            ("edu", "/p/county/edu/"),
            None,
            &stamp("2026-06-01T09:30:00+08:00", "op", "county"),
            "",
            &limits(),
            &calendar,
        )
        .expect("dispatch");
        assert!(matches!(
            case.request_return(
                &stamp("2026-06-01T10:00:00+08:00", "h", "health"),
                "不是我们的"
            ),
            Err(CaseError::WrongDepartment)
        ));
        assert!(matches!(
            case.request_return(&stamp("2026-06-04T00:00:01+08:00", "h", "edu"), "晚了"),
            Err(CaseError::ReturnWindowClosed { .. })
        ));
        case.request_return(&stamp("2026-06-03T23:00:00+08:00", "h", "edu"), "职责不符")
            .expect("in time");
        let steps = case
            .decide_return(
                true,
                Some(("health", "/p/county/health/")),
                &stamp("2026-06-04T09:00:00+08:00", "op", "county"),
                "改派卫健局",
                &limits(),
                &calendar,
            )
            .expect("accept");
        assert_eq!(steps.len(), 2);
        assert_eq!(case.department.as_deref(), Some("health"));
        assert_eq!(case.state, CaseState::Dispatched);
    }

    #[test]
    fn the_author_never_approves_their_reply_and_only_dissatisfaction_reopens() {
        let calendar = Calendar::official();
        let mut case = received("2026-06-01T09:00:00+08:00");
        let t = |s: &str| format!("2026-06-0{s}+08:00");
        case.dispatch(
            ("edu", "/p/county/edu/"),
            None,
            &stamp(&t("1T10:00:00"), "op", "county"),
            "",
            &limits(),
            &calendar,
        )
        .expect("dispatch");
        case.sign_for(&stamp(&t("1T11:00:00"), "h", "edu"), &limits(), &calendar)
            .expect("sign");
        case.draft_reply(&stamp(&t("2T09:00:00"), "lead", "edu"), "答复")
            .expect("draft");
        assert_eq!(
            case.review_reply(&stamp(&t("2T10:00:00"), "lead", "edu"), true, ""),
            Err(CaseError::OwnReply)
        );
        case.review_reply(&stamp(&t("2T10:00:00"), "lead2", "edu"), true, "")
            .expect("approve");
        assert_eq!(
            case.record_satisfaction(
                &stamp(&t("2T11:00:00"), "op", "county"),
                Satisfaction::Satisfied,
                ""
            ),
            Err(CaseError::NotPublished)
        );
        case.published(&stamp(&t("2T10:00:01"), "routing", "p"), "wx-1")
            .expect("published");
        assert_eq!(
            case.reopen(
                &stamp(&t("2T12:00:00"), "op", "county"),
                "?",
                &limits(),
                &calendar
            ),
            Err(CaseError::NotDissatisfied)
        );
        let steps = case
            .record_satisfaction(
                &stamp(&t("2T11:00:00"), "op", "county"),
                Satisfaction::Satisfied,
                "",
            )
            .expect("rate");
        assert_eq!(steps.len(), 2);
        assert_eq!(case.state, CaseState::Closed);
    }
}
