//! Queries on `api_keys`.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};

use super::entity::api_key as row;
use crate::domain::apikey::ApiKeyRecord;

fn to_domain(model: row::Model) -> Result<ApiKeyRecord, DbErr> {
    let roles = model
        .roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.parse())
        .collect::<Result<_, _>>()
        .map_err(|error: String| {
            DbErr::Type(format!("stored roles of API key {}: {error}", model.id))
        })?;
    Ok(ApiKeyRecord {
        id: model.id,
        display_name: model.display_name,
        organization: model.organization,
        roles,
        secret_hash: model.secret_hash,
        expires_at: model.expires_at,
        revoked_at: model.revoked_at,
        created_at: model.created_at,
        created_by: model.created_by,
        created_by_org: model.created_by_org,
    })
}

/// One key.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<ApiKeyRecord>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Every key, oldest first.
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<ApiKeyRecord>, DbErr> {
    row::Entity::find()
        .order_by_asc(row::Column::CreatedAt)
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Stores a new key.
pub async fn insert(conn: &impl ConnectionTrait, key: &ApiKeyRecord) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        id: Set(key.id.clone()),
        display_name: Set(key.display_name.clone()),
        organization: Set(key.organization.clone()),
        roles: Set(key
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")),
        secret_hash: Set(key.secret_hash.clone()),
        expires_at: Set(key.expires_at),
        revoked_at: Set(key.revoked_at),
        created_at: Set(key.created_at),
        created_by: Set(key.created_by.clone()),
        created_by_org: Set(key.created_by_org.clone()),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// Marks a key revoked at `at` unless it already is; true when it changed.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .col_expr(row::Column::RevokedAt, Expr::value(at))
        .filter(row::Column::Id.eq(id))
        .filter(row::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
