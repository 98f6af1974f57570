//! Findings: kept once per account, detector and evidence key; found again, refreshed.

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};

use super::{corrupt, entity::finding as row, from_json, json, stamp, under};
use crate::domain::{Category, Finding, Severity};

/// Keys longer than this (a long link) are stored as their hash.
const MAX_KEY: usize = 400;

/// The stored form of a finding key: the key, or its SHA-256 when it is long.
pub fn stored_key(key: &str) -> String {
    if key.len() <= MAX_KEY {
        return key.to_owned();
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

fn finding_of(model: row::Model) -> Result<Finding, DbErr> {
    Ok(Finding {
        category: Category::from_i32(model.category)
            .ok_or_else(|| corrupt("category", model.category))?,
        severity: Severity::from_i32(model.severity)
            .ok_or_else(|| corrupt("severity", model.severity))?,
        evidence: from_json("evidence", &model.evidence)?,
        created: stamp(model.created_at, model.created_by, model.created_by_org),
        id: model.id,
        account: model.account_id,
        organization: model.organization_id,
        path: model.org_path,
        detector: model.detector,
        summary: model.summary,
        key: model.finding_key,
        last_check: model.last_check,
        last_seen: model.last_seen_at,
    })
}

/// The finding of `account` by `detector` under `key` (as given, not yet stored-form).
pub async fn by_key(
    conn: &impl ConnectionTrait,
    account: &str,
    detector: &str,
    key: &str,
) -> Result<Option<Finding>, DbErr> {
    row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::Detector.eq(detector))
        .filter(row::Column::FindingKey.eq(stored_key(key)))
        .one(conn)
        .await?
        .map(finding_of)
        .transpose()
}

/// Stores a new finding; a unique violation means the same one was stored first.
pub async fn insert(conn: &impl ConnectionTrait, finding: &Finding) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(finding.id.clone()),
        account_id: Set(finding.account.clone()),
        organization_id: Set(finding.organization.clone()),
        org_path: Set(finding.path.clone()),
        category: Set(finding.category as i32),
        detector: Set(finding.detector.clone()),
        finding_key: Set(stored_key(&finding.key)),
        severity: Set(finding.severity as i32),
        summary: Set(finding.summary.clone()),
        evidence: Set(json(&finding.evidence)?),
        created_at: Set(finding.created.time),
        created_by: Set(finding.created.actor.clone()),
        created_by_org: Set(finding.created.actor_organization.clone()),
        last_check: Set(finding.last_check.clone()),
        last_seen_at: Set(finding.last_seen),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Records that `finding` (stored) was found again by `check` at `finding.last_seen`, with its
/// summary and evidence as they are now.
pub async fn refresh(conn: &impl ConnectionTrait, finding: &Finding) -> Result<(), DbErr> {
    row::Entity::update_many()
        .col_expr(row::Column::Summary, Expr::value(finding.summary.clone()))
        .col_expr(row::Column::Severity, Expr::value(finding.severity as i32))
        .col_expr(row::Column::Evidence, Expr::value(json(&finding.evidence)?))
        .col_expr(
            row::Column::LastCheck,
            Expr::value(finding.last_check.clone()),
        )
        .col_expr(row::Column::LastSeenAt, Expr::value(finding.last_seen))
        .filter(row::Column::Id.eq(finding.id.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// The finding `id`.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Finding>, DbErr> {
    row::Entity::find()
        .filter(row::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(finding_of)
        .transpose()
}

/// What a listing of findings is limited to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Accounts under this path.
    pub path: String,
    /// Only this account.
    pub account: Option<String>,
    /// Only this category.
    pub category: Option<Category>,
}

/// A page of findings, newest first, after the sequence `after`; with each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(Finding, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(under(row::Column::OrgPath, &filter.path));
    if let Some(account) = &filter.account {
        query = query.filter(row::Column::AccountId.eq(account.clone()));
    }
    if let Some(category) = filter.category {
        query = query.filter(row::Column::Category.eq(category as i32));
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
            finding_of(model).map(|finding| (finding, seq))
        })
        .collect()
}

/// The accounts under `path` (or only `account`) with at least `min` findings first found at or
/// after `since`, by account id: each with its organization and its findings' ids, oldest
/// first, at most `listed` of them.
pub async fn first_found_since(
    conn: &impl ConnectionTrait,
    path: &str,
    account: Option<&str>,
    since: chrono::DateTime<chrono::Utc>,
    (min, listed): (u64, u64),
) -> Result<Vec<(String, String, Vec<String>)>, DbErr> {
    let mut counts = row::Entity::find()
        .select_only()
        .column(row::Column::AccountId)
        .column(row::Column::OrganizationId)
        .column_as(row::Column::Id.count(), "found")
        .filter(under(row::Column::OrgPath, path))
        .filter(row::Column::CreatedAt.gte(since))
        // A supervisor's own findings do not make an account fail repeatedly.
        .filter(row::Column::Detector.ne(crate::domain::finding::MANUAL));
    if let Some(account) = account {
        counts = counts.filter(row::Column::AccountId.eq(account));
    }
    let counts = counts
        .group_by(row::Column::AccountId)
        .group_by(row::Column::OrganizationId)
        .having(sea_orm::sea_query::ExprTrait::gte(
            row::Column::Id.count(),
            i64::try_from(min).unwrap_or(i64::MAX),
        ))
        .order_by_asc(row::Column::AccountId)
        .into_tuple::<(String, String, i64)>()
        .all(conn)
        .await?;
    let mut accounts = Vec::with_capacity(counts.len());
    for (account, organization, _) in counts {
        let ids = row::Entity::find()
            .select_only()
            .column(row::Column::Id)
            .filter(row::Column::AccountId.eq(account.as_str()))
            .filter(row::Column::CreatedAt.gte(since))
            .filter(row::Column::Detector.ne(crate::domain::finding::MANUAL))
            .order_by_asc(row::Column::Seq)
            .limit(listed)
            .into_tuple::<String>()
            .all(conn)
            .await?;
        accounts.push((account, organization, ids));
    }
    Ok(accounts)
}

/// The findings first found in `[start, end)` under `path`, counted by category, in category
/// order.
pub async fn categories_between(
    conn: &impl ConnectionTrait,
    path: &str,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(Category, u32)>, DbErr> {
    let rows = row::Entity::find()
        .select_only()
        .column(row::Column::Category)
        .column_as(row::Column::Id.count(), "found")
        .filter(under(row::Column::OrgPath, path))
        .filter(row::Column::CreatedAt.gte(start))
        .filter(row::Column::CreatedAt.lt(end))
        .group_by(row::Column::Category)
        .order_by_asc(row::Column::Category)
        .into_tuple::<(i32, i64)>()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(category, n)| {
            Category::from_i32(category)
                .map(|category| (category, u32::try_from(n).unwrap_or(u32::MAX)))
                .ok_or_else(|| corrupt("category", category))
        })
        .collect()
}
