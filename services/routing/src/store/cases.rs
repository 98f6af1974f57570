//! Cases and their history.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{corrupt, entity::case as row, entity::step as step_row, from_json, json, stamp};
use crate::domain::{
    Case, CaseAction, CaseState, Category, Extension, Reply, Satisfaction, Step, escalation::Level,
};

fn to_row(case: &Case) -> Result<row::ActiveModel, DbErr> {
    Ok(row::ActiveModel {
        id: Set(case.id.clone()),
        account_id: Set(case.account.clone()),
        account_org: Set(case.account_organization.clone()),
        account_path: Set(case.account_path.clone()),
        category: Set(case.category as i32),
        text: Set(case.text.clone()),
        citizen_key: Set(case.citizen_key.clone()),
        handle_masked: Set(case.handle_masked.clone()),
        contact_masked: Set(case.contact_masked.clone()),
        region_code: Set(case.region_code.clone()),
        state: Set(case.state as i32),
        department_id: Set(case.department.clone()),
        department_path: Set(case.department_path.clone()),
        routed_by_rule: Set(case.routed_by_rule.clone()),
        received_time: Set(case.received_time),
        dispatch_due: Set(case.dispatch_due),
        dispatched_time: Set(case.dispatched_time),
        sign_due: Set(case.sign_due),
        signed_time: Set(case.signed_time),
        handling_due: Set(case.handling_due),
        return_window_end: Set(case.return_window_end),
        dispatcher_overdue: Set(case.dispatcher_overdue),
        department_overdue: Set(case.department_overdue),
        message_count: Set(case.message_count),
        extension_days: Set(case.extension_days as i32),
        ever_extended: Set(case.ever_extended),
        extension: Set(case.extension.as_ref().map(json).transpose()?),
        return_reason: Set(case.return_reason.clone()),
        return_from: Set(case.return_from.map(|s| s as i32)),
        return_count: Set(case.return_count),
        replies: Set(json(&case.replies)?),
        satisfaction: Set(case.satisfaction.map(|s| s as i32)),
        reopen_count: Set(case.reopen_count),
        escalation: Set(case.escalation.map(|(level, _)| level as i32)),
        escalation_due: Set(case.escalation.map(|(_, due)| due)),
        created_at: Set(case.created.time),
        created_by: Set(case.created.actor.clone()),
        created_by_org: Set(case.created.actor_organization.clone()),
        updated_at: Set(case.updated.time),
        updated_by: Set(case.updated.actor.clone()),
        updated_by_org: Set(case.updated.actor_organization.clone()),
        version: Set(case.version),
    })
}

fn from_row(model: row::Model) -> Result<Case, DbErr> {
    let state =
        CaseState::from_i32(model.state).ok_or_else(|| corrupt("case state", model.state))?;
    let category = Category::from_i32(model.category)
        .ok_or_else(|| corrupt("case category", model.category))?;
    let return_from = model
        .return_from
        .map(|n| CaseState::from_i32(n).ok_or_else(|| corrupt("case state", n)))
        .transpose()?;
    let satisfaction = model
        .satisfaction
        .map(|n| Satisfaction::from_i32(n).ok_or_else(|| corrupt("satisfaction", n)))
        .transpose()?;
    let extension: Option<Extension> = model
        .extension
        .as_deref()
        .map(|text| from_json("case extension", text))
        .transpose()?;
    let replies: Vec<Reply> = from_json("case replies", &model.replies)?;
    let escalation = match (model.escalation, model.escalation_due) {
        (Some(level), Some(due)) => Some((
            Level::from_i32(level).ok_or_else(|| corrupt("escalation level", level))?,
            due,
        )),
        _ => None,
    };
    Ok(Case {
        id: model.id,
        account: model.account_id,
        account_organization: model.account_org,
        account_path: model.account_path,
        category,
        text: model.text,
        citizen_key: model.citizen_key,
        handle_masked: model.handle_masked,
        contact_masked: model.contact_masked,
        region_code: model.region_code,
        state,
        department: model.department_id,
        department_path: model.department_path,
        routed_by_rule: model.routed_by_rule,
        received_time: model.received_time,
        dispatch_due: model.dispatch_due,
        dispatched_time: model.dispatched_time,
        sign_due: model.sign_due,
        signed_time: model.signed_time,
        handling_due: model.handling_due,
        return_window_end: model.return_window_end,
        dispatcher_overdue: model.dispatcher_overdue,
        department_overdue: model.department_overdue,
        message_count: model.message_count,
        extension_days: u32::try_from(model.extension_days).unwrap_or(0),
        ever_extended: model.ever_extended,
        extension,
        return_reason: model.return_reason,
        return_from,
        return_count: model.return_count,
        replies,
        satisfaction,
        reopen_count: model.reopen_count,
        escalation,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        updated: stamp(model.updated_at, model.updated_by, model.updated_by_org),
        version: model.version,
    })
}

