//! The lexicon files put through the API: the version in force of each name.

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

use super::{entity::lexicon as row, stamp};
use crate::domain::Stamp;

/// A lexicon file in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its name.
    pub name: String,
    /// The version it declares.
    pub version: String,
    /// The file's text.
    pub text: String,
    /// SHA-256 (hex) of the text.
    pub sha256: String,
    /// Wordings it looks for.
    pub wording_count: i32,
    /// Allowed phrases.
    pub allowed_count: i32,
    /// Who put it and when.
    pub updated: Stamp,
}

fn record_of(model: row::Model) -> Record {
    Record {
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        name: model.name,
        version: model.version,
        text: model.body,
        sha256: model.sha256,
        wording_count: model.wording_count,
        allowed_count: model.allowed_count,
    }
}

/// Puts `record` in force under its name, replacing the version before.
pub async fn put(conn: &impl ConnectionTrait, record: &Record) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        name: Set(record.name.clone()),
        version: Set(record.version.clone()),
        body: Set(record.text.clone()),
        sha256: Set(record.sha256.clone()),
        wording_count: Set(record.wording_count),
        allowed_count: Set(record.allowed_count),
        updated_at: Set(record.updated.time),
        updated_by: Set(record.updated.actor.clone()),
        updated_by_org: Set(record.updated.actor_organization.clone()),
    })
    .on_conflict(
        OnConflict::column(row::Column::Name)
            .update_columns([
                row::Column::Version,
                row::Column::Body,
                row::Column::Sha256,
                row::Column::WordingCount,
                row::Column::AllowedCount,
                row::Column::UpdatedAt,
                row::Column::UpdatedBy,
                row::Column::UpdatedByOrg,
            ])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The name and SHA-256 of every lexicon put, by name: what a replica compares before it scans,
/// without reading the files themselves.
pub async fn hashes(conn: &impl ConnectionTrait) -> Result<Vec<(String, String)>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::Name)
        .column(row::Column::Sha256)
        .order_by_asc(row::Column::Name)
        .into_tuple::<(String, String)>()
        .all(conn)
        .await
}

/// Every lexicon put, by name.
pub async fn all(conn: &impl ConnectionTrait) -> Result<Vec<Record>, DbErr> {
    Ok(row::Entity::find()
        .order_by_asc(row::Column::Name)
        .all(conn)
        .await?
        .into_iter()
        .map(record_of)
        .collect())
}

/// Deletes the lexicon `name`; false when there was none.
pub async fn delete(conn: &impl ConnectionTrait, name: &str) -> Result<bool, DbErr> {
    Ok(row::Entity::delete_by_id(name.to_owned())
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// The lexicon `name`.
pub async fn get(conn: &impl ConnectionTrait, name: &str) -> Result<Option<Record>, DbErr> {
    Ok(row::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .map(record_of))
}
