//! Spot checks: stored once with their draw, read and listed newest first.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{corrupt, entity::spot_check as row, from_json, json, stamp, under};
use crate::domain::SpotCheck;

fn spot_check_of(model: row::Model) -> Result<SpotCheck, DbErr> {
    Ok(SpotCheck {
        seed: model
            .seed
            .parse()
            .map_err(|_| corrupt("seed", &model.seed))?,
        per_mille: u32::try_from(model.per_mille).map_err(|_| corrupt("ratio", model.per_mille))?,
        strata: from_json("strata", &model.strata)?,
        checks: from_json("spot check checks", &model.checks)?,
        counts: [model.passed, model.failed, model.incomplete],
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        organization: model.organization_id,
        path: model.org_path,
        period: model.period,
        scheme: model.scheme_id,
        scheme_version: model.scheme_version,
    })
}

/// Stores a spot check; a unique violation means its id is taken.
pub async fn insert(conn: &impl ConnectionTrait, spot: &SpotCheck) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(spot.id.clone()),
        organization_id: Set(spot.organization.clone()),
        org_path: Set(spot.path.clone()),
        period: Set(spot.period.clone()),
        scheme_id: Set(spot.scheme.clone()),
        scheme_version: Set(spot.scheme_version),
        per_mille: Set(i32::try_from(spot.per_mille).unwrap_or(1000)),
        seed: Set(spot.seed.to_string()),
        strata: Set(json(&spot.strata)?),
        checks: Set(json(&spot.checks)?),
        passed: Set(spot.counts[0]),
        failed: Set(spot.counts[1]),
        incomplete: Set(spot.counts[2]),
        created_at: Set(spot.created.time),
        created_by: Set(spot.created.actor.clone()),
        created_by_org: Set(spot.created.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The spot check `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<SpotCheck>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(spot_check_of)
        .transpose()
}

/// A page of the spot checks of organizations under `path`, newest first, after the sequence
/// `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(SpotCheck, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, path));
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
            spot_check_of(model).map(|spot| (spot, seq))
        })
        .collect()
}
