//! Rectification orders (整改通知, R-22): what one account's unit must rectify, by when, and how
//! it went, as a state machine without I/O.
//!
//! An order cites findings of one account and runs in rounds. Each round has a deadline in
//! working days of the unit's regional calendar, counted from the day after the round began
//! (时限自次日起算); the unit answers (late answers are taken and marked late), the service
//! checks the account again under the order's scheme version (the re-check), and a supervisor
//! verifies (closed) or rejects (the next round, with a new deadline). A warning fires when the
//! last `warning_days` of a round's deadline begin without an answer, an escalation when the
//! deadline passes; each fires at most once per round.

use chrono::{DateTime, Utc};
use govmedia_kit::calendar::{Calendar, CalendarError};

use super::{Stamp, scheme::Verdict};

/// The longest deadline a round may have, in working days.
pub const MAX_DEADLINE_DAYS: u32 = 60;

/// Most findings one order cites.
pub const MAX_FINDINGS: usize = 50;

govmedia_kit::numbered! {
    /// Where an order stands (`RectificationState`).
    OrderState {
        /// Waiting for the unit's answer.
        Open = 1 => "OPEN",
        /// Answered: waiting for the re-check and the supervisor.
        Answered = 2 => "ANSWERED",
        /// Verified: closed.
        Verified = 3 => "VERIFIED",
    }
}

govmedia_kit::numbered! {
    /// What changed an order (`RectificationChange`).
    Change {
        /// Opened by a supervisor.
        Opened = 1 => "OPENED",
        /// Answered by the unit.
        Answered = 2 => "ANSWERED",
        /// The answer's re-check recorded.
        Rechecked = 3 => "RECHECKED",
        /// The answer rejected: a new round.
        Rejected = 4 => "REJECTED",
        /// The rectification verified.
        Verified = 5 => "VERIFIED",
        /// The deadline is near without an answer.
        Warned = 6 => "WARNED",
        /// The deadline passed without an answer.
        Overdue = 7 => "OVERDUE",
        /// The due time, unknown before, is known now.
        DeadlineSet = 8 => "DEADLINE_SET",
    }
}

/// A file offered as evidence, by hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// Its file name.
    pub name: String,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Where the unit keeps it.
    pub uri: Option<String>,
}

/// The unit's answer in a round.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// What was done.
    pub text: String,
    /// Links to the corrected posts or pages.
    pub links: Vec<String>,
    /// Files of evidence.
    pub attachments: Vec<Attachment>,
    /// Who answered, when.
    pub answered: Stamp,
    /// After the round's due time.
    pub late: bool,
}

/// The re-check of an answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recheck {
    /// The check's id.
    pub check: String,
    /// Its outcome.
    pub outcome: Verdict,
    /// The order's findings it found again (ids).
    pub still_found: Vec<String>,
    /// The order's findings it could not judge (ids): their detector is not in the scheme or
    /// its item was not evaluated or does not apply now, or they are a supervisor's own.
    #[serde(default)]
    pub not_rechecked: Vec<String>,
    /// When it was recorded.
    pub time: DateTime<Utc>,
}

/// When a round is due and when it warns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    /// The end of the deadline's last working day; none while the calendar cannot say.
    pub due: Option<DateTime<Utc>>,
    /// When the last `warning_days` of the deadline begin; none for a deadline too short.
    pub warning: Option<DateTime<Utc>>,
}

impl Schedule {
    /// The schedule of a deadline of `days` working days from `start`, warning `warning_days`
    /// before its end, counted in `calendar`. A calendar without data for the years it reaches
    /// gives an unknown schedule (filled in later, see [`Order::set_schedule`]).
    pub fn of(
        calendar: &Calendar,
        start: DateTime<Utc>,
        days: u32,
        warning_days: u32,
    ) -> Result<Schedule, CalendarError> {
        let due = calendar.deadline(start, days)?;
        let warning = if days > warning_days && warning_days > 0 {
            Some(calendar.deadline(start, days - warning_days)?)
        } else {
            None
        };
        Ok(Schedule {
            due: Some(due),
            warning,
        })
    }
}

