//! Queries on `vendor_vettings`.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{entity::vetting as row, from_json, json, stamp};
use crate::domain::Vetting;

/// A vetting's id from its row: `v` and the row's sequence number.
fn id_of(seq: i64) -> String {
    format!("v{seq}")
}

/// The row's sequence number from a vetting id, `None` for an id this store never made.
pub fn seq_of(id: &str) -> Option<i64> {
    id.strip_prefix('v')?
        .parse()
        .ok()
        .filter(|seq: &i64| *seq > 0)
}

fn to_domain(model: row::Model) -> Result<Vetting, DbErr> {
    Ok(Vetting {
        id: id_of(model.seq),
        assessors: from_json("vetting assessors", &model.assessors)?,
        scores: from_json("vetting scores", &model.scores)?,
        summary: model.summary,
        total: model.total,
        pass_threshold: model.pass_threshold.max(0) as u32,
        dimension_floor: model.dimension_floor.max(0) as u32,
        passed: model.passed,
        valid_until: model.valid_until,
        recorded: stamp(model.recorded_at, model.recorded_by, model.recorded_by_org),
    })
}

/// Stores a vetting of `vendor` and returns it with its id.
pub async fn insert(
    conn: &impl ConnectionTrait,
    vendor: &str,
    vetting: &Vetting,
) -> Result<Vetting, DbErr> {
    let result = row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        vendor_id: Set(vendor.to_owned()),
        assessors: Set(json(&vetting.assessors)?),
        scores: Set(json(&vetting.scores)?),
        summary: Set(vetting.summary.clone()),
        total: Set(vetting.total),
        pass_threshold: Set(vetting.pass_threshold as i32),
        dimension_floor: Set(vetting.dimension_floor as i32),
        passed: Set(vetting.passed),
        valid_until: Set(vetting.valid_until),
        recorded_at: Set(vetting.recorded.time),
        recorded_by: Set(vetting.recorded.actor.clone()),
        recorded_by_org: Set(vetting.recorded.actor_organization.clone()),
    })
    .exec(conn)
    .await?;
    Ok(Vetting {
        id: id_of(result.last_insert_id),
        ..vetting.clone()
    })
}

/// The most recent vetting of `vendor`.
pub async fn latest(conn: &impl ConnectionTrait, vendor: &str) -> Result<Option<Vetting>, DbErr> {
    row::Entity::find()
        .filter(row::Column::VendorId.eq(vendor))
        .order_by_desc(row::Column::Seq)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// A page of `vendor`'s vettings, newest first, before the one numbered `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    vendor: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Vetting>, DbErr> {
    let mut query = row::Entity::find().filter(row::Column::VendorId.eq(vendor));
    if let Some(before) = before {
        query = query.filter(row::Column::Seq.lt(before));
    }
    query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}
