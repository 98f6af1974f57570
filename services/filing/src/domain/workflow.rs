//! The filing workflow: which step may follow which state, and who may take it.
//!
//! ```text
//! DRAFT ──submit──▶ SUBMITTED ──consent──▶ LEADER_APPROVED ──accept──▶ ACCEPTED
//!   ▲ edit            │ return (leader)      │ return (department)  └─reject──▶ REJECTED
//!   │                 ▼                      ▼
//!   └──────edit──── RETURNED ◀───────────────┘      any open state ──withdraw──▶ WITHDRAWN
//!                     └──submit──▶ SUBMITTED
//! ```

use super::{FilingAction, FilingState};

/// A step a caller takes on a filing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Change a filing being written or returned.
    Edit,
    /// Ask the unit's leader to consent.
    Submit,
    /// The unit's leader consents (R-11).
    Consent,
    /// Send back for correction.
    Return,
    /// The management department accepts (R-10).
    Accept,
    /// The management department rejects.
    Reject,
    /// The unit takes the filing back.
    Withdraw,
}

impl Step {
    /// The timeline action the step records.
    pub fn action(self) -> FilingAction {
        match self {
            Step::Edit => FilingAction::Updated,
            Step::Submit => FilingAction::Submitted,
            Step::Consent => FilingAction::Consented,
            Step::Return => FilingAction::Returned,
            Step::Accept => FilingAction::Accepted,
            Step::Reject => FilingAction::Rejected,
            Step::Withdraw => FilingAction::Withdrawn,
        }
    }

    /// Lower-case verb for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Step::Edit => "edit",
            Step::Submit => "submit",
            Step::Consent => "consent to",
            Step::Return => "return",
            Step::Accept => "accept",
            Step::Reject => "reject",
            Step::Withdraw => "withdraw",
        }
    }
}

/// How the caller stands to a filing, established by the handler from the caller's token and
/// the registry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// An OPERATOR, LEADER or SYSTEM caller whose jurisdiction holds the unit.
    pub unit_member: bool,
    /// The principal leader of the filing unit itself, as the unit's record names them, or
    /// their designated deputy (R-11).
    pub unit_leader: bool,
    /// A SUPERVISOR of the management department of the unit's own level.
    pub deciding_department: bool,
    /// The caller who created the filing.
    pub creator: bool,
}

/// Why a step cannot be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The state does not allow the step (out of order, or already decided).
    #[error("the filing is {state}; it cannot be {} now", past(*step))]
    InvalidTransition {
        /// Current state.
        state: FilingState,
        /// Requested step.
        step: Step,
    },
    /// The state allows it, but not by this caller.
    #[error("only {who} may {} the filing (it is {state})", step.verb())]
    StepNotAllowed {
        /// Current state.
        state: FilingState,
        /// Requested step.
        step: Step,
        /// Who may.
        who: &'static str,
    },
}

fn past(step: Step) -> &'static str {
    match step {
        Step::Edit => "edited",
        Step::Submit => "submitted",
        Step::Consent => "consented to",
        Step::Return => "returned",
        Step::Accept => "accepted",
        Step::Reject => "rejected",
        Step::Withdraw => "withdrawn",
    }
}

const UNIT: &str = "an operator or leader of the unit or above it";
const LEADER: &str =
    "the principal leader named in the filing unit's record (or their designated deputy)";
const DEPARTMENT: &str = "a supervisor of the management department of the unit's level";
const CREATOR_OR_LEADER: &str = "the filing's creator or the filing unit's principal leader";

/// The state after `step` from `state` by `actor`, or why not.
pub fn next_state(
    state: FilingState,
    step: Step,
    actor: Actor,
) -> Result<FilingState, WorkflowError> {
    use FilingState::*;
    let (to, allowed, who) = match (step, state) {
        (Step::Edit, Draft | Returned) => (state, actor.unit_member, UNIT),
        (Step::Submit, Draft | Returned) => (Submitted, actor.unit_member, UNIT),
        (Step::Consent, Submitted) => (LeaderApproved, actor.unit_leader, LEADER),
        (Step::Return, Submitted) => (Returned, actor.unit_leader, LEADER),
        (Step::Return, LeaderApproved) => (Returned, actor.deciding_department, DEPARTMENT),
        (Step::Accept, LeaderApproved) => (Accepted, actor.deciding_department, DEPARTMENT),
        (Step::Reject, LeaderApproved) => (Rejected, actor.deciding_department, DEPARTMENT),
        (Step::Withdraw, Draft | Submitted | LeaderApproved | Returned) => (
            Withdrawn,
            actor.creator || actor.unit_leader,
            CREATOR_OR_LEADER,
        ),
        _ => return Err(WorkflowError::InvalidTransition { state, step }),
    };
    if allowed {
        Ok(to)
    } else {
        Err(WorkflowError::StepNotAllowed { state, step, who })
    }
}

