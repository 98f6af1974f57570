//! Checks: stored once, read and listed newest first.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{corrupt, entity::check as row, from_json, json, stamp, under};
use crate::domain::{Check, scheme::Verdict};

fn check_of(model: row::Model) -> Result<Check, DbErr> {
    Ok(Check {
        outcome: Verdict::from_i32(model.outcome)
            .ok_or_else(|| corrupt("outcome", model.outcome))?,
        items: from_json("check items", &model.items)?,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        account: model.account_id,
        organization: model.organization_id,
        path: model.org_path,
        scheme: model.scheme_id,
        scheme_version: model.scheme_version,
        as_of: model.as_of,
        score: model.score,
        not_evaluated: model.not_evaluated,
    })
}

/// Stores a check.
pub async fn insert(conn: &impl ConnectionTrait, check: &Check) -> Result<(), DbErr> {
    insert_many(conn, std::slice::from_ref(check)).await
}

/// Rows written by one statement: well inside the bind-parameter limits of both backends.
const ROWS_PER_INSERT: usize = 500;

/// Stores the new `checks`, a few hundred to a statement.
pub async fn insert_many(conn: &impl ConnectionTrait, checks: &[Check]) -> Result<(), DbErr> {
    for checks in checks.chunks(ROWS_PER_INSERT) {
        let rows = checks
            .iter()
            .map(|check| {
                Ok(row::ActiveModel {
                    seq: NotSet,
                    id: Set(check.id.clone()),
                    account_id: Set(check.account.clone()),
                    organization_id: Set(check.organization.clone()),
                    org_path: Set(check.path.clone()),
                    scheme_id: Set(check.scheme.clone()),
                    scheme_version: Set(check.scheme_version),
                    as_of: Set(check.as_of),
                    outcome: Set(check.outcome as i32),
                    score: Set(check.score),
                    items: Set(json(&check.items)?),
                    not_evaluated: Set(check.not_evaluated),
                    created_at: Set(check.created.time),
                    created_by: Set(check.created.actor.clone()),
                    created_by_org: Set(check.created.actor_organization.clone()),
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        row::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The check `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Check>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(check_of)
        .transpose()
}

/// What a listing of checks is limited to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Accounts under this path.
    pub path: String,
    /// Only this account.
    pub account: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Verdict>,
}

/// A page of checks, newest first, after the sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(Check, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, &filter.path));
    if let Some(account) = &filter.account {
        query = query.filter(row::Column::AccountId.eq(account.clone()));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(row::Column::Outcome.eq(outcome as i32));
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
        .map(|model| {
            let seq = model.seq;
            check_of(model).map(|check| (check, seq))
        })
        .collect()
}

/// Every account's latest check.
pub async fn last_per_account(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column_as(row::Column::CreatedAt.max(), "latest")
        .group_by(row::Column::AccountId)
        .into_tuple::<(String, chrono::DateTime<chrono::Utc>)>()
        .all(conn)
        .await
}

/// Each account's latest check created in `[start, end)` under `path`, by sequence.
pub async fn latest_between(
    conn: &impl ConnectionTrait,
    path: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Check>, DbErr> {
    let seqs: Vec<Option<i64>> = row::Entity::find()
        .select_only()
        .column_as(row::Column::Seq.max(), "latest")
        .filter(under(row::Column::OrgPath, path))
        .filter(row::Column::CreatedAt.gte(start))
        .filter(row::Column::CreatedAt.lt(end))
        .group_by(row::Column::AccountId)
        .into_tuple::<Option<i64>>()
        .all(conn)
        .await?;
    let mut seqs: Vec<i64> = seqs.into_iter().flatten().collect();
    seqs.sort_unstable();
    let mut checks = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(ROWS_PER_INSERT) {
        let rows = row::Entity::find()
            .filter(row::Column::Seq.is_in(chunk.iter().copied()))
            .order_by_asc(row::Column::Seq)
            .all(conn)
            .await?;
        for model in rows {
            checks.push(check_of(model)?);
        }
    }
    Ok(checks)
}

/// The checks created in `[start, end)` under `path`: how many accounts they were of, and how
/// many passed, failed and were incomplete.
pub async fn outcomes_between(
    conn: &impl ConnectionTrait,
    path: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<(u32, [u32; 3]), DbErr> {
    let in_range = || {
        row::Entity::find()
            .select_only()
            .filter(under(row::Column::OrgPath, path))
            .filter(row::Column::CreatedAt.gte(start))
            .filter(row::Column::CreatedAt.lt(end))
    };
    let accounts = in_range()
        .column(row::Column::AccountId)
        .group_by(row::Column::AccountId)
        .into_tuple::<String>()
        .all(conn)
        .await?
        .len();
    let by_outcome = in_range()
        .column(row::Column::Outcome)
        .column_as(row::Column::Id.count(), "checks")
        .group_by(row::Column::Outcome)
        .into_tuple::<(i32, i64)>()
        .all(conn)
        .await?;
    let mut counts = [0u32; 3];
    for (outcome, n) in by_outcome {
        let slot = match Verdict::from_i32(outcome) {
            Some(Verdict::Pass) => 0,
            Some(Verdict::Fail) => 1,
            Some(Verdict::Incomplete) => 2,
            None => return Err(corrupt("outcome", outcome)),
        };
        counts[slot] = u32::try_from(n).unwrap_or(u32::MAX);
    }
    Ok((u32::try_from(accounts).unwrap_or(u32::MAX), counts))
}
