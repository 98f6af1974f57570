//! The escalation ladder: what fires when a case's running deadline nears or passes. Each case
//! has, for its state, a set of timers (level, deadline, instant to fire); the set is computed
//! here from the case alone, so it can be recomputed after every change and compared with what
//! is stored: a timer already fired for the same deadline is never fired again, and a deadline
//! that moved (an extension, a new department, a reopening) starts its ladder over.
//!
//! | state | clock | timers |
//! |---|---|---|
//! | RECEIVED | dispatcher's | DISPATCH_OVERDUE at `dispatch_due` |
//! | DISPATCHED | department's | SIGN_FOR_OVERDUE at `sign_due` |
//! | SIGNED, REVIEWING | department's | WARNING before `handling_due`, URGED (催办) at it, SUPERVISED (督办) and NOTIFIED (通报) working days after it |
//! | RETURN_REQUESTED | as the state it came from | |
//! | REPLIED, CLOSED | none | |

use chrono::{DateTime, Utc};
use govmedia_kit::calendar::Calendar;

use super::{Case, CaseAction, CaseState, Stamp, Step};

govmedia_kit::numbered! {
    /// A rung of the ladder (`EscalationLevel`).
    Level {
        /// The dispatcher missed the dispatch deadline.
        DispatchOverdue = 1 => "DISPATCH_OVERDUE",
        /// The department missed the sign-for deadline.
        SignForOverdue = 2 => "SIGN_FOR_OVERDUE",
        /// The handling deadline nears.
        Warning = 3 => "WARNING",
        /// 催办: the handling deadline passed.
        Urged = 4 => "URGED",
        /// 督办: still unanswered, some working days later.
        Supervised = 5 => "SUPERVISED",
        /// 通报: still unanswered, later yet.
        Notified = 6 => "NOTIFIED",
    }
}

impl Level {
    /// True when the dispatcher is to blame, false for the department.
    pub fn blames_dispatcher(self) -> bool {
        self == Level::DispatchOverdue
    }

    /// True for the levels that mean a deadline was missed (not the warning).
    pub fn is_overdue(self) -> bool {
        self != Level::Warning
    }
}

/// When the rungs of the handling ladder fire, from the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ladder {
    /// Hours before the handling deadline the warning fires; 0 sends none.
    pub warn_hours_before: u32,
    /// Working days after the deadline 督办 fires.
    pub supervise_after_days: u32,
    /// Working days after the deadline 通报 fires.
    pub notify_after_days: u32,
}

/// One timer of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    /// The rung.
    pub level: Level,
    /// The deadline it is about.
    pub due: DateTime<Utc>,
    /// When it fires.
    pub fire_at: DateTime<Utc>,
}

/// The instant `days` working days after the deadline `due` (24:00 of its last day), or none
/// when the calendar cannot count that far.
fn after(calendar: &Calendar, due: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
    calendar
        .deadline(due - chrono::Duration::microseconds(1), days)
        .ok()
}

/// The timers `case` should have now.
pub fn timers(case: &Case, ladder: &Ladder, calendar: &Calendar) -> Vec<Timer> {
    let state = match case.state {
        CaseState::ReturnRequested => case.return_from.unwrap_or(CaseState::Dispatched),
        state => state,
    };
    let at = |level, due| Timer {
        level,
        due,
        fire_at: due,
    };
    match state {
        CaseState::Received => case
            .dispatch_due
            .map(|due| vec![at(Level::DispatchOverdue, due)])
            .unwrap_or_default(),
        CaseState::Dispatched => case
            .sign_due
            .map(|due| vec![at(Level::SignForOverdue, due)])
            .unwrap_or_default(),
        CaseState::Signed | CaseState::Reviewing => {
            let Some(due) = case.handling_due else {
                return Vec::new();
            };
            let mut timers = Vec::with_capacity(4);
            if ladder.warn_hours_before > 0 {
                timers.push(Timer {
                    level: Level::Warning,
                    due,
                    fire_at: due - chrono::Duration::hours(i64::from(ladder.warn_hours_before)),
                });
            }
            timers.push(at(Level::Urged, due));
            for (level, days) in [
                (Level::Supervised, ladder.supervise_after_days),
                (Level::Notified, ladder.notify_after_days),
            ] {
                if let Some(fire_at) = after(calendar, due, days) {
                    timers.push(Timer {
                        level,
                        due,
                        fire_at,
                    });
                }
            }
            timers
        }
        CaseState::ReturnRequested | CaseState::Replied | CaseState::Closed => Vec::new(),
    }
}

/// The deadline running for `case` now: the one its timers are about.
pub fn running_due(case: &Case) -> Option<DateTime<Utc>> {
    let state = match case.state {
        CaseState::ReturnRequested => case.return_from.unwrap_or(CaseState::Dispatched),
        state => state,
    };
    match state {
        CaseState::Received => case.dispatch_due,
        CaseState::Dispatched => case.sign_due,
        CaseState::Signed | CaseState::Reviewing => case.handling_due,
        CaseState::ReturnRequested | CaseState::Replied | CaseState::Closed => None,
    }
}

