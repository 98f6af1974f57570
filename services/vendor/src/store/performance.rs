//! Queries on `vendor_assessments`.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{entity::assessment as row, from_json, json, stamp};
use crate::domain::performance::Assessment;

fn id_of(seq: i64) -> String {
    format!("a{seq}")
}

/// The row's sequence number from an assessment id.
pub fn seq_of(id: &str) -> Option<i64> {
    id.strip_prefix('a')?
        .parse()
        .ok()
        .filter(|seq: &i64| *seq > 0)
}

fn to_domain(model: row::Model) -> Result<Assessment, DbErr> {
    Ok(Assessment {
        id: id_of(model.seq),
        period_start: model.period_start,
        period_end: model.period_end,
        ratings: from_json("assessment ratings", &model.ratings)?,
        inputs: from_json("assessment inputs", &model.inputs)?,
        formula_version: model.formula_version,
        score: model.score,
        unused_weight: model.unused_weight,
        threshold: model.threshold,
        below_threshold: model.below_threshold,
        accounts: from_json("assessment accounts", &model.accounts)?,
        recorded: stamp(model.recorded_at, model.recorded_by, model.recorded_by_org),
    })
}

/// Stores an assessment of `vendor` and returns it with its id.
pub async fn insert(
    conn: &impl ConnectionTrait,
    vendor: &str,
    assessment: &Assessment,
) -> Result<Assessment, DbErr> {
    let result = row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        vendor_id: Set(vendor.to_owned()),
        period_start: Set(assessment.period_start),
        period_end: Set(assessment.period_end),
        ratings: Set(json(&assessment.ratings)?),
        inputs: Set(json(&assessment.inputs)?),
        formula_version: Set(assessment.formula_version.clone()),
        score: Set(assessment.score),
        unused_weight: Set(assessment.unused_weight),
        threshold: Set(assessment.threshold),
        below_threshold: Set(assessment.below_threshold),
        accounts: Set(json(&assessment.accounts)?),
        recorded_at: Set(assessment.recorded.time),
        recorded_by: Set(assessment.recorded.actor.clone()),
        recorded_by_org: Set(assessment.recorded.actor_organization.clone()),
    })
    .exec(conn)
    .await?;
    Ok(Assessment {
        id: id_of(result.last_insert_id),
        ..assessment.clone()
    })
}

/// A page of `vendor`'s assessments, newest first, before the one numbered `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    vendor: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Assessment>, DbErr> {
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
