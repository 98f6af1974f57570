//! Queries on `accounts`.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait},
};

use super::{corrupt, entity::account as row, stamp};
use crate::domain::{Account, AccountKind, AccountStatus, Contact, Level, Operator, Platform};
use govmedia_kit::store::{contains_ci, starts_with};

/// Operator type numbers as in the proto.
const OPERATOR_SELF: i32 = 1;
const OPERATOR_VENDOR: i32 = 2;

pub(super) fn to_domain(model: row::Model) -> Result<Account, DbErr> {
    let operator = match (model.operator_type, model.operator_vendor) {
        (OPERATOR_SELF, _) => Operator::OwnUnit,
        (OPERATOR_VENDOR, Some(vendor)) => Operator::Vendor(vendor),
        (other, _) => return Err(corrupt("operator type", other)),
    };
    Ok(Account {
        platform: Platform::from_i32(model.platform)
            .ok_or_else(|| corrupt("platform", model.platform))?,
        kind: AccountKind::from_i32(model.kind)
            .ok_or_else(|| corrupt("account kind", model.kind))?,
        status: AccountStatus::from_i32(model.status)
            .ok_or_else(|| corrupt("status", model.status))?,
        level: Level::from_i32(model.level).ok_or_else(|| corrupt("level", model.level))?,
        operator,
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        platform_account_id: model.platform_account_id,
        display_name: model.display_name,
        responsible_person: Contact {
            name: model.responsible_name,
            title: model.responsible_title,
            phone: model.responsible_phone,
        },
        verified_subject: model.verified_subject,
        justification: model.justification,
        homepage_url: model.homepage_url,
        open_time: model.open_time,
        last_post_time: model.last_post_time,
        follower_count: model.follower_count,
        last_filing: model.last_filing,
        filed_after_opening: model.filed_after_opening,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    })
}

fn to_row(account: &Account) -> row::ActiveModel {
    let (operator_type, operator_vendor) = match &account.operator {
        Operator::OwnUnit => (OPERATOR_SELF, None),
        Operator::Vendor(vendor) => (OPERATOR_VENDOR, Some(vendor.clone())),
    };
    row::ActiveModel {
        id: Set(account.id.clone()),
        organization_id: Set(account.organization.clone()),
        org_path: Set(account.organization_path.clone()),
        platform: Set(account.platform as i32),
        platform_account_id: Set(account.platform_account_id.clone()),
        display_name: Set(account.display_name.clone()),
        kind: Set(account.kind as i32),
        operator_type: Set(operator_type),
        operator_vendor: Set(operator_vendor),
        responsible_name: Set(account.responsible_person.name.clone()),
        responsible_title: Set(account.responsible_person.title.clone()),
        responsible_phone: Set(account.responsible_person.phone.clone()),
        verified_subject: Set(account.verified_subject.clone()),
        status: Set(account.status as i32),
        level: Set(account.level as i32),
        justification: Set(account.justification.clone()),
        homepage_url: Set(account.homepage_url.clone()),
        open_time: Set(account.open_time),
        last_post_time: Set(account.last_post_time),
        follower_count: Set(account.follower_count),
        last_filing: Set(account.last_filing.clone()),
        filed_after_opening: Set(account.filed_after_opening),
        created_at: Set(account.created.time),
        created_by: Set(account.created.actor.clone()),
        created_by_org: Set(account.created.actor_organization.clone()),
        updated_at: Set(account.updated.time),
        updated_by: Set(account.updated.actor.clone()),
        updated_by_org: Set(account.updated.actor_organization.clone()),
        version: Set(account.version),
    }
}