/// Refuses a step the state does not allow for anyone (out of order, or already decided), before
/// the handler spends calls on finding out who the caller is.
pub fn check_order(state: FilingState, step: Step) -> Result<(), WorkflowError> {
    let anyone = Actor {
        unit_member: true,
        unit_leader: true,
        deciding_department: true,
        creator: true,
    };
    next_state(state, step, anyone).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [FilingState; 7] = [
        FilingState::Draft,
        FilingState::Submitted,
        FilingState::LeaderApproved,
        FilingState::Accepted,
        FilingState::Rejected,
        FilingState::Withdrawn,
        FilingState::Returned,
    ];
    const STEPS: [Step; 7] = [
        Step::Edit,
        Step::Submit,
        Step::Consent,
        Step::Return,
        Step::Accept,
        Step::Reject,
        Step::Withdraw,
    ];

    fn everyone() -> Actor {
        Actor {
            unit_member: true,
            unit_leader: true,
            deciding_department: true,
            creator: true,
        }
    }

    #[test]
    fn the_happy_path_goes_draft_to_accepted() {
        let mut state = FilingState::Draft;
        for step in [Step::Submit, Step::Consent, Step::Accept] {
            state = next_state(state, step, everyone()).expect("allowed");
        }
        assert_eq!(state, FilingState::Accepted);
    }

    #[test]
    fn decided_and_withdrawn_filings_are_final() {
        for state in [
            FilingState::Accepted,
            FilingState::Rejected,
            FilingState::Withdrawn,
        ] {
            for step in STEPS {
                assert_eq!(
                    next_state(state, step, everyone()),
                    Err(WorkflowError::InvalidTransition { state, step }),
                    "{step:?} on {state}"
                );
            }
        }
    }

    #[test]
    fn steps_out_of_order_are_refused_whoever_asks() {
        let refused = [
            (FilingState::Draft, Step::Consent),
            (FilingState::Draft, Step::Accept),
            (FilingState::Submitted, Step::Accept),
            (FilingState::Submitted, Step::Submit),
            (FilingState::LeaderApproved, Step::Consent),
            (FilingState::LeaderApproved, Step::Edit),
            (FilingState::Returned, Step::Accept),
        ];
        for (state, step) in refused {
            assert!(
                matches!(
                    next_state(state, step, everyone()),
                    Err(WorkflowError::InvalidTransition { .. })
                ),
                "{step:?} on {state}"
            );
        }
    }

    #[test]
    fn each_step_needs_its_own_party() {
        let nobody = Actor::default();
        for state in STATES {
            for step in STEPS {
                if next_state(state, step, everyone()).is_ok() {
                    assert!(
                        matches!(
                            next_state(state, step, nobody),
                            Err(WorkflowError::StepNotAllowed { .. })
                        ),
                        "{step:?} on {state} needs someone"
                    );
                }
            }
        }
        let operator = Actor {
            unit_member: true,
            ..Actor::default()
        };
        let leader = Actor {
            unit_member: true,
            unit_leader: true,
            ..Actor::default()
        };
        let department = Actor {
            deciding_department: true,
            ..Actor::default()
        };
        assert!(next_state(FilingState::Submitted, Step::Consent, operator).is_err());
        assert!(next_state(FilingState::Submitted, Step::Consent, leader).is_ok());
        assert!(next_state(FilingState::Submitted, Step::Consent, department).is_err());
        assert!(next_state(FilingState::LeaderApproved, Step::Accept, leader).is_err());
        assert!(next_state(FilingState::LeaderApproved, Step::Accept, department).is_ok());
        // The leader returns what waits for the leader, the department what waits for it.
        assert!(next_state(FilingState::Submitted, Step::Return, leader).is_ok());
        assert!(next_state(FilingState::Submitted, Step::Return, department).is_err());
        assert!(next_state(FilingState::LeaderApproved, Step::Return, leader).is_err());
        assert!(next_state(FilingState::LeaderApproved, Step::Return, department).is_ok());
        // Withdrawal: the creator or the unit's leader, not just any operator.
        assert!(next_state(FilingState::Submitted, Step::Withdraw, operator).is_err());
        let creator = Actor {
            creator: true,
            ..operator
        };
        assert!(next_state(FilingState::Submitted, Step::Withdraw, creator).is_ok());
    }

    #[test]
    fn messages_name_the_state_and_the_party() {
        let error = next_state(FilingState::Accepted, Step::Accept, everyone()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the filing is ACCEPTED; it cannot be accepted now"
        );
        let error =
            next_state(FilingState::Submitted, Step::Consent, Actor::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "only the principal leader named in the filing unit's record (or their designated deputy) may consent to the filing (it is SUBMITTED)"
        );
    }
}