/// One round of an order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Round {
    /// 1 for the first.
    pub round: u32,
    /// The deadline in working days.
    pub days: u32,
    /// When the round began.
    pub start: DateTime<Utc>,
    /// When it is due and warns.
    pub schedule: Schedule,
    /// When the warning fired.
    pub warned: Option<DateTime<Utc>>,
    /// When it became overdue.
    pub overdue: Option<DateTime<Utc>>,
    /// The unit's answer.
    pub answer: Option<Answer>,
    /// The answer's re-check.
    pub recheck: Option<Recheck>,
    /// VERIFIED or REJECTED once decided.
    pub decision: Option<Change>,
    /// The supervisor's comment with the decision.
    pub comment: String,
    /// Who decided, when.
    pub decided: Option<Stamp>,
}

impl Round {
    fn new(round: u32, days: u32, start: DateTime<Utc>, schedule: Schedule) -> Round {
        Round {
            round,
            days,
            start,
            schedule,
            warned: None,
            overdue: None,
            answer: None,
            recheck: None,
            decision: None,
            comment: String::new(),
            decided: None,
        }
    }
}

/// A rectification order.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// The account.
    pub account: String,
    /// The unit owning the account.
    pub organization: String,
    /// That unit's materialized path.
    pub path: String,
    /// The findings cited (ids).
    pub findings: Vec<String>,
    /// What the unit must do.
    pub requirement: String,
    /// The scheme re-checks use.
    pub scheme: String,
    /// Its version.
    pub scheme_version: i32,
    /// Where it stands.
    pub state: OrderState,
    /// The rounds, first to current (never empty).
    pub rounds: Vec<Round>,
    /// Bumped by every change (the etag).
    pub version: i32,
    /// Who opened it, when.
    pub created: Stamp,
}

/// Why an order refuses a step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The state does not allow the step.
    #[error("the order is {}; it cannot be {action}", state.as_str())]
    InvalidTransition {
        /// The current state.
        state: OrderState,
        /// What was tried, in words ("answered").
        action: &'static str,
    },
    /// The answer's re-check is not recorded yet.
    #[error("the answer of round {round} is still being re-checked")]
    RecheckPending {
        /// The round.
        round: u32,
    },
    /// The re-check still finds cited findings, or could not judge them, and no comment says
    /// why the order is verified.
    #[error(
        "the re-check still finds, or could not judge, {count} of the order's findings: say in a comment why the rectification stands"
    )]
    CommentRequired {
        /// How many.
        count: usize,
    },
    /// The decider is of the account's own unit, or answered the round itself.
    #[error("the unit that rectifies does not judge its own rectification")]
    OwnAnswer,
}

/// What an order is opened with.
#[derive(Clone, Debug)]
pub struct Opening {
    /// Its id.
    pub id: String,
    /// The account.
    pub account: String,
    /// Its unit.
    pub organization: String,
    /// The unit's path.
    pub path: String,
    /// The findings cited.
    pub findings: Vec<String>,
    /// What to do.
    pub requirement: String,
    /// The scheme re-checks use, and its version.
    pub scheme: (String, i32),
    /// The first round's deadline in working days, and its schedule.
    pub deadline: (u32, Schedule),
}

impl Order {
    /// A new order, OPEN in its first round.
    pub fn open(opening: Opening, created: Stamp) -> Order {
        let (days, schedule) = opening.deadline;
        Order {
            id: opening.id,
            account: opening.account,
            organization: opening.organization,
            path: opening.path,
            findings: opening.findings,
            requirement: opening.requirement,
            scheme: opening.scheme.0,
            scheme_version: opening.scheme.1,
            state: OrderState::Open,
            rounds: vec![Round::new(1, days, created.time, schedule)],
            version: 1,
            created,
        }
    }

