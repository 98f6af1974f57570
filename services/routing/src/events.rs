//! What the routing service tells the other services. Every change of a case publishes one
//! `CaseChanged` per step (through the outbox, in the change's transaction) on the stream
//! [`STREAM`], carrying the case as it is after the change, personal data masked.
//!
//! | event | published by |
//! |---|---|
//! | `CaseChanged` | every step: intake, dispatch, sign-for, return, extension, reply, review, publication, satisfaction, reopening, closing, escalation |
//! | `CaseEscalated` | the escalation scheduler ([`crate::escalate`]), once per rung and deadline |

use govmedia_kit::{error::ApiError, unit::Unit};
use govmedia_proto::routing::v1 as pb;

use crate::{
    domain::{Case, Step},
    grpc::convert,
};

/// The routing service's event stream (Redis key `{prefix}events:routing`).
pub const STREAM: &str = "routing";

/// Publishes one `CaseChanged` per step of `steps`, each with `case` as it is now.
pub async fn case_changed(unit: &mut Unit, case: &Case, steps: &[Step]) -> Result<(), ApiError> {
    let subject = convert::case_name(&case.id);
    let current = convert::case(case, &[]);
    for step in steps {
        unit.publish(
            &subject,
            &pb::CaseChanged {
                case: Some(current.clone()),
                step: Some(convert::step(step)),
            },
        )
        .await?;
    }
    Ok(())
}