/// The case `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Case>, DbErr> {
    row::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .map(from_row)
        .transpose()
}

/// Stores a new case.
pub async fn insert(conn: &impl ConnectionTrait, case: &Case) -> Result<(), DbErr> {
    row::Entity::insert(to_row(case)?)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes `case` over the stored one if that is still at version `expected`; false when it
/// changed meanwhile.
pub async fn update(
    conn: &impl ConnectionTrait,
    case: &Case,
    expected: i64,
) -> Result<bool, DbErr> {
    let result = row::Entity::update_many()
        .set(to_row(case)?)
        .filter(row::Column::Id.eq(case.id.clone()))
        .filter(row::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Appends steps to the history of `case`, made by the change that brought it to `version`.
pub async fn add_steps(
    conn: &impl ConnectionTrait,
    case: &str,
    version: i64,
    steps: &[Step],
) -> Result<(), DbErr> {
    if steps.is_empty() {
        return Ok(());
    }
    let rows = steps.iter().map(|step| step_row::ActiveModel {
        case_id: Set(case.to_owned()),
        case_version: Set(version),
        action: Set(step.action as i32),
        from_state: Set(step.from as i32),
        to_state: Set(step.to as i32),
        time: Set(step.stamp.time),
        actor: Set(step.stamp.actor.clone()),
        actor_org: Set(step.stamp.actor_organization.clone()),
        department: Set(step.department.clone()),
        comment: Set(step.comment.clone()),
        ..Default::default()
    });
    step_row::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The history of `case` up to its `version`, oldest first: read after the case outside a
/// transaction, it shows no step of a change the case read does not show.
pub async fn steps(
    conn: &impl ConnectionTrait,
    case: &str,
    version: i64,
) -> Result<Vec<Step>, DbErr> {
    step_row::Entity::find()
        .filter(step_row::Column::CaseId.eq(case))
        .filter(step_row::Column::CaseVersion.lte(version))
        .order_by_asc(step_row::Column::Seq)
        .all(conn)
        .await?
        .into_iter()
        .map(|model| {
            Ok(Step {
                action: CaseAction::from_i32(model.action)
                    .ok_or_else(|| corrupt("case action", model.action))?,
                from: CaseState::from_i32(model.from_state)
                    .ok_or_else(|| corrupt("case state", model.from_state))?,
                to: CaseState::from_i32(model.to_state)
                    .ok_or_else(|| corrupt("case state", model.to_state))?,
                stamp: stamp(model.time, model.actor, model.actor_org),
                department: model.department,
                comment: model.comment,
            })
        })
        .collect()
}

/// The open cases of one citizen on one account received since `since`, newest first: the
/// candidates a near-duplicate may join.
pub async fn open_of_citizen(
    conn: &impl ConnectionTrait,
    account: &str,
    citizen_key: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Case>, DbErr> {
    row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::CitizenKey.eq(citizen_key))
        .filter(row::Column::State.ne(CaseState::Closed as i32))
        .filter(row::Column::ReceivedTime.gte(since))
        .order_by_desc(row::Column::Id)
        .limit(20)
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// What a listing is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Cases of accounts in this subtree or dispatched to departments in it.
    pub path: String,
    /// Only this state.
    pub state: Option<CaseState>,
    /// Only this department.
    pub department: Option<String>,
    /// Only this account.
    pub account: Option<String>,
}

/// One page of cases, newest first (ids are time-ordered), after the id `before`.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Case>, DbErr> {
    let mut query = row::Entity::find().filter(
        Condition::any()
            .add(govmedia_kit::store::starts_with(
                row::Column::AccountPath,
                &filter.path,
            ))
            .add(govmedia_kit::store::starts_with(
                row::Column::DepartmentPath,
                &filter.path,
            )),
    );
    if let Some(state) = filter.state {
        query = query.filter(row::Column::State.eq(state as i32));
    }
    if let Some(department) = &filter.department {
        query = query.filter(row::Column::DepartmentId.eq(department.clone()));
    }
    if let Some(account) = &filter.account {
        query = query.filter(row::Column::AccountId.eq(account.clone()));
    }
    if let Some(before) = before {
        query = query.filter(row::Column::Id.lt(before));
    }
    query
        .order_by_desc(row::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// What the statistics read of one case.
#[derive(Clone, Debug, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct Counted {
    /// The case id (paging key).
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The department, once dispatched.
    pub department_id: Option<String>,
    /// State number.
    pub state: i32,
    /// Dispatcher missed a deadline.
    pub dispatcher_overdue: bool,
    /// Department missed a deadline.
    pub department_overdue: bool,
    /// The dispatcher's deadline.
    pub dispatch_due: Option<DateTime<Utc>>,
    /// The sign-for deadline.
    pub sign_due: Option<DateTime<Utc>>,
    /// The handling deadline.
    pub handling_due: Option<DateTime<Utc>>,
    /// When last dispatched.
    pub dispatched_time: Option<DateTime<Utc>>,
    /// Returns requested.
    pub return_count: i32,
    /// Any extension granted.
    pub ever_extended: bool,
    /// Satisfaction number.
    pub satisfaction: Option<i32>,
    /// Times reopened.
    pub reopen_count: i32,
}

/// One page (by id) of the cases received in `[start, end)` of accounts or departments in the
/// subtree at `path`.
/// The departments that returned each of `cases` (a return the dispatcher accepted): (case id,
/// department id), once per pair.
pub async fn returned_by(
    conn: &impl ConnectionTrait,
    cases: &[String],
) -> Result<Vec<(String, String)>, DbErr> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = step_row::Entity::find()
        .select_only()
        .columns([step_row::Column::CaseId, step_row::Column::Department])
        .filter(step_row::Column::CaseId.is_in(cases.iter().cloned()))
        .filter(step_row::Column::Action.eq(CaseAction::ReturnAccepted as i32))
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(case, department)| {
            let id = department.strip_prefix("organizations/")?.to_owned();
            Some((case, id))
        })
        .collect())
}

pub async fn counted(
    conn: &impl ConnectionTrait,
    path: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Counted>, DbErr> {
    let mut query = row::Entity::find()
        .select_only()
        .columns([
            row::Column::Id,
            row::Column::AccountId,
            row::Column::DepartmentId,
            row::Column::State,
            row::Column::DispatcherOverdue,
            row::Column::DepartmentOverdue,
            row::Column::DispatchDue,
            row::Column::SignDue,
            row::Column::HandlingDue,
            row::Column::DispatchedTime,
            row::Column::ReturnCount,
            row::Column::EverExtended,
            row::Column::Satisfaction,
            row::Column::ReopenCount,
        ])
        .filter(
            Condition::any()
                .add(govmedia_kit::store::starts_with(
                    row::Column::AccountPath,
                    path,
                ))
                .add(govmedia_kit::store::starts_with(
                    row::Column::DepartmentPath,
                    path,
                )),
        )
        .filter(row::Column::ReceivedTime.gte(start))
        .filter(row::Column::ReceivedTime.lt(end));
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    query
        .order_by_asc(row::Column::Id)
        .limit(limit)
        .into_model::<Counted>()
        .all(conn)
        .await
}

/// A case's published replies, as [`published_replies`] reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The case id (paging key).
    pub id: String,
    /// The account the replies went out through.
    pub account_id: String,
    /// Its replies published in the period, oldest first.
    pub replies: Vec<Reply>,
}

/// One page (by id, `limit` cases) of the cases of accounts in the subtree at `path` (of
/// `account` alone when given) that may hold a reply published in `[start, end)`, with those
/// replies (a case may have none: the page is read by case, and only a case's replies tell).
pub async fn published_replies(
    conn: &impl ConnectionTrait,
    path: &str,
    account: Option<&str>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Answered>, DbErr> {
    // Publishing a reply updates its case, and a reply comes after the message: a case last
    // updated before the period, or received after it, holds none.
    let mut query = row::Entity::find()
        .select_only()
        .columns([
            row::Column::Id,
            row::Column::AccountId,
            row::Column::Replies,
        ])
        .filter(govmedia_kit::store::starts_with(
            row::Column::AccountPath,
            path,
        ))
        .filter(row::Column::UpdatedAt.gte(start))
        .filter(row::Column::ReceivedTime.lt(end));
    if let Some(account) = account {
        query = query.filter(row::Column::AccountId.eq(account));
    }
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    let rows: Vec<(String, String, String)> = query
        .order_by_asc(row::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(id, account_id, replies)| {
            let replies: Vec<Reply> = from_json("case replies", &replies)?;
            Ok(Answered {
                id,
                account_id,
                replies: replies
                    .into_iter()
                    .filter(|reply| {
                        reply.state() == crate::domain::ReplyState::Published
                            && reply
                                .published_time
                                .is_some_and(|time| time >= start && time < end)
                    })
                    .collect(),
            })
        })
        .collect()
}
