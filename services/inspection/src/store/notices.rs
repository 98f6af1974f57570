//! Criticism notices: stored once, read, listed newest first by region and period.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{entity::criticism_notice as row, from_json, json, stamp, under};
use crate::domain::notice::Notice;

fn notice_of(model: row::Model) -> Result<Notice, DbErr> {
    Ok(Notice {
        findings: from_json("notice findings", &model.findings)?,
        orders: from_json("notice orders", &model.orders)?,
        issued: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        organization: model.organization_id,
        path: model.org_path,
        period: model.period,
        title: model.title,
        text: model.body,
    })
}

/// Stores a notice.
pub async fn insert(conn: &impl ConnectionTrait, notice: &Notice) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(notice.id.clone()),
        organization_id: Set(notice.organization.clone()),
        org_path: Set(notice.path.clone()),
        period: Set(notice.period.clone()),
        title: Set(notice.title.clone()),
        body: Set(notice.text.clone()),
        findings: Set(json(&notice.findings)?),
        orders: Set(json(&notice.orders)?),
        created_at: Set(notice.issued.time),
        created_by: Set(notice.issued.actor.clone()),
        created_by_org: Set(notice.issued.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The notice `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Notice>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(notice_of)
        .transpose()
}

/// A page of the notices against units under `path` whose period starts with `period` (a
/// quarter, or `YYYY-Q` for a year; empty for all), newest first, after the sequence `after`;
/// with each its sequence. `limit` 0 means all.
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    period: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(Notice, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, path));
    if !period.is_empty() {
        query = query.filter(govmedia_kit::store::starts_with(
            row::Column::Period,
            period,
        ));
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    if limit > 0 {
        query = query.limit(limit);
    }
    query
        .order_by_desc(row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            let seq = model.seq;
            notice_of(model).map(|notice| (notice, seq))
        })
        .collect()
}