    /// The current round.
    pub fn current(&self) -> &Round {
        self.rounds
            .last()
            .expect("an order always has a round (opened with one, never removed)")
    }

    fn current_mut(&mut self) -> &mut Round {
        self.rounds
            .last_mut()
            .expect("an order always has a round (opened with one, never removed)")
    }

    /// The number of the current round.
    pub fn round(&self) -> u32 {
        self.current().round
    }

    /// The current round's due time while the order waits for an answer or a decision.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match self.state {
            OrderState::Open | OrderState::Answered => self.current().schedule.due,
            OrderState::Verified => None,
        }
    }

    /// Whether the order waits for an answer past its due time at `now`.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.state == OrderState::Open && self.current().schedule.due.is_some_and(|due| now >= due)
    }

    /// Who verified it, when.
    pub fn closed(&self) -> Option<&Stamp> {
        match self.state {
            OrderState::Verified => self.current().decided.as_ref(),
            OrderState::Open | OrderState::Answered => None,
        }
    }

    fn refuse(&self, action: &'static str) -> OrderError {
        OrderError::InvalidTransition {
            state: self.state,
            action,
        }
    }

    /// The unit answers the current round.
    pub fn answer(
        &mut self,
        text: String,
        links: Vec<String>,
        attachments: Vec<Attachment>,
        answered: Stamp,
    ) -> Result<(), OrderError> {
        if self.state != OrderState::Open {
            return Err(self.refuse("answered"));
        }
        let late = self.overdue(answered.time);
        self.current_mut().answer = Some(Answer {
            text,
            links,
            attachments,
            answered,
            late,
        });
        self.state = OrderState::Answered;
        self.version += 1;
        Ok(())
    }

    /// Whether round `round`'s answer still waits for its re-check: the order is ANSWERED in
    /// that round and nothing is recorded yet (a round decided meanwhile is not re-checked).
    pub fn awaits_recheck(&self, round: u32) -> bool {
        self.state == OrderState::Answered
            && self.round() == round
            && self.current().recheck.is_none()
    }

    /// Records the re-check of round `round`'s answer, once; false when there is nothing to
    /// record (see [`Order::awaits_recheck`]).
    pub fn record_recheck(&mut self, round: u32, recheck: Recheck) -> bool {
        if !self.awaits_recheck(round) {
            return false;
        }
        self.current_mut().recheck = Some(recheck);
        self.version += 1;
        true
    }

    /// Refuses a decider of the account's own unit, or the person who answered the round.
    fn judge_not_own(&self, decider: &Stamp) -> Result<(), OrderError> {
        let answered = self
            .current()
            .answer
            .as_ref()
            .map(|answer| &answer.answered);
        // Nor the answerer's own organization: a colleague of the person who answered.
        if decider.actor_organization == self.organization
            || answered.is_some_and(|answered| {
                answered.actor == decider.actor
                    || answered.actor_organization == decider.actor_organization
            })
        {
            return Err(OrderError::OwnAnswer);
        }
        Ok(())
    }

    /// A supervisor verifies the answered rectification: the order is closed.
    pub fn verify(&mut self, comment: String, decided: Stamp) -> Result<(), OrderError> {
        if self.state != OrderState::Answered {
            return Err(self.refuse("verified"));
        }
        self.judge_not_own(&decided)?;
        let round = self.current();
        let Some(recheck) = &round.recheck else {
            return Err(OrderError::RecheckPending { round: round.round });
        };
        let open = recheck.still_found.len() + recheck.not_rechecked.len();
        if open > 0 && comment.trim().is_empty() {
            return Err(OrderError::CommentRequired { count: open });
        }
        let current = self.current_mut();
        current.decision = Some(Change::Verified);
        current.comment = comment;
        current.decided = Some(decided);
        self.state = OrderState::Verified;
        self.version += 1;
        Ok(())
    }

    /// A supervisor rejects the answer: the round closes and the next begins now, OPEN, with a
    /// deadline of `days` working days on `schedule`.
    pub fn reject(
        &mut self,
        comment: String,
        decided: Stamp,
        days: u32,
        schedule: Schedule,
    ) -> Result<(), OrderError> {
        if self.state != OrderState::Answered {
            return Err(self.refuse("rejected"));
        }
        self.judge_not_own(&decided)?;
        let start = decided.time;
        let current = self.current_mut();
        current.decision = Some(Change::Rejected);
        current.comment = comment;
        current.decided = Some(decided);
        let next = current.round + 1;
        self.rounds.push(Round::new(next, days, start, schedule));
        self.state = OrderState::Open;
        self.version += 1;
        Ok(())
    }

    /// The round `round` if it is the current one and still waits for an answer.
    fn waiting(&mut self, round: u32) -> Option<&mut Round> {
        if self.state != OrderState::Open || self.round() != round {
            return None;
        }
        Some(self.current_mut())
    }

    /// Fills in the schedule of round `round`, unknown until now; false when there is nothing
    /// to fill in.
    pub fn set_schedule(&mut self, round: u32, schedule: Schedule) -> bool {
        let Some(entry) = self.rounds.iter_mut().find(|r| r.round == round) else {
            return false;
        };
        if entry.schedule.due.is_some() || schedule.due.is_none() {
            return false;
        }
        entry.schedule = schedule;
        self.version += 1;
        true
    }

    /// Fires the warning of round `round` at `now`: true when it fires now (the round still
    /// waits for an answer, its warning time has come, and it has not fired before).
    pub fn warn(&mut self, round: u32, now: DateTime<Utc>) -> bool {
        let Some(entry) = self.waiting(round) else {
            return false;
        };
        if entry.warned.is_some() || entry.schedule.warning.is_none_or(|at| now < at) {
            return false;
        }
        entry.warned = Some(now);
        self.version += 1;
        true
    }

    /// Marks round `round` overdue at `now`: true when it does now (see [`Order::warn`]).
    pub fn escalate(&mut self, round: u32, now: DateTime<Utc>) -> bool {
        let Some(entry) = self.waiting(round) else {
            return false;
        };
        if entry.overdue.is_some() || entry.schedule.due.is_none_or(|due| now < due) {
            return false;
        }
        entry.overdue = Some(now);
        self.version += 1;
        true
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

    fn stamp(actor: &str, organization: &str, time: &str) -> Stamp {
        Stamp {
            time: at(time),
            actor: actor.to_owned(),
            actor_organization: organization.to_owned(),
        }
    }

    fn calendar() -> Calendar {
        Calendar::official()
    }

    fn order(days: u32) -> Order {
        let start = at("2026-09-28T10:00:00+08:00");
        let schedule = Schedule::of(&calendar(), start, days, 1).expect("2026 has data");
        Order::open(
            Opening {
                id: "o1".into(),
                account: "golmud-wechat".into(),
                organization: "golmud".into(),
                path: "/qinghai/haixi/golmud/".into(),
                findings: vec!["f1".into(), "f2".into()],
                requirement: "删除错误表述并公开更正".into(),
                scheme: ("national".into(), 2),
                deadline: (days, schedule),
            },
            stamp("ma", "golmud-office", "2026-09-28T10:00:00+08:00"),
        )
    }

    fn recheck(still_found: &[&str]) -> Recheck {
        Recheck {
            check: "k1".into(),
            outcome: if still_found.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            still_found: still_found.iter().map(|s| (*s).to_owned()).collect(),
            not_rechecked: vec![],
            time: at("2026-09-29T12:00:00+08:00"),
        }
    }

    #[test]
    fn deadlines_count_working_days_across_the_national_day_holiday() {
        // Monday 28 September 2026 + 3 working days: 29 and 30 September, then the National
        // Day holiday (1-7 October), then Thursday 8 October... unless it is adjusted; the
        // official calendar decides.
        let calendar = calendar();
        let start = at("2026-09-28T10:00:00+08:00");
        let schedule = Schedule::of(&calendar, start, 3, 1).expect("data");
        let due = schedule.due.expect("due");
        assert_eq!(
            calendar.working_days_between(start, due - chrono::Duration::seconds(1)),
            Ok(3)
        );
        let warning = schedule.warning.expect("warning");
        assert_eq!(warning, calendar.deadline(start, 2).expect("deadline"));
        assert!(warning < due);
        // A deadline of one day has no room for a warning a day ahead.
        assert_eq!(
            Schedule::of(&calendar, start, 1, 1).expect("data").warning,
            None
        );
        // No data for the year: no schedule, an error the caller logs.
        assert!(Schedule::of(&calendar, at("2026-12-20T10:00:00+08:00"), 30, 1).is_err());
    }

    #[test]
    fn an_order_goes_open_answered_rejected_open_answered_verified() {
        let mut order = order(5);
        assert_eq!(order.state, OrderState::Open);
        order
            .answer(
                "已删除".into(),
                vec![],
                vec![],
                stamp("li", "golmud", "2026-09-29T09:00:00+08:00"),
            )
            .expect("answer");
        assert_eq!(order.state, OrderState::Answered);
        assert!(!order.current().answer.as_ref().expect("answer").late);
        // The unit does not judge itself, nor does the person who answered.
        assert_eq!(
            order.verify(
                String::new(),
                stamp("x", "golmud", "2026-09-29T10:00:00+08:00")
            ),
            Err(OrderError::OwnAnswer)
        );
        assert_eq!(
            order.verify(
                String::new(),
                stamp("li", "golmud-office", "2026-09-29T10:00:00+08:00")
            ),
            Err(OrderError::OwnAnswer)
        );
        // Nor a colleague of the answerer from another organization than the unit.
        let mut by_parent = self::order(5);
        by_parent
            .answer(
                "已删除".into(),
                vec![],
                vec![],
                stamp("zhou", "golmud-gov", "2026-09-29T09:00:00+08:00"),
            )
            .expect("answer");
        assert_eq!(
            by_parent.verify(
                String::new(),
                stamp("ma", "golmud-gov", "2026-09-29T10:00:00+08:00")
            ),
            Err(OrderError::OwnAnswer)
        );
        // Not before the re-check.
        assert_eq!(
            order.verify(
                String::new(),
                stamp("ma", "golmud-office", "2026-09-29T10:00:00+08:00")
            ),
            Err(OrderError::RecheckPending { round: 1 })
        );
        assert!(order.record_recheck(1, recheck(&["f1"])));
        assert!(!order.record_recheck(1, recheck(&[])), "recorded once");
        // Still found: a comment is needed to verify; a rejection needs none.
        assert_eq!(
            order.verify(
                " ".into(),
                stamp("ma", "golmud-office", "2026-09-29T10:00:00+08:00")
            ),
            Err(OrderError::CommentRequired { count: 1 })
        );
        let decided = stamp("ma", "golmud-office", "2026-09-29T10:00:00+08:00");
        let schedule = Schedule::of(&calendar(), decided.time, 3, 1).expect("data");
        order
            .reject("仍有错误表述".into(), decided, 3, schedule)
            .expect("reject");
        assert_eq!(order.state, OrderState::Open);
        assert_eq!(order.round(), 2);
        assert_eq!(order.rounds[0].decision, Some(Change::Rejected));
        assert_eq!(order.due(), schedule.due);
        // A second answer, late this time.
        let late = schedule.due.expect("due") + chrono::Duration::hours(1);
        assert!(order.overdue(late));
        order
            .answer(
                "已全部更正".into(),
                vec!["https://mp.weixin.qq.com/s/x".into()],
                vec![],
                Stamp {
                    time: late,
                    ..stamp("li", "golmud", "2026-09-29T09:00:00+08:00")
                },
            )
            .expect("answer");
        assert!(order.current().answer.as_ref().expect("answer").late);
        assert!(order.record_recheck(2, recheck(&[])));
        order
            .verify(
                String::new(),
                stamp("ma", "golmud-office", "2026-10-20T10:00:00+08:00"),
            )
            .expect("verify");
        assert_eq!(order.state, OrderState::Verified);
        assert_eq!(order.due(), None);
        assert_eq!(order.closed().map(|s| s.actor.as_str()), Some("ma"));
        // Nothing more.
        assert!(matches!(
            order.answer(
                "again".into(),
                vec![],
                vec![],
                stamp("li", "golmud", "2026-10-21T09:00:00+08:00")
            ),
            Err(OrderError::InvalidTransition {
                state: OrderState::Verified,
                ..
            })
        ));
        assert!(matches!(
            order.reject(
                String::new(),
                stamp("ma", "golmud-office", "2026-10-21T09:00:00+08:00"),
                3,
                schedule
            ),
            Err(OrderError::InvalidTransition { .. })
        ));
    }

    #[test]
    fn findings_the_recheck_could_not_judge_need_a_comment_too() {
        let mut order = order(5);
        order
            .answer(
                "已整改".into(),
                vec![],
                vec![],
                stamp("li", "golmud", "2026-09-29T09:00:00+08:00"),
            )
            .expect("answer");
        let mut unjudged = recheck(&[]);
        unjudged.not_rechecked = vec!["f2".into()];
        assert!(order.record_recheck(1, unjudged));
        let supervisor = stamp("ma", "golmud-office", "2026-09-29T10:00:00+08:00");
        assert_eq!(
            order.verify(String::new(), supervisor.clone()),
            Err(OrderError::CommentRequired { count: 1 })
        );
        order
            .verify("人工核实已整改".into(), supervisor)
            .expect("verified with a word");
        // A round decided before its re-check is not re-checked any more.
        let mut rejected = self::order(5);
        rejected
            .answer(
                "已整改".into(),
                vec![],
                vec![],
                stamp("li", "golmud", "2026-09-29T09:00:00+08:00"),
            )
            .expect("answer");
        rejected
            .reject(
                "未整改".into(),
                stamp("ma", "golmud-office", "2026-09-29T10:00:00+08:00"),
                5,
                Schedule::default(),
            )
            .expect("reject");
        assert!(!rejected.awaits_recheck(1));
        assert!(!rejected.record_recheck(1, recheck(&[])));
    }

    #[test]
    fn warnings_and_escalations_fire_once_per_round_and_only_while_waiting() {
        let mut order = order(5);
        let schedule = order.current().schedule;
        let (warning, due) = (schedule.warning.expect("w"), schedule.due.expect("d"));
        assert!(
            !order.warn(1, warning - chrono::Duration::seconds(1)),
            "not yet"
        );
        assert!(order.warn(1, warning));
        assert!(!order.warn(1, warning), "once");
        assert!(!order.escalate(1, due - chrono::Duration::seconds(1)));
        assert!(order.escalate(1, due));
        assert!(!order.escalate(1, due), "once");
        assert!(!order.escalate(2, due), "no such round");
        // An answered order neither warns nor escalates.
        let mut answered = self::order(5);
        answered
            .answer(
                "done".into(),
                vec![],
                vec![],
                stamp("li", "golmud", "2026-09-29T09:00:00+08:00"),
            )
            .expect("answer");
        assert!(!answered.warn(1, warning));
        assert!(!answered.escalate(1, due));
        assert!(!answered.overdue(due));
    }

    #[test]
    fn an_unknown_schedule_is_filled_in_once() {
        let mut order = order(5);
        let known = order.current().schedule;
        order.rounds[0].schedule = Schedule::default();
        assert_eq!(order.due(), None);
        assert!(
            !order.overdue(at("2030-01-01T00:00:00Z")),
            "no due time, never overdue"
        );
        assert!(!order.set_schedule(1, Schedule::default()), "still unknown");
        assert!(order.set_schedule(1, known));
        assert!(!order.set_schedule(1, known), "once");
        assert_eq!(order.due(), known.due);
    }
}
