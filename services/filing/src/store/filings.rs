//! Queries on `filings`.

use chrono::{DateTime, Utc};
use govmedia_kit::store::starts_with;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{corrupt, entity::filing as row, stamp};
use crate::domain::{Application, ApplicationState, Attachment, Filing, FilingKind, FilingState};

fn to_domain(model: row::Model) -> Result<Filing, DbErr> {
    let attachments: Vec<Attachment> = serde_json::from_str(&model.attachments)
        .map_err(|_| corrupt("attachments of", &model.id))?;
    let application_state = model
        .application_state
        .map(|state| {
            ApplicationState::from_i32(state).ok_or_else(|| corrupt("application state", state))
        })
        .transpose()?;
    Ok(Filing {
        kind: FilingKind::from_i32(model.kind).ok_or_else(|| corrupt("kind", model.kind))?,
        state: FilingState::from_i32(model.state).ok_or_else(|| corrupt("state", model.state))?,
        id: model.id,
        organization: model.organization_id,
        organization_path: model.org_path,
        management_department: model.management_department_id,
        account: model.account,
        platform: model.platform,
        platform_account_id: model.platform_account_id,
        change_mask: model
            .change_mask
            .split(',')
            .filter(|field| !field.is_empty())
            .map(str::to_owned)
            .collect(),
        target_account: model.target_account_id,
        reason: model.reason,
        attachments,
        opening_check: model.opening_check,
        application: Application {
            state: application_state,
            error: model.application_error,
            attempts: model.application_attempts,
            next_attempt: model.application_next_at,
        },
        bound_platform_account_id: model.bound_platform_account_id,
        state_time: model.state_time,
        due_time: model.due_time,
        overdue_notified: model.overdue_notified,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
        enforced: model.enforced,
        grounds: (!model.grounds.is_empty()).then_some(model.grounds),
    })
}

fn to_row(filing: &Filing) -> Result<row::ActiveModel, DbErr> {
    let attachments = serde_json::to_string(&filing.attachments)
        .map_err(|error| DbErr::Custom(format!("encoding attachments: {error}")))?;
    Ok(row::ActiveModel {
        seq: NotSet,
        id: Set(filing.id.clone()),
        organization_id: Set(filing.organization.clone()),
        org_path: Set(filing.organization_path.clone()),
        management_department_id: Set(filing.management_department.clone()),
        kind: Set(filing.kind as i32),
        state: Set(filing.state as i32),
        account: Set(filing.account.clone()),
        platform: Set(filing.platform),
        platform_account_id: Set(filing.platform_account_id.clone()),
        change_mask: Set(filing.change_mask.join(",")),
        target_account_id: Set(filing.target_account.clone()),
        reason: Set(filing.reason.clone()),
        attachments: Set(attachments),
        opening_check: Set(filing.opening_check.clone()),
        application_state: Set(filing.application.state.map(|state| state as i32)),
        application_error: Set(filing.application.error.clone()),
        application_attempts: Set(filing.application.attempts),
        application_next_at: Set(filing.application.next_attempt),
        bound_platform_account_id: Set(filing.bound_platform_account_id.clone()),
        state_time: Set(filing.state_time),
        due_time: Set(filing.due_time),
        overdue_notified: Set(filing.overdue_notified),
        created_at: Set(filing.created.time),
        created_by: Set(filing.created.actor.clone()),
        created_by_org: Set(filing.created.actor_organization.clone()),
        updated_at: Set(filing.updated.time),
        updated_by: Set(filing.updated.actor.clone()),
        updated_by_org: Set(filing.updated.actor_organization.clone()),
        version: Set(filing.version),
        enforced: Set(filing.enforced),
        grounds: Set(filing.grounds.clone().unwrap_or_default()),
    })
}

