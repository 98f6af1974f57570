//! What the filing service tells the other services. Every step of a filing's timeline publishes
//! one `FilingChanged` (through the outbox, in the step's transaction) on the stream [`STREAM`],
//! carrying the filing as it is after the step and the action taken, so consumers need no call
//! back:
//!
//! | action | published by |
//! |---|---|
//! | CREATED, UPDATED | CreateFiling, UpdateFiling |
//! | SUBMITTED, CONSENTED, RETURNED, WITHDRAWN | the workflow RPCs |
//! | ACCEPTED, REJECTED | AcceptFiling, RejectFiling |
//! | APPLIED, APPLICATION_FAILED | the applier, once the registry answered |
//! | PLATFORM_ACCOUNT_BOUND | BindPlatformAccount |
//! | OVERDUE | the reminder, once per waiting step |
//!
//! Report records for the national system and imported rosters publish no event: no service
//! consumes them yet (their changes are in the audit trail, their state in ListReports and
//! SummarizeReports). An event for them starts in the contract when a consumer needs one.
//!
//! The filing service consumes no events: it asks the registry what it needs over gRPC.

use govmedia_proto::filing::v1 as pb;

/// The filing service's event stream (Redis key `{prefix}events:filing`).
pub const STREAM: &str = "filing";

/// `FilingChanged`.
pub fn filing_changed(filing: &pb::Filing, action: pb::FilingAction) -> pb::FilingChanged {
    let mut filing = filing.clone();
    filing.timeline.clear();
    pb::FilingChanged {
        filing: Some(filing),
        action: action as i32,
    }
}