/// One account.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Account>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Inserts a new account.
pub async fn insert(conn: &impl ConnectionTrait, account: &Account) -> Result<(), DbErr> {
    row::Entity::insert(to_row(account))
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Stores `account` if the stored version is still `expected_version`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    account: &Account,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(account))
        .filter(row::Column::Id.eq(account.id.as_str()))
        .filter(row::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The unit's accounts on a platform, every status.
pub async fn on_platform(
    conn: &impl ConnectionTrait,
    organization: &str,
    platform: Platform,
) -> Result<Vec<Account>, DbErr> {
    row::Entity::find()
        .filter(row::Column::OrganizationId.eq(organization))
        .filter(row::Column::Platform.eq(platform as i32))
        .order_by_asc(row::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The account bound to a platform id, if any.
pub async fn by_platform_id(
    conn: &impl ConnectionTrait,
    platform: Platform,
    platform_account_id: &str,
) -> Result<Option<Account>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Platform.eq(platform as i32))
        .filter(row::Column::PlatformAccountId.eq(platform_account_id))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Filters of a listing.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Subtree path prefix.
    pub path: String,
    /// Platform.
    pub platform: Option<Platform>,
    /// Kind.
    pub kind: Option<AccountKind>,
    /// Status.
    pub status: Option<AccountStatus>,
    /// Vendor id.
    pub vendor: Option<String>,
    /// Text in the display name or platform id.
    pub text: Option<String>,
    /// Only accounts filed after they were opened (补报).
    pub filed_after_opening_only: bool,
}

fn filtered(filter: &Filter) -> Select<row::Entity> {
    let mut query = row::Entity::find().filter(starts_with(row::Column::OrgPath, &filter.path));
    if let Some(platform) = filter.platform {
        query = query.filter(row::Column::Platform.eq(platform as i32));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(row::Column::Kind.eq(kind as i32));
    }
    if let Some(status) = filter.status {
        query = query.filter(row::Column::Status.eq(status as i32));
    }
    if let Some(vendor) = &filter.vendor {
        query = query.filter(row::Column::OperatorVendor.eq(vendor.as_str()));
    }
    if filter.filed_after_opening_only {
        query = query.filter(row::Column::FiledAfterOpening.eq(true));
    }
    if let Some(text) = &filter.text {
        query = query.filter(
            Condition::any()
                .add(contains_ci(row::Column::DisplayName, text))
                .add(contains_ci(row::Column::PlatformAccountId, text)),
        );
    }
    query
}

/// A page of accounts ordered by id, after `after`.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Account>, DbErr> {
    let mut query = filtered(filter).order_by_asc(row::Column::Id).limit(limit);
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    query.all(conn).await?.into_iter().map(to_domain).collect()
}

/// How many accounts match.
pub async fn count(conn: &impl ConnectionTrait, filter: &Filter) -> Result<u64, DbErr> {
    filtered(filter).count(conn).await
}

/// Dimensions of a headcount.
#[derive(Clone, Copy, Debug, Default)]
pub struct Grouping {
    /// By level.
    pub level: bool,
    /// By platform.
    pub platform: bool,
    /// By kind.
    pub kind: bool,
    /// By status.
    pub status: bool,
}

/// One headcount group: level, platform, kind, status numbers (0 where not grouped) and count.
pub type CountRow = (i32, i32, i32, i32, i64);

/// Account counts of a subtree, grouped as asked, ordered by the grouped dimensions.
pub async fn headcount(
    conn: &impl ConnectionTrait,
    path: &str,
    grouping: Grouping,
) -> Result<Vec<CountRow>, DbErr> {
    let dimensions = [
        (grouping.level, row::Column::Level, "level"),
        (grouping.platform, row::Column::Platform, "platform"),
        (grouping.kind, row::Column::Kind, "kind"),
        (grouping.status, row::Column::Status, "status"),
    ];
    let mut query = row::Entity::find()
        .select_only()
        .filter(starts_with(row::Column::OrgPath, path));
    for (grouped, column, alias) in dimensions {
        query = if grouped {
            query
                .column_as(column, alias)
                .group_by(column)
                .order_by_asc(column)
        } else {
            // A constant keeps the row shape fixed whatever the grouping.
            query.column_as(Expr::val(0i32), alias)
        };
    }
    query
        .column_as(Expr::col(row::Column::Id).count(), "n")
        .into_tuple::<CountRow>()
        .all(conn)
        .await
}

/// Live accounts of a subtree (every status but CANCELLED) with their custody records, ordered
/// by id, after `after`.
pub async fn live_with_custody(
    conn: &impl ConnectionTrait,
    path: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<(Account, Option<crate::domain::Custody>)>, DbErr> {
    let mut query = row::Entity::find()
        .filter(starts_with(row::Column::OrgPath, path))
        .filter(row::Column::Status.ne(AccountStatus::Cancelled as i32))
        .order_by_asc(row::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    let accounts: Vec<Account> = query
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let mut custody = super::custody::for_accounts(conn, &ids).await?;
    Ok(accounts
        .into_iter()
        .map(|account| {
            let record = custody.remove(&account.id);
            (account, record)
        })
        .collect())
}

/// Counts of an organization's accounts by status, for the organizations in `ids`.
pub async fn status_counts(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<(String, i32, i64)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    row::Entity::find()
        .select_only()
        .column(row::Column::OrganizationId)
        .column(row::Column::Status)
        .column_as(Expr::col(row::Column::Id).count(), "n")
        .filter(row::Column::OrganizationId.is_in(ids.iter().map(String::as_str)))
        .group_by(row::Column::OrganizationId)
        .group_by(row::Column::Status)
        .into_tuple::<(String, i32, i64)>()
        .all(conn)
        .await
}
