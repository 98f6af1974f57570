//! Queries on `filing_rosters` and `filing_roster_entries`.

use govmedia_kit::store::starts_with;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::entity::{roster, roster_entry as entry};
use crate::domain::{Stamp, reconcile::RosterEntry};

/// Rows inserted per statement (well inside every backend's limit on bound parameters).
const CHUNK: usize = 500;

/// The organization a roster covers.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// Its id.
    pub organization: &'a str,
    /// Its materialized path.
    pub path: &'a str,
    /// The platform (proto number).
    pub platform: i32,
}

/// Replaces the roster of `scope` with `entries` (inside the caller's transaction, so a reader
/// sees the old roster or the new one, never a mix).
pub async fn replace(
    conn: &impl ConnectionTrait,
    scope: Scope<'_>,
    entries: &[RosterEntry],
    imported: &Stamp,
) -> Result<(), DbErr> {
    entry::Entity::delete_many()
        .filter(entry::Column::OrganizationId.eq(scope.organization))
        .filter(entry::Column::Platform.eq(scope.platform))
        .exec(conn)
        .await?;
    roster::Entity::delete_many()
        .filter(roster::Column::OrganizationId.eq(scope.organization))
        .filter(roster::Column::Platform.eq(scope.platform))
        .exec(conn)
        .await?;
    roster::Entity::insert(roster::ActiveModel {
        seq: NotSet,
        organization_id: Set(scope.organization.to_owned()),
        org_path: Set(scope.path.to_owned()),
        platform: Set(scope.platform),
        entries: Set(i32::try_from(entries.len()).unwrap_or(i32::MAX)),
        imported_at: Set(imported.time),
        imported_by: Set(imported.actor.clone()),
        imported_by_org: Set(imported.actor_organization.clone()),
    })
    .exec_without_returning(conn)
    .await?;
    for chunk in entries.chunks(CHUNK) {
        entry::Entity::insert_many(chunk.iter().map(|row| entry::ActiveModel {
            seq: NotSet,
            organization_id: Set(scope.organization.to_owned()),
            org_path: Set(scope.path.to_owned()),
            platform: Set(scope.platform),
            platform_account_id: Set(row.platform_account_id.clone()),
            display_name: Set(row.display_name.clone()),
            verified_subject: Set(row.verified_subject.clone()),
            line: Set(row.line),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// The rows of every roster of an organization in the subtree at `path`.
pub async fn entries_under(
    conn: &impl ConnectionTrait,
    path: &str,
) -> Result<Vec<RosterEntry>, DbErr> {
    let imported: std::collections::HashMap<(String, i32), chrono::DateTime<chrono::Utc>> =
        roster::Entity::find()
            .filter(starts_with(roster::Column::OrgPath, path))
            .all(conn)
            .await?
            .into_iter()
            .map(|model| ((model.organization_id, model.platform), model.imported_at))
            .collect();
    Ok(entry::Entity::find()
        .filter(starts_with(entry::Column::OrgPath, path))
        .order_by_asc(entry::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| RosterEntry {
            imported: imported
                .get(&(model.organization_id.clone(), model.platform))
                .copied(),
            organization: model.organization_id,
            platform: model.platform,
            platform_account_id: model.platform_account_id,
            display_name: model.display_name,
            verified_subject: model.verified_subject,
            line: model.line,
        })
        .collect())
}