/// Forgets an escalation whose deadline no longer runs (after any change of the case).
pub fn settle(case: &mut Case) {
    if case
        .escalation
        .is_some_and(|(_, due)| Some(due) != running_due(case))
    {
        case.escalation = None;
    }
}

/// Fires `timer` on `case`: marks the blamed side overdue (but for the warning), records the
/// rung, and returns the step and the blamed organization's id.
pub fn fire(case: &mut Case, timer: &Timer, stamp: &Stamp) -> (Step, String) {
    let blamed = if timer.level.blames_dispatcher() {
        case.dispatcher_overdue = true;
        case.account_organization.clone()
    } else {
        if timer.level.is_overdue() {
            case.department_overdue = true;
        }
        case.department.clone().unwrap_or_default()
    };
    if case
        .escalation
        .is_none_or(|(level, due)| due != timer.due || (level as i32) < (timer.level as i32))
    {
        case.escalation = Some((timer.level, timer.due));
    }
    let step = Step {
        action: CaseAction::Escalated,
        from: case.state,
        to: case.state,
        stamp: stamp.clone(),
        department: case.department_name(),
        comment: timer.level.as_str().to_owned(),
    };
    (step, blamed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Limits};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_ladder_counts_working_days_after_the_deadline_and_restarts_when_it_moves() {
        let calendar = Calendar::official();
        let limits = Limits {
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
        };
        let stamp = |time: &str, actor: &str, org: &str| Stamp {
            time: at(time),
            actor: actor.into(),
            actor_organization: org.into(),
        };
        let (mut case, _) = Case::open(
            "c".into(),
            ("a".into(), "county".into(), "/c/".into()),
            Category::Help,
            "求助".into(),
            ("k".into(), String::new(), String::new()),
            String::new(),
            at("2026-09-29T09:00:00+08:00"),
            &stamp("2026-09-29T09:00:00+08:00", "collector", "county"),
            &limits,
            &calendar,
        );
        let ladder = Ladder {
            warn_hours_before: 24,
            supervise_after_days: 2,
            notify_after_days: 5,
        };
        let first = timers(&case, &ladder, &calendar);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].level, Level::DispatchOverdue);
        assert_eq!(first[0].fire_at, at("2026-10-01T00:00:00+08:00"));
        case.dispatch(
            ("edu", "/c/edu/"),
            None,
            &stamp("2026-09-29T10:00:00+08:00", "op", "county"),
            "",
            &limits,
            &calendar,
        )
        .expect("dispatch");
        case.sign_for(
            &stamp("2026-09-29T11:00:00+08:00", "h", "edu"),
            &limits,
            &calendar,
        )
        .expect("sign");
        let ladder_timers = timers(&case, &ladder, &calendar);
        let fire: Vec<(Level, DateTime<Utc>)> =
            ladder_timers.iter().map(|t| (t.level, t.fire_at)).collect();
        // Due at the end of 12 October; 督办 two working days later (13, 14), 通报 five (13-16,
        // 19).
        assert_eq!(
            fire,
            [
                (Level::Warning, at("2026-10-12T00:00:00+08:00")),
                (Level::Urged, at("2026-10-13T00:00:00+08:00")),
                (Level::Supervised, at("2026-10-15T00:00:00+08:00")),
                (Level::Notified, at("2026-10-20T00:00:00+08:00")),
            ]
        );
        let (step, blamed) = fire_one(&mut case, &ladder_timers[1]);
        assert_eq!(step.comment, "URGED");
        assert_eq!(blamed, "edu");
        assert!(case.department_overdue && !case.dispatcher_overdue);
        assert_eq!(case.escalation.map(|(l, _)| l), Some(Level::Urged));
        // An approved extension moves the deadline: the ladder starts over.
        case.request_extension(
            &stamp("2026-10-13T09:00:00+08:00", "h", "edu"),
            2,
            "核实",
            &limits,
        )
        .expect("ask");
        case.decide_extension(
            true,
            &stamp("2026-10-13T10:00:00+08:00", "op", "county"),
            "同意",
            &limits,
            &calendar,
        )
        .expect("approve");
        settle(&mut case);
        assert_eq!(case.escalation, None);
        assert_eq!(
            timers(&case, &ladder, &calendar)[1].fire_at,
            at("2026-10-15T00:00:00+08:00")
        );
    }

    fn fire_one(case: &mut Case, timer: &Timer) -> (Step, String) {
        fire(
            case,
            timer,
            &Stamp {
                time: timer.fire_at,
                actor: "routing".into(),
                actor_organization: "p".into(),
            },
        )
    }
}
