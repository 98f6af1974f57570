//! Queries on `organizations`.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::{corrupt, entity::organization as row, stamp};
use crate::domain::{Level, OrgKind, Organization};
use govmedia_kit::store::starts_with;

fn to_domain(model: row::Model) -> Result<Organization, DbErr> {
    Ok(Organization {
        level: Level::from_i32(model.level).ok_or_else(|| corrupt("level", model.level))?,
        kind: OrgKind::from_i32(model.kind)
            .ok_or_else(|| corrupt("organization kind", model.kind))?,
        id: model.id,
        parent: model.parent_id,
        path: model.path,
        display_name: model.display_name,
        management_department: model.management_department,
        must_have_account: model.must_have_account,
        must_have_account_overridden: model.must_have_account_overridden,
        principal_leader: model.principal_leader,
        designated_deputy: model.designated_deputy,
        credit_code: model.credit_code,
        region_code: model.region_code,
        government: model.government_id,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    })
}

fn to_row(org: &Organization) -> row::ActiveModel {
    row::ActiveModel {
        id: Set(org.id.clone()),
        parent_id: Set(org.parent.clone()),
        path: Set(org.path.clone()),
        display_name: Set(org.display_name.clone()),
        level: Set(org.level as i32),
        kind: Set(org.kind as i32),
        management_department: Set(org.management_department),
        must_have_account: Set(org.must_have_account),
        must_have_account_overridden: Set(org.must_have_account_overridden),
        principal_leader: Set(org.principal_leader.clone()),
        designated_deputy: Set(org.designated_deputy.clone()),
        credit_code: Set(org.credit_code.clone()),
        region_code: Set(org.region_code.clone()),
        government_id: Set(org.government.clone()),
        created_at: Set(org.created.time),
        created_by: Set(org.created.actor.clone()),
        created_by_org: Set(org.created.actor_organization.clone()),
        updated_at: Set(org.updated.time),
        updated_by: Set(org.updated.actor.clone()),
        updated_by_org: Set(org.updated.actor_organization.clone()),
        version: Set(org.version),
    }
}

/// One organization.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Organization>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Inserts a new organization.
pub async fn insert(conn: &impl ConnectionTrait, org: &Organization) -> Result<(), DbErr> {
    row::Entity::insert(to_row(org))
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Stores `org` if the stored version is still `expected_version`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    org: &Organization,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(org))
        .filter(row::Column::Id.eq(org.id.as_str()))
        .filter(row::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// True when `error` is the one-management-department-per-government index refusing a row.
pub fn is_management_conflict(error: &DbErr) -> bool {
    match error.sql_err() {
        // PostgreSQL names the index, SQLite the column.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) => {
            message.contains("organizations_one_management_department")
                || message.contains("organizations.government_id")
        }
        _ => false,
    }
}

/// Locks an organization's row until the transaction ends (PostgreSQL; SQLite writers are
/// serialized anyway), so that rules that read its accounts and then write one cannot
/// interleave with another writer doing the same.
pub async fn lock(conn: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    govmedia_kit::store::lock_row(conn, "organizations", id).await
}

/// The management department whose government is `government`, other than `except`.
pub async fn management_department_of(
    conn: &impl ConnectionTrait,
    government: &str,
    except: &str,
) -> Result<Option<String>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::GovernmentId.eq(government))
        .filter(row::Column::ManagementDepartment.eq(true))
        .filter(row::Column::Id.ne(except))
        .one(conn)
        .await?
        .map(|model| model.id))
}

/// Filters of a listing.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Subtree path prefix.
    pub path: String,
    /// Level.
    pub level: Option<Level>,
    /// Kind.
    pub kind: Option<OrgKind>,
    /// Management-department flag.
    pub management_department: Option<bool>,
}

fn filtered(filter: &Filter) -> Select<row::Entity> {
    let mut query = row::Entity::find().filter(starts_with(row::Column::Path, &filter.path));
    if let Some(level) = filter.level {
        query = query.filter(row::Column::Level.eq(level as i32));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(row::Column::Kind.eq(kind as i32));
    }
    if let Some(flag) = filter.management_department {
        query = query.filter(row::Column::ManagementDepartment.eq(flag));
    }
    query
}

/// A page of organizations ordered by id, after `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Organization>, DbErr> {
    let mut query = filtered(filter).order_by_asc(row::Column::Id).limit(limit);
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    query.all(conn).await?.into_iter().map(to_domain).collect()
}

/// How many organizations match.
pub async fn count(conn: &impl ConnectionTrait, filter: &Filter) -> Result<u64, DbErr> {
    filtered(filter).count(conn).await
}

/// Organizations of a subtree that must have an account and have none ACTIVE, ordered by
/// id, after `after`.
pub async fn coverage_gaps(
    conn: &impl ConnectionTrait,
    path: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Organization>, DbErr> {
    let mut query = gaps(path).order_by_asc(row::Column::Id).limit(limit);
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    query.all(conn).await?.into_iter().map(to_domain).collect()
}

/// How many coverage gaps a subtree has.
pub async fn count_coverage_gaps(conn: &impl ConnectionTrait, path: &str) -> Result<u64, DbErr> {
    gaps(path).count(conn).await
}

fn gaps(path: &str) -> Select<row::Entity> {
    use crate::domain::AccountStatus;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};

    use super::entity::account;

    let active_account = Query::select()
        .expr(Expr::val(1))
        .from(account::Entity)
        .and_where(
            Expr::col((account::Entity, account::Column::OrganizationId))
                .equals((row::Entity, row::Column::Id)),
        )
        .and_where(
            Expr::col((account::Entity, account::Column::Status)).eq(AccountStatus::Active as i32),
        )
        .to_owned();
    row::Entity::find()
        .filter(row::Column::MustHaveAccount.eq(true))
        .filter(starts_with(row::Column::Path, path))
        .filter(Expr::exists(active_account).not())
}

/// True when some organization has `id` as its parent.
pub async fn has_children(conn: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::ParentId.eq(id))
        .one(conn)
        .await?
        .is_some())
}
