//! What the inspection service tells the other services. Every state change publishes through
//! the outbox, in the change's transaction, on the stream [`STREAM`]; the payloads are contracts
//! in `inspection.proto`, each carrying the resource as it is after the change.
//!
//! | event | published by |
//! |---|---|
//! | `CheckCompleted` | RunCheck, monitoring runs, StartSpotCheck (one per account checked) |
//! | `FindingRaised` | RunCheck (a finding found for the first time), CreateFinding |
//! | `CriticismNoticeIssued` | IssueCriticismNotice |
//! | `RectificationOrderChanged` | every change of a rectification order: opened, answered, re-checked, rejected, verified, warned, overdue, due time set |

use govmedia_kit::{error::ApiError, unit::Unit};
use govmedia_proto::inspection::v1 as pb;

/// The inspection service's event stream (Redis key `{prefix}events:inspection`).
pub const STREAM: &str = "inspection";

/// Publishes `CheckCompleted`.
pub async fn check_completed(unit: &mut Unit, check: &pb::Check) -> Result<(), ApiError> {
    unit.publish(
        &check.name,
        &pb::CheckCompleted {
            check: Some(check.clone()),
        },
    )
    .await
}

/// Publishes `FindingRaised`.
pub async fn finding_raised(unit: &mut Unit, finding: &pb::Finding) -> Result<(), ApiError> {
    unit.publish(
        &finding.name,
        &pb::FindingRaised {
            finding: Some(finding.clone()),
        },
    )
    .await
}

/// Publishes `RectificationOrderChanged`.
pub async fn rectification_changed(
    unit: &mut Unit,
    order: &pb::RectificationOrder,
    change: crate::domain::rectification::Change,
) -> Result<(), ApiError> {
    unit.publish(
        &order.name,
        &pb::RectificationOrderChanged {
            order: Some(order.clone()),
            change: change as i32,
        },
    )
    .await
}

/// Publishes `CriticismNoticeIssued`.
pub async fn criticism_notice_issued(
    unit: &mut Unit,
    notice: &pb::CriticismNotice,
) -> Result<(), ApiError> {
    unit.publish(
        &notice.name,
        &pb::CriticismNoticeIssued {
            notice: Some(notice.clone()),
        },
    )
    .await
}
