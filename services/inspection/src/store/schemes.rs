//! Scheme versions put through the API (the shipped schemes are data in the binary).

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::{entity::scheme as row, from_json, json};
use crate::domain::Scheme;

/// Stores a new version of a scheme (its id, version, organization and path set); a unique
/// violation means another version with that number was stored first.
pub async fn insert(conn: &impl ConnectionTrait, scheme: &Scheme) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        scheme_id: Set(scheme.id.clone()),
        version: Set(scheme.version),
        organization_id: Set(scheme.organization.clone().unwrap_or_default()),
        org_path: Set(scheme.path.clone().unwrap_or_default()),
        body: Set(json(scheme)?),
        created_at: Set(scheme
            .updated
            .as_ref()
            .map(|stamp| stamp.time)
            .unwrap_or_default()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Version `version` of `id`, or its latest when `version` is 0.
pub async fn get(
    conn: &impl ConnectionTrait,
    id: &str,
    version: i32,
) -> Result<Option<Scheme>, DbErr> {
    let mut query = row::Entity::find().filter(row::Column::SchemeId.eq(id));
    if version > 0 {
        query = query.filter(row::Column::Version.eq(version));
    }
    query
        .order_by_desc(row::Column::Version)
        .one(conn)
        .await?
        .map(|model| from_json("scheme", &model.body))
        .transpose()
}

/// The latest version of every scheme put, by id.
pub async fn latest(conn: &impl ConnectionTrait) -> Result<Vec<Scheme>, DbErr> {
    let mut latest: Vec<Scheme> = Vec::new();
    for model in row::Entity::find()
        .order_by_asc(row::Column::SchemeId)
        .order_by_desc(row::Column::Version)
        .all(conn)
        .await?
    {
        if latest
            .last()
            .is_some_and(|scheme| scheme.id == model.scheme_id)
        {
            continue;
        }
        latest.push(from_json("scheme", &model.body)?);
    }
    Ok(latest)
}
