//! Closure reports (报备, R-13): one per applied suspension or cancellation, listed by the
//! government offices of the units' line, newest first.

use govmedia_kit::store::starts_with;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

use super::{corrupt, entity::closure_report as row};
use crate::domain::{ClosureReport, FilingKind};

fn report_of(model: row::Model) -> Result<ClosureReport, DbErr> {
    Ok(ClosureReport {
        kind: FilingKind::from_i32(model.kind).ok_or_else(|| corrupt("kind", model.kind))?,
        id: model.id,
        filing: model.filing_id,
        account: model.account_id,
        account_display_name: model.account_display_name,
        organization: model.organization_id,
        organization_path: model.org_path,
        government: model.government_id,
        enforced: model.enforced,
        grounds: (!model.grounds.is_empty()).then_some(model.grounds),
        reason: model.reason,
        applied: model.applied_at,
    })
}

/// Stores `report` unless its filing has one already (an application recorded twice).
pub async fn insert(conn: &impl ConnectionTrait, report: &ClosureReport) -> Result<(), DbErr> {
    row::Entity::insert(row::ActiveModel {
        seq: NotSet,
        id: Set(report.id.clone()),
        filing_id: Set(report.filing.clone()),
        kind: Set(report.kind as i32),
        account_id: Set(report.account.clone()),
        account_display_name: Set(report.account_display_name.clone()),
        organization_id: Set(report.organization.clone()),
        org_path: Set(report.organization_path.clone()),
        government_id: Set(report.government.clone()),
        enforced: Set(report.enforced),
        grounds: Set(report.grounds.clone().unwrap_or_default()),
        reason: Set(report.reason.clone()),
        applied_at: Set(report.applied),
    })
    .on_conflict(
        OnConflict::column(row::Column::FilingId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A page of the reports of units under `path`, newest first, after the sequence `after`; with
/// each its sequence.
pub async fn list(
    conn: &impl ConnectionTrait,
    path: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<(ClosureReport, i64)>, DbErr> {
    let mut query = row::Entity::find().filter(starts_with(row::Column::OrgPath, path));
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
            report_of(model).map(|report| (report, seq))
        })
        .collect()
}