/// One filing.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Filing>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Inserts a new filing (a unique violation when the id is taken).
pub async fn insert(conn: &impl ConnectionTrait, filing: &Filing) -> Result<(), DbErr> {
    row::Entity::insert(to_row(filing)?)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// Stores `filing` if the stored version is still `expected_version`; false when it is not.
pub async fn update(
    conn: &impl ConnectionTrait,
    filing: &Filing,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(filing)?)
        .filter(row::Column::Id.eq(filing.id.as_str()))
        .filter(row::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Who a listing waits for (`awaiting_caller`).
#[derive(Clone, Debug, Default)]
pub struct Awaiting {
    /// SUBMITTED filings of this unit (the caller leads it).
    pub leader_of: Option<String>,
    /// LEADER_APPROVED filings this department decides (the caller supervises there).
    pub department: Option<String>,
}

/// The filters of a listing.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Materialized path of the subtree root.
    pub path: String,
    /// Only this kind.
    pub kind: Option<FilingKind>,
    /// Only this state.
    pub state: Option<FilingState>,
    /// Only filings overdue at this time.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only filings waiting for the caller.
    pub awaiting: Option<Awaiting>,
    /// Only openings of accounts that already existed on the platform (补报).
    pub filed_after_opening_only: bool,
}

/// The states in which a filing waits for someone.
const WAITING: [FilingState; 2] = [FilingState::Submitted, FilingState::LeaderApproved];

/// Filings waiting past their due time at `now` (see `Filing::is_overdue`).
fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(row::Column::State.is_in(WAITING.map(|state| state as i32)))
        .add(row::Column::DueTime.lte(now))
}

/// A page of filings matching `filter`, newest first, after sequence `after`; each with its
/// sequence number (the page key).
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(i64, Filing)>, DbErr> {
    let mut query = row::Entity::find().filter(starts_with(row::Column::OrgPath, &filter.path));
    if let Some(kind) = filter.kind {
        query = query.filter(row::Column::Kind.eq(kind as i32));
    }
    if let Some(state) = filter.state {
        query = query.filter(row::Column::State.eq(state as i32));
    }
    if let Some(now) = filter.overdue_at {
        query = query.filter(overdue_condition(now));
    }
    if filter.filed_after_opening_only {
        // The rule of `Filing::filed_after_opening`, as a query.
        query = query
            .filter(row::Column::Kind.eq(FilingKind::Open as i32))
            .filter(row::Column::PlatformAccountId.is_not_null());
    }
    if let Some(awaiting) = &filter.awaiting {
        // Nothing waits for a caller who takes no step.
        let mut any = Condition::any().add(row::Column::Seq.lt(0));
        if let Some(unit) = &awaiting.leader_of {
            any = any.add(
                Condition::all()
                    .add(row::Column::State.eq(FilingState::Submitted as i32))
                    .add(row::Column::OrganizationId.eq(unit.as_str())),
            );
        }
        if let Some(department) = &awaiting.department {
            any = any.add(
                Condition::all()
                    .add(row::Column::State.eq(FilingState::LeaderApproved as i32))
                    .add(row::Column::ManagementDepartmentId.eq(department.as_str())),
            );
        }
        query = query.filter(any);
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Seq.lt(after));
    }
    query
        .order_by_desc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| Ok((model.seq, to_domain(model)?)))
        .collect()
}

/// Ids of waiting filings without a due time (waiting since before due times were stored, or
/// while the calendar lacked the year), oldest first.
pub async fn waiting_without_due_time(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    Ok(row::Entity::find()
        .filter(row::Column::State.is_in(WAITING.map(|state| state as i32)))
        .filter(row::Column::DueTime.is_null())
        .order_by_asc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| model.id)
        .collect())
}

/// Ids of filings overdue at `now` whose reminder has not been sent.
pub async fn overdue_unnotified(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    Ok(row::Entity::find()
        .filter(overdue_condition(now))
        .filter(row::Column::OverdueNotified.eq(false))
        .order_by_asc(row::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| model.id)
        .collect())
}

/// The latest SUSPEND filing of `account` applied to the ledger, if any.
pub async fn last_applied_suspension(
    conn: &impl ConnectionTrait,
    account: &str,
) -> Result<Option<Filing>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Kind.eq(FilingKind::Suspend as i32))
        .filter(row::Column::TargetAccountId.eq(account))
        .filter(row::Column::ApplicationState.eq(ApplicationState::Applied as i32))
        .order_by_desc(row::Column::Seq)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}
