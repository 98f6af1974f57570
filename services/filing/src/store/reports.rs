//! Queries on `filing_reports`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use govmedia_kit::store::starts_with;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func},
};

use super::{corrupt, entity::report as row};
use crate::domain::report::{Report, ReportCause, ReportState};

fn to_domain(model: row::Model) -> Result<Report, DbErr> {
    Ok(Report {
        cause: ReportCause::from_i32(model.cause).ok_or_else(|| corrupt("cause", model.cause))?,
        state: ReportState::from_i32(model.state)
            .ok_or_else(|| corrupt("report state", model.state))?,
        id: model.id,
        filing: model.filing_id,
        organization: model.organization_id,
        organization_path: model.org_path,
        management_department: model.management_department_id,
        account_id: model.account_id,
        account: model.account,
        unit: model.unit,
        attempts: model.attempts,
        next_attempt: model.next_attempt_at,
        last_error: model.last_error,
        receipt: model.receipt,
        created: model.created_at,
        state_time: model.state_time,
        version: model.version,
    })
}

fn to_row(report: &Report) -> row::ActiveModel {
    row::ActiveModel {
        seq: NotSet,
        id: Set(report.id.clone()),
        filing_id: Set(report.filing.clone()),
        cause: Set(report.cause as i32),
        organization_id: Set(report.organization.clone()),
        org_path: Set(report.organization_path.clone()),
        management_department_id: Set(report.management_department.clone()),
        account_id: Set(report.account_id.clone()),
        account: Set(report.account.clone()),
        unit: Set(report.unit.clone()),
        state: Set(report.state as i32),
        attempts: Set(report.attempts),
        next_attempt_at: Set(report.next_attempt),
        last_error: Set(report.last_error.clone()),
        receipt: Set(report.receipt.clone()),
        created_at: Set(report.created),
        state_time: Set(report.state_time),
        version: Set(report.version),
    }
}

/// Queues a record (a unique violation when the change is queued already).
pub async fn insert(conn: &impl ConnectionTrait, report: &Report) -> Result<(), DbErr> {
    row::Entity::insert(to_row(report))
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// One record.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Report>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Stores `report` if the stored version is still `expected_version`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    report: &Report,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(report))
        .filter(row::Column::Id.eq(report.id.as_str()))
        .filter(row::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which way a page runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Newest first (listings).
    NewestFirst,
    /// Oldest first (exports: records leave in the order they were queued).
    OldestFirst,
}

/// A page of the records of the subtree at `path` (in `state`, if given) after sequence
/// `after`, each with its sequence number (the page key).
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    state: Option<ReportState>,
    order: Order,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(i64, Report)>, DbErr> {
    let mut query = row::Entity::find().filter(starts_with(row::Column::OrgPath, path));
    if let Some(state) = state {
        query = query.filter(row::Column::State.eq(state as i32));
    }
    query = match (order, after) {
        (Order::NewestFirst, Some(after)) => query.filter(row::Column::Seq.lt(after)),
        (Order::OldestFirst, Some(after)) => query.filter(row::Column::Seq.gt(after)),
        (_, None) => query,
    };
    query = match order {
        Order::NewestFirst => query.order_by_desc(row::Column::Seq),
        Order::OldestFirst => query.order_by_asc(row::Column::Seq),
    };
    query
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| Ok((model.seq, to_domain(model)?)))
        .collect()
}

/// Where `report` stands in the queue order of all records (`seq`), which is also the order of
/// its account's records.
async fn queue_position(
    conn: &impl ConnectionTrait,
    report: &Report,
) -> Result<Option<i64>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::Id.eq(report.id.as_str()))
        .one(conn)
        .await?
        .map(|model| model.seq))
}

/// The oldest PENDING record of the same account queued before `report`, if any: `report`
/// waits for it, so that the records of one account leave in the order they were queued and
/// the national system never gets an older copy last.
pub async fn older_pending(
    conn: &impl ConnectionTrait,
    report: &Report,
) -> Result<Option<String>, DbErr> {
    let Some(seq) = queue_position(conn, report).await? else {
        return Ok(None);
    };
    Ok(row::Entity::find()
        .filter(row::Column::AccountId.eq(report.account_id.as_str()))
        .filter(row::Column::Seq.lt(seq))
        .filter(row::Column::State.eq(ReportState::Pending as i32))
        .order_by_asc(row::Column::Seq)
        .one(conn)
        .await?
        .map(|model| model.id))
}

/// The records of one region by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionCounts {
    /// Records per state.
    pub by_state: BTreeMap<i32, i64>,
    /// Queue time of the oldest PENDING record.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Counts of the subtree at `path` per management department, ordered by department.
pub async fn summary(
    conn: &impl ConnectionTrait,
    path: &str,
) -> Result<BTreeMap<String, RegionCounts>, DbErr> {
    let rows: Vec<(String, i32, i64, Option<DateTime<Utc>>)> = row::Entity::find()
        .select_only()
        .column(row::Column::ManagementDepartmentId)
        .column(row::Column::State)
        .column_as(Expr::col(row::Column::Seq).count(), "records")
        .column_as(
            Expr::from(Func::min(Expr::col(row::Column::CreatedAt))),
            "oldest",
        )
        .filter(starts_with(row::Column::OrgPath, path))
        .group_by(row::Column::ManagementDepartmentId)
        .group_by(row::Column::State)
        .into_tuple()
        .all(conn)
        .await?;
    let mut regions: BTreeMap<String, RegionCounts> = BTreeMap::new();
    for (department, state, records, oldest) in rows {
        let region = regions.entry(department).or_default();
        region.by_state.insert(state, records);
        if state == ReportState::Pending as i32 {
            region.oldest_pending = oldest;
        }
    }
    Ok(regions)
}

/// Whether the change `cause` of `filing` is queued already.
pub async fn exists(
    conn: &impl ConnectionTrait,
    filing: &str,
    cause: ReportCause,
) -> Result<bool, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::FilingId.eq(filing))
        .filter(row::Column::Cause.eq(cause as i32))
        .one(conn)
        .await?
        .is_some())
}

/// Every record of the subtree at `path`, oldest first (for reconciliation).
pub async fn of_subtree(conn: &impl ConnectionTrait, path: &str) -> Result<Vec<Report>, DbErr> {
    row::Entity::find()
        .filter(starts_with(row::Column::OrgPath, path))
        .order_by_asc(row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The newest record of the same account that the national system already has (SENT or
/// CONFIRMED) and that was queued after `report`, if any.
pub async fn newer_delivered(
    conn: &impl ConnectionTrait,
    report: &Report,
) -> Result<Option<String>, DbErr> {
    let Some(seq) = queue_position(conn, report).await? else {
        return Ok(None);
    };
    Ok(row::Entity::find()
        .filter(row::Column::AccountId.eq(report.account_id.as_str()))
        .filter(row::Column::Seq.gt(seq))
        .filter(row::Column::State.is_in([ReportState::Sent as i32, ReportState::Confirmed as i32]))
        .order_by_desc(row::Column::Seq)
        .one(conn)
        .await?
        .map(|model| model.id))
}
