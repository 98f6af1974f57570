//! Hot events: registered once, listed along the caller's line, read by checks.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{entity::hot_event as row, from_json, json, lineage, stamp, under};
use crate::domain::HotEvent;

fn event_of(model: row::Model) -> Result<HotEvent, DbErr> {
    Ok(HotEvent {
        keywords: from_json("hot event keywords", &model.keywords)?,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        title: model.title,
        organization: model.organization_id,
        path: model.org_path,
        start: model.start_at,
        end: model.end_at,
    })
}

/// Stores a new event; a unique violation means its id is taken.
pub async fn insert(conn: &impl ConnectionTrait, event: &HotEvent) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(event.id.clone()),
        title: Set(event.title.clone()),
        keywords: Set(json(&event.keywords)?),
        organization_id: Set(event.organization.clone()),
        org_path: Set(event.path.clone()),
        start_at: Set(event.start),
        end_at: Set(event.end),
        created_at: Set(event.created.time),
        created_by: Set(event.created.actor.clone()),
        created_by_org: Set(event.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The event `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<HotEvent>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(event_of)
        .transpose()
}

/// A page of the events on the line of `path` (its subtree and the levels above), newest
/// first, after the sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(HotEvent, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(
        Condition::any()
            .add(under(row::Column::OrgPath, path))
            .add(row::Column::OrgPath.is_in(lineage(path))),
    );
    if let Some(after) = after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            let seq = model.seq;
            event_of(model).map(|event| (event, seq))
        })
        .collect()
}

/// The events concerning accounts at `path` (registered for it or an ancestor) still running
/// at `since` or later, at most 1,000, newest first: what a check of one account reads.
pub async fn concerning(
    conn: &impl ConnectionTrait,
    path: &str,
    since: DateTime<Utc>,
) -> Result<Vec<HotEvent>, DbErr> {
    row::Entity::find()
        .filter(row::Column::OrgPath.is_in(lineage(path)))
        .filter(row::Column::EndAt.gte(since))
        .order_by_desc(row::Column::Seq)
        .limit(1_000)
        .all(conn)
        .await?
        .into_iter()
        .map(event_of)
        .collect()
}

/// Most hot events checks of many accounts read: far more than supervisors register in a
/// lookback.
pub const MAX_READ: u64 = 10_000;

/// The hot events of every region ending at or after `since`, newest first (at most
/// [`MAX_READ`]): checks of many accounts keep those of each account's region and the levels
/// above.
pub async fn ending_after(
    conn: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<HotEvent>, DbErr> {
    row::Entity::find()
        .filter(row::Column::EndAt.gte(since))
        .order_by_desc(row::Column::Seq)
        .limit(MAX_READ)
        .all(conn)
        .await?
        .into_iter()
        .map(event_of)
        .collect()
}
