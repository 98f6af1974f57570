//! Queries on `filing_timeline`: append-only, one row per step.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::{corrupt, entity::timeline as row, stamp};
use crate::domain::{FilingAction, FilingState, TimelineEntry};

/// Appends a step to a filing's timeline.
pub async fn append(
    conn: &impl ConnectionTrait,
    filing_id: &str,
    entry: &TimelineEntry,
) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        filing_id: Set(filing_id.to_owned()),
        action: Set(entry.action as i32),
        from_state: Set(entry.from as i32),
        to_state: Set(entry.to as i32),
        at: Set(entry.stamp.time),
        actor: Set(entry.stamp.actor.clone()),
        actor_org: Set(entry.stamp.actor_organization.clone()),
        comment: Set(entry.comment.clone()),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// A filing's timeline, oldest first.
pub async fn of(conn: &impl ConnectionTrait, filing_id: &str) -> Result<Vec<TimelineEntry>, DbErr> {
    row::Entity::find()
        .filter(row::Column::FilingId.eq(filing_id))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            Ok(TimelineEntry {
                action: FilingAction::from_i32(model.action)
                    .ok_or_else(|| corrupt("timeline action", model.action))?,
                from: FilingState::from_i32(model.from_state)
                    .ok_or_else(|| corrupt("state", model.from_state))?,
                to: FilingState::from_i32(model.to_state)
                    .ok_or_else(|| corrupt("state", model.to_state))?,
                stamp: stamp(model.at, model.actor, model.actor_org),
                comment: model.comment,
            })
        })
        .collect()
}
